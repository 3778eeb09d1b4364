"""The conformance battery on the libp2p backend over real loopback sockets, plus attacks on it:
a plaintext-only libp2p host, raw TCP garbage, oversized and truncated frames."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import multiaddr
import pytest
import trio
from conformance import BOUND_S, TransportConformance, receive
from libp2p.custom_types import TProtocol
from libp2p.peer.id import ID

from bitcraps.transports._framing import HEADER
from bitcraps.transports._interface import PeerId, TransportError
from bitcraps.transports._libp2p_host import build_host, peer_id_for
from bitcraps.transports.libp2p_transport import PROTOCOL_ID, Libp2pTransport

LOOPBACK = "/ip4/127.0.0.1/tcp/0"
QUIC_LOOPBACK = "/ip4/127.0.0.1/udp/0/quic-v1"


def seed(n: int) -> bytes:
    return hashlib.sha256(b"test-seed-%d" % n).digest()


class Libp2pBackend:
    cancel_step_s = 0.0005

    def __init__(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery
        self._scopes: dict[bytes, trio.CancelScope] = {}
        self._count = 0

    listen_addrs: tuple[str, ...] = (LOOPBACK,)

    async def start(self, **options: object) -> Libp2pTransport:
        self._count += 1
        options.setdefault("listen_addrs", self.listen_addrs)
        t = Libp2pTransport(os.urandom(32), **options)  # type: ignore[arg-type]

        async def run(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
            with trio.CancelScope() as scope:
                self._scopes[t.local_peer] = scope
                await t.run(task_status=task_status)

        await self._nursery.start(run)
        return t

    @asynccontextmanager
    async def open(
        self, n: int, *, incoming_capacity: int = 1024
    ) -> AsyncIterator[list[Libp2pTransport]]:
        ts = [
            await self.start(incoming_capacity=incoming_capacity, full_wait_s=0.2) for _ in range(n)
        ]
        for a in ts:
            for b in ts:
                if a is not b:
                    a.add_peer_address(b.local_peer, b.listen_multiaddrs[0])
        try:
            yield ts
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(BOUND_S):
                for t in ts:
                    await t.aclose()

    async def kill(self, transport: Libp2pTransport) -> None:
        """Cancel its task: no aclose, the host is torn down under cancellation."""
        self._scopes[transport.local_peer].cancel()
        with trio.fail_after(BOUND_S):
            await transport.wait_statistics(lambda s: transport.closed)

    async def wait_gone(self, survivor: Libp2pTransport, gone: PeerId) -> None:
        def disconnected(_: object) -> bool:
            return not any(p.connected for p in survivor.peers() if p.peer == gone)

        await survivor.wait_statistics(disconnected)


@pytest.fixture
async def libp2p_backend(nursery: trio.Nursery) -> Libp2pBackend:
    return Libp2pBackend(nursery)


class TestLibp2pConformance(TransportConformance):
    @pytest.fixture
    def backend(self, libp2p_backend: Libp2pBackend) -> Libp2pBackend:
        return libp2p_backend

    @pytest.fixture
    def clock(self) -> None:
        return None


class QuicBackend(Libp2pBackend):
    listen_addrs = (QUIC_LOOPBACK,)


class TestLibp2pQuicConformance(TransportConformance):
    """The same battery with QUIC v1 (TLS 1.3 and QUIC's own streams) instead of TCP."""

    @pytest.fixture
    def backend(self, nursery: trio.Nursery) -> Libp2pBackend:
        return QuicBackend(nursery)

    @pytest.fixture
    def clock(self) -> None:
        return None


# --- identity ---------------------------------------------------------------------------


async def test_identity_is_the_node_key(libp2p_backend: Libp2pBackend) -> None:
    from libp2p.crypto.ed25519 import create_new_key_pair

    s = seed(1)
    t = await libp2p_backend.start()
    expected_pk = create_new_key_pair(s).public_key.to_bytes()
    t2 = Libp2pTransport(s)
    assert t2.local_peer == expected_pk
    assert peer_id_for(expected_pk) == t2.libp2p_peer_id
    assert peer_id_for(expected_pk).startswith("12D3KooW")
    for addr in t.listen_multiaddrs:
        assert addr.endswith("/p2p/" + peer_id_for(t.local_peer))
        assert addr.startswith("/ip4/127.0.0.1/tcp/")
    with pytest.raises(ValueError):
        t.add_peer_address(t2.local_peer, t.listen_multiaddrs[0])  # /p2p/ names another peer
    with pytest.raises(ValueError):
        peer_id_for(b"short")


# --- hostile and broken peers -----------------------------------------------------------


@asynccontextmanager
async def raw_host(target: Libp2pTransport, **options: object) -> AsyncIterator[object]:
    """A bare Noise host (our builder) connected to `target`, for speaking frames by hand."""
    from libp2p.peer.peerinfo import info_from_p2p_addr

    host = build_host(
        os.urandom(32), listen_addrs=[multiaddr.Multiaddr(LOOPBACK)], dial_timeout_s=5.0
    )
    async with host.run(listen_addrs=[multiaddr.Multiaddr(LOOPBACK)]):
        info = info_from_p2p_addr(multiaddr.Multiaddr(target.listen_multiaddrs[0]))
        with trio.fail_after(BOUND_S):
            await host.connect(info)
        yield host, info.peer_id


def libp2p_id(t: Libp2pTransport) -> ID:
    return ID.from_base58(t.libp2p_peer_id)


async def healthy(a: Libp2pTransport, b: Libp2pTransport) -> None:
    """Both directions between `a` and `b` deliver."""
    a.add_peer_address(b.local_peer, b.listen_multiaddrs[0])
    b.add_peer_address(a.local_peer, a.listen_multiaddrs[0])
    for src, dst in [(a, b), (b, a)]:
        frame = os.urandom(100)
        await src.send(dst.local_peer, frame)
        assert await receive(dst, 1) == [(src.local_peer, frame)]


async def test_plaintext_host_cannot_connect(libp2p_backend: Libp2pBackend) -> None:
    from libp2p import new_host
    from libp2p.crypto.ed25519 import create_new_key_pair
    from libp2p.custom_types import TProtocol
    from libp2p.peer.peerinfo import info_from_p2p_addr
    from libp2p.security.insecure.transport import PLAINTEXT_PROTOCOL_ID, InsecureTransport
    from libp2p.stream_muxer.yamux.yamux import PROTOCOL_ID as YAMUX_ID
    from libp2p.stream_muxer.yamux.yamux import Yamux

    t = await libp2p_backend.start()
    kp = create_new_key_pair()
    plain = new_host(
        key_pair=kp,
        sec_opt={TProtocol(PLAINTEXT_PROTOCOL_ID): InsecureTransport(kp)},
        muxer_opt={TProtocol(YAMUX_ID): Yamux},
        listen_addrs=[multiaddr.Multiaddr(LOOPBACK)],
    )
    async with plain.run(listen_addrs=[multiaddr.Multiaddr(LOOPBACK)]):
        info = info_from_p2p_addr(multiaddr.Multiaddr(t.listen_multiaddrs[0]))
        with trio.fail_after(BOUND_S), pytest.raises(Exception) as refused:
            await plain.connect(info)
            await plain.new_stream(info.peer_id, [PROTOCOL_ID])
        assert not isinstance(refused.value, trio.TooSlowError)
    assert t.statistics().frames_received == 0
    await healthy(t, await libp2p_backend.start())


async def test_raw_tcp_garbage_does_not_harm(libp2p_backend: Libp2pBackend) -> None:
    t = await libp2p_backend.start()
    port = int(multiaddr.Multiaddr(t.listen_multiaddrs[0]).value_for_protocol("tcp"))
    for junk in [os.urandom(64), b"/multistream/1.0.0\n" * 50, os.urandom(256 * 1024), b""]:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        with trio.fail_after(BOUND_S):
            try:
                if junk:
                    await stream.send_all(junk)
                await stream.send_eof()
                while await stream.receive_some(65536):
                    pass
            except trio.BrokenResourceError:
                pass  # the node hung up on us first: fine
            finally:
                await stream.aclose()
    await healthy(t, await libp2p_backend.start())


async def test_oversized_announcement_resets_the_stream(libp2p_backend: Libp2pBackend) -> None:
    t = await libp2p_backend.start(max_frame_bytes=1024)
    async with raw_host(t) as (host, pid):
        stream = await host.new_stream(pid, [PROTOCOL_ID])  # type: ignore[attr-defined]
        await stream.write(HEADER.pack(1 << 31) + b"x" * 100)
        with trio.fail_after(BOUND_S):
            await t.wait_statistics(lambda s: s.extra["oversized_frames"] == 1)
            with pytest.raises(Exception):  # noqa: B017 - reset or EOF: any stream error
                await stream.read(1)
                await stream.read(1)
    stats = t.statistics()
    assert stats.frames_received == 0 and stats.frames_dropped == 1
    await healthy(t, await libp2p_backend.start())


async def test_peer_vanishing_mid_frame(libp2p_backend: Libp2pBackend) -> None:
    t = await libp2p_backend.start()
    async with raw_host(t) as (host, pid):
        stream = await host.new_stream(pid, [PROTOCOL_ID])  # type: ignore[attr-defined]
        await stream.write(HEADER.pack(5) + b"whole" + HEADER.pack(1000) + b"part")
        with trio.fail_after(BOUND_S):
            await t.wait_statistics(lambda s: s.frames_received == 1)
        await host.disconnect(pid)  # type: ignore[attr-defined]  # the link dies mid-frame
    with trio.fail_after(BOUND_S):
        await t.wait_statistics(lambda s: s.extra["partial_frames"] == 1)
    assert (await t.incoming.receive())[1] == b"whole"
    assert t.statistics().frames_dropped == 1
    await healthy(t, await libp2p_backend.start())


async def test_stalled_frame_times_out(libp2p_backend: Libp2pBackend) -> None:
    t = await libp2p_backend.start(frame_timeout_s=0.2)
    async with raw_host(t) as (host, pid):
        stream = await host.new_stream(pid, [PROTOCOL_ID])  # type: ignore[attr-defined]
        await stream.write(HEADER.pack(1000) + b"never finished")
        with trio.fail_after(BOUND_S):
            await t.wait_statistics(lambda s: s.extra["partial_frames"] == 1)
        await healthy(t, await libp2p_backend.start())


async def test_connect_predials_and_unknown_address_is_unreachable(
    libp2p_backend: Libp2pBackend,
) -> None:
    a, b = await libp2p_backend.start(), await libp2p_backend.start()
    with pytest.raises(TransportError):
        await a.connect(b.local_peer)
    a.add_peer_address(b.local_peer, b.listen_multiaddrs[0])
    await a.connect(b.local_peer)
    assert [p.connected for p in a.peers()] == [True]
    assert a.statistics().extra["streams_opened"] == 1
    await a.send(b.local_peer, b"warm")
    assert a.statistics().extra["streams_opened"] == 1
    assert await receive(b, 1) == [(a.local_peer, b"warm")]
    # b never registered a's address, yet can answer over the connection a opened.
    await b.send(a.local_peer, b"reply")
    assert await receive(a, 1) == [(b.local_peer, b"reply")]


async def test_a_peer_without_an_ed25519_identity_is_refused(
    libp2p_backend: Libp2pBackend,
) -> None:
    from libp2p import new_host
    from libp2p.crypto.secp256k1 import create_new_key_pair as secp256k1_key_pair
    from libp2p.crypto.x25519 import create_new_key_pair as x25519_key_pair
    from libp2p.custom_types import TProtocol
    from libp2p.peer.peerinfo import info_from_p2p_addr
    from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_ID
    from libp2p.security.noise.transport import Transport as NoiseTransport
    from libp2p.stream_muxer.yamux.yamux import PROTOCOL_ID as YAMUX_ID
    from libp2p.stream_muxer.yamux.yamux import Yamux

    t = await libp2p_backend.start()
    kp = secp256k1_key_pair()
    other = new_host(
        key_pair=kp,
        sec_opt={NOISE_ID: NoiseTransport(kp, noise_privkey=x25519_key_pair().private_key)},
        muxer_opt={TProtocol(YAMUX_ID): Yamux},
        listen_addrs=[multiaddr.Multiaddr(LOOPBACK)],
    )
    async with other.run(listen_addrs=[multiaddr.Multiaddr(LOOPBACK)]):
        info = info_from_p2p_addr(multiaddr.Multiaddr(t.listen_multiaddrs[0]))
        with trio.fail_after(BOUND_S):
            await other.connect(info)
            try:  # the stream is reset as soon as it is accepted: opening it may fail
                stream = await other.new_stream(info.peer_id, [PROTOCOL_ID])
                await stream.write(HEADER.pack(5) + b"hello")
            except Exception:
                pass
            await t.wait_statistics(lambda s: s.extra["rejected_streams"] == 1)
    assert t.statistics().frames_received == 0
    await healthy(t, await libp2p_backend.start())


async def test_an_idle_outbound_stream_is_closed_then_replaced(
    libp2p_backend: Libp2pBackend,
) -> None:
    a = await libp2p_backend.start(idle_close_s=0.2)
    b = await libp2p_backend.start()
    a.add_peer_address(b.local_peer, b.listen_multiaddrs[0])
    await a.send(b.local_peer, b"one")
    assert await receive(b, 1) == [(a.local_peer, b"one")]
    with trio.fail_after(BOUND_S):
        await a.wait_statistics(lambda s: s.extra["idle_closes"] == 1)
    await a.send(b.local_peer, b"two")
    assert await receive(b, 1) == [(a.local_peer, b"two")]
    assert a.statistics().extra["streams_opened"] == 2
    assert b.statistics().frames_dropped == 0


async def test_a_silent_inbound_stream_is_reset(libp2p_backend: Libp2pBackend) -> None:
    a = await libp2p_backend.start()
    b = await libp2p_backend.start(idle_timeout_s=0.2)
    a.add_peer_address(b.local_peer, b.listen_multiaddrs[0])
    await a.send(b.local_peer, b"one")
    assert await receive(b, 1) == [(a.local_peer, b"one")]
    with trio.fail_after(BOUND_S):
        await b.wait_statistics(lambda s: s.extra["idle_resets"] == 1)


async def test_a_killed_peer_process_does_not_harm(libp2p_backend: Libp2pBackend) -> None:
    import subprocess
    import sys

    t = await libp2p_backend.start()
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "bitcraps.transports._bench_loopback", "serve"],
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = b""
        with trio.fail_after(BOUND_S):
            while not line.endswith(b"\n"):
                chunk = await process.stdout.receive_some(1)
                assert chunk, "the peer process died before listening"
                line += chunk
        _, addr, pk_hex = line.decode().split()
        peer = bytes.fromhex(pk_hex)
        t.add_peer_address(peer, addr)
        await t.send(peer, b"E ping")
        assert await receive(t, 1) == [(peer, b"E ping")]
        process.kill()
    finally:
        with trio.CancelScope(shield=True):
            process.kill()
            await process.wait()
    with trio.fail_after(BOUND_S):
        await libp2p_backend.wait_gone(t, peer)
    with pytest.raises(TransportError):
        await t.send(peer, b"E anyone?")
    await healthy(t, await libp2p_backend.start())


