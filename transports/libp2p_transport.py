"""The libp2p transport: table frames over TCP + Noise + yamux with py-libp2p (trio).

Protocol `/bitcraps/table/1.0.0`: each peer keeps one long-lived outbound stream to each peer
it sends to and writes length-prefixed frames on it (`_framing`); it reads frames from the
streams its peers opened to it. A frame is delivered as `(sender's Ed25519 key, bytes)`, the
key taken from the peer id that Noise authenticated.

Lifecycle: `await nursery.start(transport.run)` listens and reports ready; `aclose()` (or
cancelling `run`) stops it. `open_libp2p_transport(...)` does both as a context manager.

Choices, see docs/libp2p-notes.md for the measurements behind them:
- Receiving: frames queue per sending peer (`fair_queue`: bounded per peer in frames and
  bytes, and in all; handed out one peer at a time, in turn), so one peer's flood of tiny
  frames fills and drops only its own queue. A frame that finds its peer's queue full waits up
  to `full_wait_s` for room (which slows that sender through yamux flow control); if none
  comes it is dropped and counted (`frames_dropped`, `dropped_by_reason`, `dropped_by_peer`),
  and so is every frame of that peer after it until the consumer takes one of its frames. The
  stream keeps draining, so yamux never resets a writer because our consumer stalled.
- Sending: each peer has one writer task, fed by a bounded queue (`outbox_capacity`), that
  alone does I/O on that peer's stream: frames leave in the order `send` queued them, queued
  frames are coalesced into one write, and a caller's cancellation never cuts a libp2p write
  in half (that corrupts the Noise connection for every stream on it). `send` returns once its
  frame is written. A write that fails on a reused stream is retried once on a fresh stream
  (the old one went stale: peer restarted, connection dropped); a dial that fails or times out
  raises `PeerUnreachable`; a write that times out (peer not reading) drops the connection.
- Every inbound handler catches every `Exception`: one escaping a handler can kill the swarm.
- Reading has deadlines: a frame that has started must complete within `frame_timeout_s`
  (partial frames are dropped, counted and the stream reset). Idle streams: the writer closes
  its stream after `idle_close_s` without frames (a clean end between frames: nothing lost),
  and the reader resets an inbound stream silent for `idle_timeout_s`, a safety net against
  peers that vanished without a FIN. Keep `idle_close_s` < `idle_timeout_s`: a frame written
  while the reader's reset is in flight is lost without an error.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import trio
from libp2p.abc import IHost, INetConn, INetStream, INetwork, INotifee
from libp2p.custom_types import TProtocol
from libp2p.network.stream.exceptions import StreamEOF
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo as Libp2pPeerInfo
from multiaddr import Multiaddr

from ._framing import FrameReader, OversizedFrame, TruncatedFrame, encode_frame
from ._incoming import incoming_queue, note_drop
from ._interface import (
    FrameTooLarge,
    PeerId,
    PeerInfo,
    PeerUnreachable,
    TransportClosed,
    TransportError,
    TransportStatistics,
)
from ._libp2p_host import (
    ED25519_PUBLIC_KEY_BYTES,
    build_host,
    libp2p_id_for,
    peer_id_for,
    public_key_from_id,
)
from ._listen_ports import ListenError, check_listening, probe_listen_addrs
from .fair_queue import FairQueue

if TYPE_CHECKING:
    # libp2p installs trio-typing, whose trio-stubs shadow trio's own types for mypy.
    from trio_typing import TaskStatus

__all__ = [
    "PROTOCOL_ID",
    "Libp2pTransport",
    "ListenError",
    "open_libp2p_transport",
    "peer_id_for",
]

log = logging.getLogger(__name__)

PROTOCOL_ID = TProtocol("/bitcraps/table/1.0.0")
TRANSPORT_NAME = "libp2p"
DEFAULT_LISTEN_ADDRS = ("/ip4/127.0.0.1/tcp/0",)
DEFAULT_MAX_FRAME_BYTES = 1 << 20
DEFAULT_INCOMING_CAPACITY = 1024  # frames queued per sending peer
DEFAULT_INCOMING_BYTES_PER_PEER = 16 << 20
DEFAULT_INCOMING_TOTAL_BYTES = 64 << 20
RESET_TIMEOUT_S = 2.0
WRITE_BATCH_BYTES = 256 * 1024
DEFAULT_OUTBOX_CAPACITY = 64

EXTRA_COUNTERS = (
    "oversized_frames",  # a peer announced a frame above max_frame_bytes: stream reset
    "partial_frames",  # a stream ended, broke or stalled inside a frame: frame dropped
    "idle_resets",  # an inbound stream idle past idle_timeout_s was reset
    "idle_closes",  # an outbound stream idle past idle_close_s was closed
    "rejected_streams",  # a stream from a peer whose id is not an Ed25519 key
    "handler_errors",  # unexpected exceptions caught in a stream handler
    "streams_opened",  # outbound table streams opened
    "stream_retries",  # writes retried on a fresh stream after a stale one failed
)


class _Pending:
    """One queued frame (empty `data`: only make sure the stream is open) and its outcome."""

    __slots__ = ("data", "done", "error", "payload_bytes")

    def __init__(self, data: bytes, payload_bytes: int) -> None:
        self.data = data
        self.payload_bytes = payload_bytes
        self.done = trio.Event()
        self.error: TransportError | None = None


class _OutboundLink:
    """One peer's outbound side: a queue of frames and the warm stream its writer task owns."""

    __slots__ = ("outbox", "inbox", "stream")

    def __init__(self, capacity: int) -> None:
        self.outbox, self.inbox = trio.open_memory_channel[_Pending](capacity)
        self.stream: INetStream | None = None


