"""The conformance battery on the in-memory backend (virtual time), plus its own details."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
import trio.testing
from conformance import TransportConformance

from bitcraps.transports._interface import PeerId, PeerUnreachable, TransportClosed
from bitcraps.transports.memory import MemoryNetwork, MemoryTransport


class MemoryBackend:
    cancel_step_s = 0.001
    max_frame_bytes = 64 * 1024

    def __init__(self) -> None:
        self.network = MemoryNetwork()

    @asynccontextmanager
    async def open(
        self, n: int, *, incoming_capacity: int = 1024
    ) -> AsyncIterator[list[MemoryTransport]]:
        ts = [
            self.network.transport(
                os.urandom(32),
                incoming_capacity=incoming_capacity,
                max_frame_bytes=self.max_frame_bytes,
            )
            for _ in range(n)
        ]
        try:
            yield ts
        finally:
            for t in ts:
                await t.aclose()

    async def kill(self, transport: MemoryTransport) -> None:
        await transport.aclose()

    async def wait_gone(self, survivor: MemoryTransport, gone: PeerId) -> None:
        await trio.lowlevel.checkpoint()


class TestMemoryConformance(TransportConformance):
    @pytest.fixture
    def backend(self) -> MemoryBackend:
        return MemoryBackend()

    @pytest.fixture
    def clock(self) -> trio.testing.MockClock:
        return trio.testing.MockClock(autojump_threshold=0)


async def test_a_restarted_peer_rejoins_and_a_duplicate_is_refused() -> None:
    net = MemoryNetwork()
    key = os.urandom(32)
    first = net.transport(key)
    with pytest.raises(ValueError):
        net.transport(key)
    other = net.transport(os.urandom(32))
    await first.aclose()
    with pytest.raises(PeerUnreachable):
        await other.send(key, b"gone")
    second = net.transport(key)
    await other.send(key, b"back")
    assert await second.incoming.receive() == (other.local_peer, b"back")
    with pytest.raises(TransportClosed):
        await first.send(other.local_peer, b"old incarnation")


async def test_a_cancelled_send_delivers_nothing() -> None:
    net = MemoryNetwork()
    a, b = net.transport(os.urandom(32)), net.transport(os.urandom(32))
    with trio.CancelScope() as scope:
        scope.cancel()
        await a.send(b.local_peer, b"never")
    assert a.statistics().frames_sent == 0
    with pytest.raises(trio.WouldBlock):
        b.incoming.receive_nowait()
