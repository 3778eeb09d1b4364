"""The request/reply protocol's serving side against a stranger, on real libp2p over loopback:
an attacker peer with its own key opens many streams at once, sends oversized requests and
requests it never finishes. What it may hold is bounded per peer and in all (the rest are
reset at once), others are still answered, and its failures are counted, not logged."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import pytest
import trio

from bitcraps.transports._framing import encode_frame
from bitcraps.transports._interface import TransportError
from bitcraps.transports._libp2p_host import libp2p_id_for
from bitcraps.transports.libp2p_requests import Libp2pRequests, RequestFailed
from bitcraps.transports.libp2p_transport import Libp2pTransport, open_libp2p_transport

PROTOCOL = "/bitcraps/test-requests/1.0.0"
LOGGER = "bitcraps.transports.libp2p_requests"


class Server:
    """Answers `b"hold"` once `release` is set (counting how many it holds at once), and
    anything else at once."""

    def __init__(self, transport: Libp2pTransport, **limits: Any) -> None:
        self.transport = transport
        self.requests = Libp2pRequests(transport, PROTOCOL, max_request_bytes=1024, **limits)
        self.release = trio.Event()
        self.holding = 0
        self.changed = trio.Event()
        self.peers: list[Libp2pTransport] = []  # the clients' transports

    async def answer(self, caller: bytes, request: bytes) -> bytes:
        if request != b"hold":
            return b"ok:" + request
        self.holding += 1
        self.changed.set()
        try:
            await self.release.wait()
        finally:
            self.holding -= 1
        return b"held"

    async def holds(self, count: int) -> None:
        while self.holding < count:
            self.changed = trio.Event()
            await self.changed.wait()


@asynccontextmanager
async def network(peers: int,
                  **limits: Any) -> AsyncIterator[tuple[Server, list[Libp2pRequests]]]:
    """A server and `peers` clients, each a libp2p node of its own key on loopback."""
    async with AsyncExitStack() as stack:
        transports = [await stack.enter_async_context(open_libp2p_transport(
            os.urandom(32), listen_addrs=("/ip4/127.0.0.1/tcp/0",))) for _ in range(peers + 1)]
        server = Server(transports[0], **limits)
        server.requests.serve(server.answer)
        clients = []
        for transport in transports[1:]:
            for address in transports[0].listen_multiaddrs:
                transport.add_peer_address(transports[0].local_peer, address)
            clients.append(Libp2pRequests(transport, PROTOCOL, timeout_s=10.0))
            server.peers.append(transport)
        yield server, clients


async def ask_all(client: Libp2pRequests, server: Server, count: int,
                  outcomes: list[bytes | None]) -> None:
    async def one() -> None:
        try:
            outcomes.append(await client.request(server.transport.local_peer, b"hold"))
        except TransportError:  # reset: while the protocol is negotiated, or after
            outcomes.append(None)

    async with trio.open_nursery() as nursery:
        for _ in range(count):
            nursery.start_soon(one)


async def test_a_peer_holds_four_requests_at_once_and_another_is_still_answered() -> None:
    async with network(2) as (server, [attacker, player]):
        outcomes: list[bytes | None] = []
        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(ask_all, attacker, server, 16, outcomes)
                await server.holds(4)
                while len(outcomes) < 12:  # the other twelve are reset, not left waiting
                    await trio.sleep(0.01)
                assert outcomes == [None] * 12
                assert await player.request(server.transport.local_peer, b"hi") == b"ok:hi"
                assert server.holding == 4
                server.release.set()
        assert sorted(outcomes, key=lambda o: o or b"") == [None] * 12 + [b"held"] * 4
        stats = server.requests.statistics()
        assert stats["refused_peer_limit"] == 12 and stats["answered"] == 5
        assert stats["inbound"] == 0


async def test_all_peers_together_hold_at_most_max_inbound() -> None:
    async with network(3, max_inbound=6) as (server, [first, second, third]):
        outcomes: list[bytes | None] = []
        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(ask_all, first, server, 4, outcomes)
                await server.holds(4)
                nursery.start_soon(ask_all, second, server, 4, outcomes)
                await server.holds(6)
                while len(outcomes) < 2:
                    await trio.sleep(0.01)
                with pytest.raises(TransportError):
                    await third.request(server.transport.local_peer, b"hi")
                server.release.set()
        stats = server.requests.statistics()
        assert stats["refused_total_limit"] == 3 and stats["answered"] == 6


async def test_failed_requests_are_counted_and_logged_once_per_peer_without_traceback(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    async with network(1, timeout_s=0.5) as (server, [attacker]):
        target = server.transport.local_peer
        with trio.fail_after(30):
            for _ in range(10):
                with pytest.raises(RequestFailed):
                    await attacker.request(target, b"x" * 2048)  # over max_request_bytes
            # A stream that never finishes its request is ended at the request timeout.
            host = server.peers[0].host
            stream = await host.new_stream(libp2p_id_for(target), [PROTOCOL])
            await stream.write(encode_frame(b"partial")[:-1])
            while server.requests.statistics()["timed_out"] < 1:
                await trio.sleep(0.05)
            await stream.close()
    stats = server.requests.statistics()
    assert stats["too_large"] == 10 and stats["timed_out"] == 1
    assert stats["unlogged_failures"] == 10
    lines = [r for r in caplog.records if r.name == LOGGER]
    assert len(lines) == 1 and lines[0].levelno == logging.DEBUG
    assert lines[0].exc_info is None and "too_large" in lines[0].getMessage()
