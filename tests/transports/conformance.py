"""The conformance battery every transport backend passes.

A backend's test module subclasses `TransportConformance` and provides two fixtures:
`backend` (a `Backend`: opens N transports that can all reach each other) and `clock` (a trio
clock for in-process backends, None for backends on real sockets). Waiting is done on events
and channels under `fail_after` bounds, never by sleeping.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import pytest
import trio

from bitcraps.transports._interface import (
    FrameTooLarge,
    IncomingFrames,
    PeerId,
    PeerUnreachable,
    TransportClosed,
    TransportError,
    TransportStatistics,
)

BOUND_S = 20.0
"""Bound on any single wait; generous so a loaded machine never fails a correct backend."""


class TestTransport(Protocol):
    """The `Transport` interface plus `wait_statistics`, which every backend here offers."""

    @property
    def local_peer(self) -> PeerId: ...

    @property
    def max_frame_bytes(self) -> int: ...

    @property
    def incoming(self) -> IncomingFrames: ...

    async def send(self, peer: PeerId, frame: bytes) -> None: ...

    def peers(self) -> list[Any]: ...

    def statistics(self) -> TransportStatistics: ...

    async def wait_statistics(self, predicate: Callable[[TransportStatistics], bool]) -> None: ...

    async def aclose(self) -> None: ...


DEFAULT_CAPACITY = 1024


class Backend(Protocol):
    cancel_step_s: float
    """Deadline step of the cancellation test: small enough to land inside a send."""

    def open(
        self, n: int, *, incoming_capacity: int = DEFAULT_CAPACITY
    ) -> AbstractAsyncContextManager[list[Any]]:
        """`n` running transports, each able to send to each other; all closed on exit."""

    async def kill(self, transport: Any) -> None:
        """Make `transport` vanish as abruptly as the backend allows (no orderly goodbye)."""

    async def wait_gone(self, survivor: Any, gone: PeerId) -> None:
        """Return once `survivor` has noticed that `gone` went away."""


async def receive(t: TestTransport, count: int) -> list[tuple[PeerId, bytes]]:
    out = []
    with trio.fail_after(BOUND_S):
        for _ in range(count):
            out.append(await t.incoming.receive())
    return out


def numbered(tag: bytes, i: int, size: int = 16) -> bytes:
    head = tag + b":" + str(i).encode() + b":"
    return head + bytes(max(0, size - len(head)))


def index_of(frame: bytes) -> int:
    return int(frame.split(b":", 2)[1])


class TransportConformance:
    """Subclass with `backend` and `clock` fixtures to run the battery on a backend."""

    async def test_delivers_with_sender_id(self, backend: Backend, clock: Any) -> None:
        async with backend.open(3) as ts:
            for src in ts:
                for dst in ts:
                    if dst is not src:
                        await src.send(dst.local_peer, b"from " + src.local_peer)
            for dst in ts:
                got = await receive(dst, 2)
                assert sorted(got) == sorted(
                    (src.local_peer, b"from " + src.local_peer) for src in ts if src is not dst
                )
                assert dst.statistics().frames_received == 2
            for src in ts:
                stats = src.statistics()
                assert stats.frames_sent == 2
                assert stats.bytes_sent == 2 * (5 + 32)
                assert {p.peer for p in src.peers()} >= {t.local_peer for t in ts if t is not src}

    async def test_per_pair_order_with_concurrent_senders(
        self, backend: Backend, clock: Any
    ) -> None:
        count = 200
        async with backend.open(3) as (a, b, c):

            async def blast(src: TestTransport, tag: bytes) -> None:
                for i in range(count):
                    await src.send(b.local_peer, numbered(tag, i, size=64))

            async with trio.open_nursery() as nursery:
                nursery.start_soon(blast, a, b"a")
                nursery.start_soon(blast, c, b"c")
                got = await receive(b, 2 * count)
            by_sender: dict[PeerId, list[int]] = {a.local_peer: [], c.local_peer: []}
            for sender, frame in got:
                by_sender[sender].append(index_of(frame))
            assert by_sender[a.local_peer] == list(range(count))
            assert by_sender[c.local_peer] == list(range(count))

    async def test_oversized_frame_refused_and_never_delivered(
        self, backend: Backend, clock: Any
    ) -> None:
        async with backend.open(2) as (a, b):
            limit = a.max_frame_bytes
            with pytest.raises(FrameTooLarge):
                await a.send(b.local_peer, bytes(limit + 1))
            biggest = os.urandom(limit)
            await a.send(b.local_peer, biggest)
            await a.send(b.local_peer, b"after")
            assert await receive(b, 2) == [(a.local_peer, biggest), (a.local_peer, b"after")]
            assert a.statistics().send_failures >= 1

    async def test_send_after_close_raises_and_incoming_ends(
        self, backend: Backend, clock: Any
    ) -> None:
        async with backend.open(2) as (a, b):
            await b.send(a.local_peer, b"queued")
            await receive_when_queued(a)
            await a.aclose()
            with pytest.raises(TransportClosed):
                await a.send(b.local_peer, b"late")
            with trio.fail_after(BOUND_S):
                leftovers = [frame async for _, frame in a.incoming]
            assert leftovers in ([], [b"queued"])
            await a.aclose()  # idempotent

    async def test_peers_see_a_closed_peer_as_unreachable(
        self, backend: Backend, clock: Any
    ) -> None:
        async with backend.open(2) as (a, b):
            await a.send(b.local_peer, b"warm")
            await receive(b, 1)
            await b.aclose()
            with trio.fail_after(BOUND_S):
                await backend.wait_gone(a, b.local_peer)
            with pytest.raises(TransportError):
                await a.send(b.local_peer, b"to the departed")

    async def test_unknown_peer_unreachable(self, backend: Backend, clock: Any) -> None:
        async with backend.open(1) as (a,):
            with pytest.raises(PeerUnreachable):
                await a.send(os.urandom(32), b"anyone?")
            assert a.statistics().send_failures == 1

    async def test_cancelled_sends_leave_transport_usable(
        self, backend: Backend, clock: Any
    ) -> None:
        async with backend.open(2) as (a, b):
            size = min(a.max_frame_bytes, 1 << 20)
            sent: set[bytes] = set()
            for k in range(24):
                frame = numbered(b"x", k, size=size if k % 2 else 64)
                sent.add(frame)
                with trio.move_on_after(k * backend.cancel_step_s):
                    await a.send(b.local_peer, frame)
            for i in range(3):
                await a.send(b.local_peer, numbered(b"end", i))
            got: list[bytes] = []
            with trio.fail_after(BOUND_S):
                while not got or not got[-1].startswith(b"end:2:"):
                    got.append((await b.incoming.receive())[1])
            for frame in got:
                assert frame in sent or frame.startswith(b"end:"), "a frame arrived damaged"
            assert [index_of(f) for f in got if f.startswith(b"end:")] == [0, 1, 2]
            xs = [index_of(f) for f in got if f.startswith(b"x:")]
            assert xs == sorted(set(xs)), "order broken or a frame duplicated"

    async def test_receiver_that_does_not_read_never_blocks_sender(
        self, backend: Backend, clock: Any
    ) -> None:
        capacity = 16
        total = 4 * capacity
        async with backend.open(2, incoming_capacity=capacity) as (a, b):
            with trio.fail_after(BOUND_S):
                for i in range(total):
                    await a.send(b.local_peer, numbered(b"p", i, size=256))
                await b.wait_statistics(lambda s: s.frames_received + s.frames_dropped >= total)
            stats = b.statistics()
            assert stats.frames_received == capacity
            assert stats.frames_dropped == total - capacity
            got = [index_of(frame) for _, frame in await receive(b, capacity)]
            assert got == list(range(capacity))
            await a.send(b.local_peer, b"after the flood")
            assert await receive(b, 1) == [(a.local_peer, b"after the flood")]

    async def test_one_peers_flood_costs_only_its_own_frames(
        self, backend: Backend, clock: Any
    ) -> None:
        """Queues and drops are per sending peer, and frames are handed out in turn: a flood
        from one peer neither drops nor delays a quiet peer's frames."""
        capacity = 16
        flood = 4 * capacity
        async with backend.open(3, incoming_capacity=capacity) as (loud, b, quiet):
            with trio.fail_after(BOUND_S):
                for i in range(flood):
                    await loud.send(b.local_peer, numbered(b"loud", i, size=32 * 1024))
                await b.wait_statistics(lambda s: s.frames_received + s.frames_dropped >= flood)
                for i in range(3):
                    await quiet.send(b.local_peer, numbered(b"quiet", i))
                await b.wait_statistics(lambda s: s.frames_received >= capacity + 3)
            stats = b.statistics()
            assert stats.frames_dropped == flood - capacity
            assert stats.dropped_by_peer == {loud.local_peer: flood - capacity}
            assert sum(stats.dropped_by_reason.values()) == stats.frames_dropped
            first = [sender for sender, _ in await receive(b, 6)]
            assert first.count(quiet.local_peer) == 3, "the quiet peer waited behind the flood"
            rest = await receive(b, capacity - 3)
            assert [index_of(f) for _, f in rest] == list(range(3, capacity))

    async def test_vanished_peer_does_not_break_the_others(
        self, backend: Backend, clock: Any
    ) -> None:
        async with backend.open(3) as (a, b, gone):
            for src, dst in [(a, gone), (gone, a), (b, gone), (gone, b), (a, b)]:
                await src.send(dst.local_peer, b"warm")
            await receive(a, 1)
            await receive(b, 2)
            await receive(gone, 2)
            await backend.kill(gone)
            for src, dst in [(a, b), (b, a)]:
                await src.send(dst.local_peer, b"still here")
                assert await receive(dst, 1) == [(src.local_peer, b"still here")]
            with trio.fail_after(BOUND_S):
                await backend.wait_gone(a, gone.local_peer)
            with pytest.raises(TransportError):
                await a.send(gone.local_peer, b"hello?")
            await a.send(b.local_peer, b"and after")
            assert await receive(b, 1) == [(a.local_peer, b"and after")]


async def receive_when_queued(t: TestTransport) -> None:
    """Wait until `t` has queued one frame (without taking it)."""
    with trio.fail_after(BOUND_S):
        await t.wait_statistics(lambda s: s.frames_received >= 1)
