// A js-libp2p node (TCP, Noise, yamux, identify, ping, gossipsub) that dials a bitcraps
// daemon, pings it, subscribes to the lobby and prints, as one JSON line, the ping RTTs and
// the first lobby announcement it receives (decoded). Usage: node lobby_client.mjs <multiaddr>
import './polyfill.mjs'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { gossipsub } from '@libp2p/gossipsub'
import { multiaddr } from '@multiformats/multiaddr'
import { decode } from '@msgpack/msgpack'

const TOPIC = '/bitcraps/lobby/1.0.0'
const TIMEOUT_MS = Number(process.env.INTEROP_TIMEOUT_MS ?? 20000)
const hex = (bytes) => Buffer.from(bytes).toString('hex')

const target = multiaddr(process.argv[2])
const node = await createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: { identify: identify(), ping: ping(), pubsub: gossipsub({ emitSelf: false }) }
})
const timer = setTimeout(() => {
  console.error('no lobby announcement within', TIMEOUT_MS, 'ms')
  process.exit(2)
}, TIMEOUT_MS)

const first = new Promise((resolve) => {
  node.services.pubsub.addEventListener('message', (evt) => {
    if (evt.detail.topic !== TOPIC) return
    // [version, kind, table_id, terms, free_seats, announcer, sequence, signature], the
    // terms [version, game, replicas, min_bet, max_bet, seats, params, salt]
    const f = decode(evt.detail.data)
    const t = f[3]
    resolve({
      version: f[0],
      kind: f[1] === 0 ? 'announce' : 'withdraw',
      table_id: hex(f[2]),
      game: new TextDecoder().decode(t[1]),
      replicas: t[2].map(hex),
      limits: { min_bet: Number(t[3]), max_bet: Number(t[4]) },
      seats: Number(t[5]),
      salt: hex(t[7]),
      free_seats: Number(f[4]),
      announcer: hex(f[5]),
      sequence: String(f[6]),
      signature: hex(f[7]),
      from: evt.detail.from?.toString()
    })
  })
})
node.services.pubsub.subscribe(TOPIC)

const conn = await node.dial(target)
const rtts = []
for (let i = 0; i < 3; i++) rtts.push(await node.services.ping.ping(target))
const peer = await node.peerStore.get(conn.remotePeer)
const announcement = await first
clearTimeout(timer)
console.log(JSON.stringify({
  remote_peer: conn.remotePeer.toString(),
  encryption: conn.encryption,
  multiplexer: conn.multiplexer,
  remote_protocols: peer.protocols,
  ping_ms: rtts,
  announcement
}))
await node.stop()
process.exit(0)