async def test_a_peer_without_pubsub_is_no_error_in_the_log(
    libp2p_backend: Libp2pBackend,
) -> None:
    """The lobby asks every peer for gossipsub; a peer that does not speak it used to cost an
    eight-line ERROR from py-libp2p's host. Now one DEBUG line, with no exception attached."""
    import logging

    a, b = await libp2p_backend.start(), await libp2p_backend.start()
    await healthy(a, b)  # connected both ways
    logger = logging.getLogger("libp2p.host.basic_host")
    records: list[logging.LogRecord] = []
    seen = trio.Event()

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)
            seen.set()

    handler, level = Keep(logging.DEBUG), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        with trio.fail_after(BOUND_S), pytest.raises(Exception):  # noqa: B017 - refused
            await a.host.new_stream(libp2p_id(b), [TProtocol("/meshsub/1.1.0")])
        with trio.fail_after(BOUND_S):
            await seen.wait()
        logger.setLevel(logging.WARNING)  # the daemon's level for libp2p
        with trio.fail_after(BOUND_S), pytest.raises(Exception):  # noqa: B017 - refused
            await a.host.new_stream(libp2p_id(b), [TProtocol("/meshsub/1.0.0")])
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    refusals = [r for r in records if r.getMessage().startswith("Failed to open stream")]
    assert len(refusals) == 1
    assert refusals[0].levelno == logging.DEBUG and refusals[0].exc_info is None
    assert "\n" not in refusals[0].getMessage()
    assert not [r for r in records if r.levelno >= logging.WARNING]


async def test_drops_are_counted_by_reason_and_by_peer(libp2p_backend: Libp2pBackend) -> None:
    t = await libp2p_backend.start(max_frame_bytes=1024)
    async with raw_host(t) as (host, pid):
        stream = await host.new_stream(pid, [PROTOCOL_ID])  # type: ignore[attr-defined]
        await stream.write(HEADER.pack(1 << 20))
        with trio.fail_after(BOUND_S):
            await t.wait_statistics(lambda s: s.extra["oversized_frames"] == 1)
        stream = await host.new_stream(pid, [PROTOCOL_ID])  # type: ignore[attr-defined]
        await stream.write(HEADER.pack(100) + b"part")
        await host.disconnect(pid)  # type: ignore[attr-defined]
        with trio.fail_after(BOUND_S):
            await t.wait_statistics(lambda s: s.extra["partial_frames"] == 1)
        sender = host.get_public_key().to_bytes()  # type: ignore[attr-defined]
    stats = t.statistics()
    assert stats.frames_dropped == 2
    assert stats.dropped_by_reason["oversized"] == 1 and stats.dropped_by_reason["partial"] == 1
    assert stats.dropped_by_peer == {sender: 2}