class Libp2pTransport:
    """A `Transport` over py-libp2p. Identity: the node's 32-byte Ed25519 seed."""

    def __init__(
        self,
        seed: bytes,
        *,
        listen_addrs: Sequence[str] = DEFAULT_LISTEN_ADDRS,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        incoming_capacity: int = DEFAULT_INCOMING_CAPACITY,
        dial_timeout_s: float = 5.0,
        write_timeout_s: float = 10.0,
        frame_timeout_s: float = 10.0,
        idle_timeout_s: float = 300.0,
        idle_close_s: float = 120.0,
        outbox_capacity: int = DEFAULT_OUTBOX_CAPACITY,
        full_wait_s: float = 1.0,
        enable_mdns: bool = False,
        incoming_total: int | None = None,
        incoming_bytes_per_peer: int = DEFAULT_INCOMING_BYTES_PER_PEER,
        incoming_total_bytes: int = DEFAULT_INCOMING_TOTAL_BYTES,
    ) -> None:
        """`incoming_capacity` and `incoming_bytes_per_peer` bound what one peer may have
        queued for the consumer; `incoming_total` (default eight peers' worth of frames) and
        `incoming_total_bytes` bound all of it."""
        if max_frame_bytes < 1 or incoming_capacity < 1:
            raise ValueError("max_frame_bytes and incoming_capacity must be at least 1")
        if not max_frame_bytes <= incoming_bytes_per_peer <= incoming_total_bytes:
            raise ValueError("need max_frame_bytes <= incoming_bytes_per_peer "
                             "<= incoming_total_bytes")
        self._listen_addrs = [Multiaddr(a) for a in listen_addrs]
        self._host = build_host(
            seed, listen_addrs=self._listen_addrs, dial_timeout_s=dial_timeout_s,
            enable_mdns=enable_mdns,
        )
        self._local_peer = self._host.get_public_key().to_bytes()
        self._max_frame_bytes = max_frame_bytes
        self._dial_timeout_s = dial_timeout_s
        self._write_timeout_s = write_timeout_s
        self._frame_timeout_s = frame_timeout_s
        self._idle_timeout_s = idle_timeout_s
        self._idle_close_s = idle_close_s
        self._outbox_capacity = outbox_capacity
        self._full_wait_s = full_wait_s
        self._overflowing: set[PeerId] = set()
        self._addresses: dict[PeerId, list[Multiaddr]] = {}
        self._links: dict[PeerId, _OutboundLink] = {}
        self._stats = TransportStatistics(extra=dict.fromkeys(EXTRA_COUNTERS, 0))
        self._incoming = incoming_queue(
            self._stats, per_peer_frames=incoming_capacity, total_frames=incoming_total,
            per_peer_bytes=incoming_bytes_per_peer, total_bytes=incoming_total_bytes)
        self._stats_changed = trio.Event()
        self._listen_multiaddrs: tuple[str, ...] = ()
        self._nursery: trio.Nursery | None = None
        self._started = False
        self._closed = False
        self._close_requested = trio.Event()
        self._stopped = trio.Event()

    # --- identity and addresses ------------------------------------------------------------

    @property
    def local_peer(self) -> PeerId:
        return self._local_peer

    @property
    def host(self) -> IHost:
        """The py-libp2p host, for services that share it (the lobby's gossipsub)."""
        return self._host

    @property
    def libp2p_peer_id(self) -> str:
        return self._host.get_id().to_base58()

    @property
    def max_frame_bytes(self) -> int:
        return self._max_frame_bytes

    @property
    def incoming(self) -> FairQueue[bytes]:
        return self._incoming

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def listen_multiaddrs(self) -> tuple[str, ...]:
        """The addresses peers can dial, each ending in `/p2p/<peer id>` (once running)."""
        return self._listen_multiaddrs

    def add_peer_address(self, public_key: PeerId, multiaddr: str) -> None:
        """Remember where `public_key` listens. A `/p2p/<id>` suffix must match the key."""
        expected = libp2p_id_for(public_key)
        addr = Multiaddr(multiaddr)
        claimed = addr.get_peer_id()
        if claimed is not None:
            if ID.from_base58(claimed) != expected:
                raise ValueError(f"{multiaddr} names another peer than {expected}")
            addr = addr.decapsulate(Multiaddr(f"/p2p/{claimed}"))
        known = self._addresses.setdefault(bytes(public_key), [])
        if addr not in known:
            known.append(addr)

    async def dial_discovered(self, *, retry_after_s: float = 30.0) -> None:
        """Dial, forever, every peer the peerstore has addresses for (what mDNS found) and
        we are not connected to; each peer at most once per `retry_after_s`."""
        tried: dict[ID, float] = {}
        while not self._closed:
            now = trio.current_time()
            network = self._host.get_network()
            connected = network.get_connections_map()
            store = self._host.get_peerstore()
            for pid in store.peers_with_addrs():
                if pid == self._host.get_id() or connected.get(pid):
                    continue
                if now - tried.get(pid, -retry_after_s) < retry_after_s:
                    continue
                tried[pid] = now
                try:
                    await self._host.connect(Libp2pPeerInfo(pid, store.addrs(pid)))
                except Exception as exc:  # unreachable now: tried again later
                    log.debug("dialing discovered peer %s failed: %s", pid, exc)
            await trio.sleep(1.0)

    def peers(self) -> list[PeerInfo]:
        connected: set[PeerId] = set()
        for pid, conns in self._host.get_network().get_connections_map().items():
            key = public_key_from_id(pid)
            if key is not None and conns:
                connected.add(key)
        return [
            PeerInfo(
                peer=peer,
                addresses=tuple(str(a) for a in self._addresses.get(peer, ())),
                connected=peer in connected,
                transport=TRANSPORT_NAME,
            )
            for peer in sorted(connected | set(self._addresses))
        ]

    # --- statistics ---------------------------------------------------------------------

    def statistics(self) -> TransportStatistics:
        return self._stats.snapshot()

    async def wait_statistics(self, predicate: Callable[[TransportStatistics], bool]) -> None:
        """Return once `predicate(self.statistics())` holds (checked on every change)."""
        while not predicate(self.statistics()):
            await self._stats_changed.wait()

    def _count(self, name: str, n: int = 1) -> None:
        self._stats.extra[name] = self._stats.extra.get(name, 0) + n
        self._notify()

    def _notify(self) -> None:
        self._stats_changed.set()
        self._stats_changed = trio.Event()

    # --- lifecycle ----------------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Listen and serve until `aclose()` or cancellation; ready once listening."""
        if self._started:
            raise RuntimeError("a Libp2pTransport runs once")
        self._started = True
        try:
            if self._closed:
                return
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                self._host.set_stream_handler(PROTOCOL_ID, self._handle_stream)
                self._host.get_network().register_notifee(_Notifee(self))
                probe_listen_addrs(self._listen_addrs)  # a port in use: refused, not shared
                async with self._host.run(listen_addrs=self._listen_addrs):
                    check_listening(self._host.get_network().listeners,
                                    self._listen_addrs)
                    self._listen_multiaddrs = tuple(str(a) for a in self._host.get_addrs())
                    try:
                        task_status.started()
                        await self._close_requested.wait()
                    finally:
                        self._closed = True
                        with trio.CancelScope(shield=True), trio.move_on_after(RESET_TIMEOUT_S):
                            await self._close_connections()
                nursery.cancel_scope.cancel()
        finally:
            self._closed = True
            self._nursery = None
            self._incoming.close()
            self._stopped.set()
            self._notify()

    async def _close_connections(self) -> None:
        """Close every connection, concurrently (each close sleeps 0.1-0.2 s inside yamux).

        Leaving `host.run()` does not close the connections this host dialed (py-libp2p
        0.8.1): their sockets stay open and the peers never notice that we left."""
        async with trio.open_nursery() as nursery:
            for pid in list(self._host.get_network().get_connections_map()):
                nursery.start_soon(self._close_connection, pid)

    async def _close_connection(self, pid: ID) -> None:
        try:
            await self._host.disconnect(pid)
        except Exception:
            log.debug("closing the connection to %s failed", pid, exc_info=True)

    async def aclose(self) -> None:
        """Stop: later sends raise `TransportClosed`, `incoming` ends after what is queued.
        Waits for `run` to finish when it is running. Idempotent."""
        self._closed = True
        self._close_requested.set()
        if self._started:
            await self._stopped.wait()
        else:
            self._incoming.close()
            await trio.lowlevel.checkpoint()

    # --- sending ------------------------------------------------------------------------

    async def connect(self, public_key: PeerId) -> None:
        """Dial `public_key` now and open the table stream, so the first `send` is fast."""
        await self._submit(public_key, _Pending(b"", 0))

    async def send(self, peer: PeerId, frame: bytes) -> None:
        """Send `frame` to `peer`, dialing it first if needed; return once it is written.

        Raises `FrameTooLarge`, `TransportClosed`, or `PeerUnreachable` (no address, dial
        failed or timed out, write failed twice, peer not reading). Waits while the peer's
        queue is full. A cancelled send may or may not deliver its frame, never a damaged one:
        libp2p I/O runs in the peer's writer task, which a caller's cancellation never reaches
        (cancelling a yamux write mid-message corrupts the whole Noise connection).
        """
        self._check_open()
        if len(frame) > self._max_frame_bytes:
            self._stats.send_failures += 1
            raise FrameTooLarge(f"{len(frame)} bytes > max_frame_bytes {self._max_frame_bytes}")
        if peer == self._local_peer:
            await trio.lowlevel.checkpoint()
            self._deliver(peer, bytes(frame))
            self._stats.frames_sent += 1
            self._stats.bytes_sent += len(frame)
            return
        await self._submit(peer, _Pending(encode_frame(bytes(frame)), len(frame)))

    async def post(self, peer: PeerId, frame: bytes) -> None:
        """Queue `frame` for `peer` and return without waiting for it to be written.

        Waits only while the peer's queue is full. A frame that later fails is counted
        (`send_failures`), not raised: for callers that tolerate loss and hand a peer several
        frames in a row (the writer then coalesces them into one write instead of one write,
        and one wake-up of the caller, per frame). Raises like `send` for what is known at
        once: `FrameTooLarge`, `TransportClosed`, a malformed peer id.
        """
        self._check_open()
        if len(frame) > self._max_frame_bytes:
            self._stats.send_failures += 1
            raise FrameTooLarge(f"{len(frame)} bytes > max_frame_bytes {self._max_frame_bytes}")
        if peer == self._local_peer:
            await self.send(peer, frame)
            return
        await self._submit(peer, _Pending(encode_frame(bytes(frame)), len(frame)), wait=False)

    async def _submit(self, peer: PeerId, pending: _Pending, *, wait: bool = True) -> None:
        self._check_open()
        if len(peer) != ED25519_PUBLIC_KEY_BYTES:
            self._stats.send_failures += 1
            raise PeerUnreachable(f"a peer id is a 32-byte Ed25519 key, not {len(peer)} bytes")
        link = self._link(peer)
        try:
            await link.outbox.send(pending)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise TransportClosed("transport is closed") from None
        if not wait:
            return
        await pending.done.wait()
        if pending.error is not None:
            raise pending.error

    def _link(self, peer: PeerId) -> _OutboundLink:
        link = self._links.get(peer)
        if link is None:
            assert self._nursery is not None
            link = self._links[peer] = _OutboundLink(self._outbox_capacity)
            self._nursery.start_soon(self._writer, peer, link)
        return link

    async def _writer(self, peer: PeerId, link: _OutboundLink) -> None:
        """The only task that does I/O on `peer`'s outbound stream. Coalesces queued frames
        into one write (up to `WRITE_BATCH_BYTES`); closes the stream after `idle_close_s`
        without frames (the reader then sees a clean end between frames)."""
        batch: list[_Pending] = []
        try:
            while True:
                with trio.move_on_after(self._idle_close_s) as idle:
                    try:
                        first = await link.inbox.receive()
                    except trio.EndOfChannel:
                        return
                if idle.cancelled_caught:
                    await self._close_idle(peer, link)
                    continue
                batch = [first]
                size = len(first.data)
                while size < WRITE_BATCH_BYTES:
                    try:
                        item = link.inbox.receive_nowait()
                    except trio.WouldBlock:
                        break
                    batch.append(item)
                    size += len(item.data)
                error: TransportError | None = None
                try:
                    await self._write(peer, link, b"".join(p.data for p in batch))
                except PeerUnreachable as exc:
                    error = exc
                self._finish(batch, error)
                batch = []
        finally:
            closed = TransportClosed("transport closed before the frame was sent")
            self._finish(batch, closed)
            while True:
                try:
                    self._finish([link.inbox.receive_nowait()], closed)
                except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                    break
            link.inbox.close()

    async def _close_idle(self, peer: PeerId, link: _OutboundLink) -> None:
        stream, link.stream = link.stream, None
        if stream is None:
            return
        self._count("idle_closes")
        try:
            with trio.fail_after(RESET_TIMEOUT_S):
                await stream.close()
        except trio.TooSlowError:
            self._spawn(self._disconnect, peer)  # a cut write may have corrupted it
        except Exception:
            self._spawn_reset(stream)

    def _finish(self, batch: list[_Pending], error: TransportError | None) -> None:
        for pending in batch:
            if pending.done.is_set():
                continue
            pending.error = error
            if pending.data:
                if error is None:
                    self._stats.frames_sent += 1
                    self._stats.bytes_sent += pending.payload_bytes
                else:
                    self._stats.send_failures += 1
            pending.done.set()
        self._notify()

    async def _write(self, peer: PeerId, link: _OutboundLink, data: bytes) -> None:
        for attempt in range(2):
            stream = link.stream
            reused = stream is not None
            if stream is None:
                stream = link.stream = await self._open_stream(peer)
            if not data:
                return
            try:
                with trio.fail_after(self._write_timeout_s):
                    await stream.write(data)
                return
            except trio.TooSlowError as exc:
                # The write was cut mid-message: the connection may be corrupt. Drop it.
                link.stream = None
                self._spawn(self._disconnect, peer)
                raise PeerUnreachable("write timed out: the peer is not reading") from exc
            except Exception as exc:
                self._discard(link, stream)
                if reused and attempt == 0:
                    self._count("stream_retries")
                    continue
                raise PeerUnreachable(f"write failed: {exc!r}") from exc

    async def _open_stream(self, peer: PeerId) -> INetStream:
        try:
            pid = libp2p_id_for(peer)
        except ValueError as exc:
            raise PeerUnreachable(str(exc)) from exc
        network = self._host.get_network()
        addrs = self._addresses.get(peer, [])
        connected = bool(network.get_connections(pid))
        if not addrs and not connected:
            raise PeerUnreachable(f"no address known for {pid}")
        try:
            with trio.fail_after(self._dial_timeout_s):
                if not connected:
                    await self._host.connect(Libp2pPeerInfo(pid, addrs))
                stream = await self._host.new_stream(pid, [PROTOCOL_ID])
        except trio.TooSlowError as exc:
            raise PeerUnreachable(f"dial to {pid} timed out") from exc
        except Exception as exc:
            raise PeerUnreachable(f"dial to {pid} failed: {exc!r}") from exc
        self._count("streams_opened")
        return stream

    async def _disconnect(self, peer: PeerId) -> None:
        with trio.move_on_after(RESET_TIMEOUT_S):
            try:
                await self._host.disconnect(libp2p_id_for(peer))
            except Exception:
                log.debug("disconnect failed", exc_info=True)

    def _check_open(self) -> None:
        if self._closed:
            raise TransportClosed("transport is closed")
        if self._nursery is None:
            raise TransportError("transport is not running: start it with nursery.start(run)")

    def _spawn(self, fn: Callable[[PeerId], Awaitable[None]], peer: PeerId) -> None:
        if self._nursery is not None:
            self._nursery.start_soon(fn, peer)

    def _discard(self, link: _OutboundLink, stream: INetStream) -> None:
        if link.stream is stream:
            link.stream = None
        self._spawn_reset(stream)

    def _spawn_reset(self, stream: INetStream) -> None:
        if self._nursery is not None:
            self._nursery.start_soon(_reset_quietly, stream)

    def _forget_connection(self, conn: INetConn) -> None:
        """A connection closed: drop the outbound streams that lived on it."""
        muxed = getattr(conn, "muxed_conn", None)
        for link in self._links.values():
            if link.stream is not None and link.stream.muxed_conn is muxed:
                link.stream = None

    # --- receiving ----------------------------------------------------------------------

    async def _handle_stream(self, stream: INetStream) -> None:
        try:
            await self._serve_inbound(stream)
        except Exception:
            self._count("handler_errors")
            log.exception("table stream handler failed")
        finally:
            with trio.CancelScope(shield=True):
                await _reset_quietly(stream)

    async def _serve_inbound(self, stream: INetStream) -> None:
        sender = public_key_from_id(stream.muxed_conn.peer_id)
        if sender is None:
            self._count("rejected_streams")
            return

        async def read(max_bytes: int) -> bytes:
            try:
                return await stream.read(max_bytes)
            except StreamEOF:
                return b""

        reader = FrameReader(read, self._max_frame_bytes)
        while not self._closed:
            with trio.move_on_after(self._idle_timeout_s) as scope:

                def frame_started(scope: trio.CancelScope = scope) -> None:
                    scope.deadline = min(
                        scope.deadline, trio.current_time() + self._frame_timeout_s
                    )

                try:
                    frame = await reader.next_frame(frame_started)
                except OversizedFrame:
                    note_drop(self._stats, sender, "oversized")
                    self._count("oversized_frames")
                    return
                except TruncatedFrame:
                    self._drop_partial(sender)
                    return
                except Exception:
                    if reader.mid_frame:
                        self._drop_partial(sender)
                    return
            if scope.cancelled_caught:
                if reader.mid_frame:
                    self._drop_partial(sender)
                else:
                    self._count("idle_resets")
                return
            if frame is None:
                return
            if not await self._deliver_waiting(sender, frame):
                return

    def _drop_partial(self, sender: PeerId) -> None:
        note_drop(self._stats, sender, "partial")
        self._count("partial_frames")

    def _deliver(self, sender: PeerId, frame: bytes) -> bool:
        """Queue a received frame or drop it (counted); False once the transport is closing."""
        if self._incoming.closed:
            return False
        if self._incoming.offer(sender, frame) is None:
            self._overflowing.discard(sender)
            self._stats.frames_received += 1
            self._stats.bytes_received += len(frame)
        self._notify()
        return True

    async def _deliver_waiting(self, sender: PeerId, frame: bytes) -> bool:
        """Like `_deliver`, but a full queue for this peer is first waited on for up to
        `full_wait_s` (the wait reaches the sender as yamux flow control). Once a wait has
        timed out, this peer's frames are dropped at once until the consumer takes one of
        them: a stalled consumer costs one wait per peer, and the stream keeps draining
        (yamux resets a writer whose reader stalls for 5 s). Other peers' queues are apart."""
        incoming = self._incoming
        if (sender not in self._overflowing and self._full_wait_s > 0
                and not incoming.has_room(sender, len(frame))):
            with trio.move_on_after(self._full_wait_s):
                await incoming.wait_room(sender, len(frame))
            if not incoming.has_room(sender, len(frame)):
                self._overflowing.add(sender)
        return self._deliver(sender, frame)


