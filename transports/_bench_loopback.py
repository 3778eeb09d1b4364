"""Loopback benchmark of `Libp2pTransport` between two processes (TCP + Noise + yamux).

    python -m bitcraps.transports._bench_loopback [--pings N] [--frames N] [--size BYTES]

Starts an echo peer in a child process, then measures from this one:
- RTT: one frame out, the echo back, one at a time (p50/p99/max, after a warm-up);
- one-way frames/s: one sender sending back to back, then `--senders` concurrent senders
  (the per-peer writer coalesces their frames into larger writes); the rate counts frames
  the peer has *received*, read from its own counters at the end.
Prints one JSON object. Building block for `bitcraps bench transport`.
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import time
from typing import Any

import trio

from .libp2p_transport import Libp2pTransport

ECHO = b"E"
SINK = b"S"
QUERY = b"Q"
COUNT = struct.Struct(">QQ")


async def serve() -> None:
    """The echo peer: echoes E frames, counts S frames, answers Q with its counts."""
    transport = Libp2pTransport(os.urandom(32))
    async with trio.open_nursery() as nursery:
        await nursery.start(transport.run)
        print("ADDR", transport.listen_multiaddrs[0], transport.local_peer.hex(), flush=True)
        sunk = 0
        async for peer, frame in transport.incoming:
            kind = frame[:1]
            if kind == SINK:
                sunk += 1
            elif kind == ECHO:
                await transport.send(peer, frame)
            elif kind == QUERY:
                dropped = transport.statistics().frames_dropped
                await transport.send(peer, QUERY + COUNT.pack(sunk, dropped))
            else:
                break
        await transport.aclose()


def percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, int(len(sorted_values) * fraction))
    return sorted_values[index]


async def measure(pings: int, frames: int, size: int, senders: int) -> dict[str, Any]:
    child = subprocess.Popen(
        [sys.executable, "-m", "bitcraps.transports._bench_loopback", "serve"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = await trio.to_thread.run_sync(child.stdout.readline)
        _, addr, pk_hex = line.split()
        peer = bytes.fromhex(pk_hex)
        transport = Libp2pTransport(os.urandom(32))
        async with trio.open_nursery() as nursery:
            await nursery.start(transport.run)
            transport.add_peer_address(peer, addr)
            t0 = time.perf_counter()
            await transport.connect(peer)
            dial_ms = (time.perf_counter() - t0) * 1e3
            result: dict[str, Any] = {"dial_ms": round(dial_ms, 2), "frame_bytes": size}
            result.update(await _rtt(transport, peer, pings, size))
            result["one_sender"] = await _one_way(transport, peer, frames, size, 1)
            result[f"{senders}_senders"] = await _one_way(transport, peer, frames, size, senders)
            await transport.send(peer, b"X")
            await transport.aclose()
        return result
    finally:
        child.terminate()
        child.wait(timeout=10)


async def _rtt(transport: Libp2pTransport, peer: bytes, pings: int, size: int) -> dict[str, Any]:
    frame = ECHO + os.urandom(size - 1)
    for _ in range(200):
        await transport.send(peer, frame)
        await transport.incoming.receive()
    rtts: list[float] = []
    for _ in range(pings):
        start = time.perf_counter()
        await transport.send(peer, frame)
        _, echoed = await transport.incoming.receive()
        rtts.append((time.perf_counter() - start) * 1e3)
        assert echoed == frame
    rtts.sort()
    return {
        "pings": pings,
        "rtt_p50_ms": round(percentile(rtts, 0.50), 3),
        "rtt_p99_ms": round(percentile(rtts, 0.99), 3),
        "rtt_max_ms": round(rtts[-1], 3),
    }


async def _one_way(
    transport: Libp2pTransport, peer: bytes, frames: int, size: int, senders: int
) -> dict[str, Any]:
    frame = SINK + os.urandom(size - 1)
    await transport.send(peer, QUERY)
    _, reply = await transport.incoming.receive()
    sunk_before, dropped_before = COUNT.unpack(reply[1:])

    async def sender(count: int) -> None:
        for _ in range(count):
            await transport.send(peer, frame)

    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for i in range(senders):
            nursery.start_soon(sender, frames // senders + (1 if i < frames % senders else 0))
    await transport.send(peer, QUERY)  # FIFO: answered after every frame above is read
    _, reply = await transport.incoming.receive()
    elapsed = time.perf_counter() - start
    sunk, dropped = COUNT.unpack(reply[1:])
    received = sunk - sunk_before
    return {
        "frames": frames,
        "received": received,
        "dropped_at_peer": dropped - dropped_before,
        "frames_per_s": round(received / elapsed),
        "mb_per_s": round(received * size / elapsed / 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", nargs="?", default="measure", choices=["measure", "serve"])
    parser.add_argument("--pings", type=int, default=5000)
    parser.add_argument("--frames", type=int, default=50_000)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--senders", type=int, default=8)
    args = parser.parse_args()
    if args.mode == "serve":
        trio.run(serve)
    else:
        result = trio.run(measure, args.pings, args.frames, args.size, args.senders)
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
