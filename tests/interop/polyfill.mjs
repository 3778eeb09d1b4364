// Node 20 lacks Promise.withResolvers (added in Node 22); js-libp2p 3.x deps (it-queue, ...) use it.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function () {
    let resolve, reject
    const promise = new this((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}