async def _reset_quietly(stream: INetStream) -> None:
    with trio.move_on_after(RESET_TIMEOUT_S):
        try:
            await stream.reset()
        except Exception:
            pass


class _Notifee(INotifee):
    """Counts connections and drops outbound streams whose connection closed."""

    def __init__(self, transport: Libp2pTransport) -> None:
        self._transport = transport

    async def opened_stream(self, network: INetwork, stream: INetStream) -> None:
        pass

    async def closed_stream(self, network: INetwork, stream: INetStream) -> None:
        pass

    async def connected(self, network: INetwork, conn: INetConn) -> None:
        self._transport._stats.connections_opened += 1
        self._transport._notify()

    async def disconnected(self, network: INetwork, conn: INetConn) -> None:
        self._transport._stats.connections_closed += 1
        self._transport._forget_connection(conn)
        self._transport._notify()

    async def listen(self, network: INetwork, multiaddr: Multiaddr) -> None:
        pass

    async def listen_close(self, network: INetwork, multiaddr: Multiaddr) -> None:
        pass


@asynccontextmanager
async def open_libp2p_transport(seed: bytes, **options: object) -> AsyncIterator[Libp2pTransport]:
    """Run a `Libp2pTransport` for the duration of the block (ready on entry)."""
    transport = Libp2pTransport(seed, **options)  # type: ignore[arg-type]
    async with trio.open_nursery() as nursery:
        await nursery.start(transport.run)
        try:
            yield transport
        finally:
            with trio.CancelScope(shield=True):
                with trio.move_on_after(10):
                    await transport.aclose()
            nursery.cancel_scope.cancel()
