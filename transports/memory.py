"""An in-process transport: every `MemoryTransport` of one `MemoryNetwork` reaches the others.

For tests and single-process clusters. Delivery is immediate and in order per pair of peers.

Backpressure choice: a receiver whose incoming queue for that sender is full does **not**
block the sender. The frame is dropped and counted in the *receiver's* `frames_dropped` (the
sender's `send` returns normally, as it would after a frame left on a real link). A receiver
that stops reading therefore costs at most `incoming_capacity` queued frames per sender (and
`incoming_total` in all) and never stalls its peers, which is what a replica wants: a slow
peer must not slow the quorum, and the protocol retransmits. Frames are handed out one sender
at a time, in turn (`fair_queue`), so one sender's flood never delays another's frames.
"""

from __future__ import annotations

from collections.abc import Callable

import trio

from ._incoming import incoming_queue
from ._interface import (
    FrameTooLarge,
    PeerId,
    PeerInfo,
    PeerUnreachable,
    TransportClosed,
    TransportStatistics,
)
from .fair_queue import FairQueue

DEFAULT_INCOMING_CAPACITY = 1024
DEFAULT_MAX_FRAME_BYTES = 1 << 20
TRANSPORT_NAME = "memory"


class MemoryNetwork:
    """The hub: maps a peer id to its open `MemoryTransport`."""

    def __init__(self) -> None:
        self._members: dict[PeerId, MemoryTransport] = {}

    def transport(
        self,
        peer: PeerId,
        *,
        incoming_capacity: int = DEFAULT_INCOMING_CAPACITY,
        incoming_total: int | None = None,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    ) -> MemoryTransport:
        """Join the network as `peer`. A closed peer may join again (a restart).
        `incoming_capacity` bounds the frames queued per sender, `incoming_total` (default
        eight senders' worth) all of them."""
        if peer in self._members:
            raise ValueError(f"peer {peer.hex()[:16]} is already on this network")
        member = MemoryTransport(
            self, peer, incoming_capacity=incoming_capacity, incoming_total=incoming_total,
            max_frame_bytes=max_frame_bytes,
        )
        self._members[peer] = member
        return member

    def members(self) -> list[PeerId]:
        return list(self._members)

    def _lookup(self, peer: PeerId) -> MemoryTransport | None:
        return self._members.get(peer)

    def _leave(self, member: MemoryTransport) -> None:
        if self._members.get(member.local_peer) is member:
            del self._members[member.local_peer]


class MemoryTransport:
    """One peer's end of a `MemoryNetwork`. Build it with `MemoryNetwork.transport`."""

    def __init__(
        self,
        network: MemoryNetwork,
        peer: PeerId,
        *,
        incoming_capacity: int,
        max_frame_bytes: int,
        incoming_total: int | None = None,
    ) -> None:
        if incoming_capacity < 1:
            raise ValueError("incoming_capacity must be at least 1")
        if max_frame_bytes < 1:
            raise ValueError("max_frame_bytes must be at least 1")
        self._network = network
        self._peer = peer
        self._max_frame_bytes = max_frame_bytes
        self._stats = TransportStatistics()
        self._incoming = incoming_queue(self._stats, per_peer_frames=incoming_capacity,
                                        total_frames=incoming_total)
        self._closed = False
        self._stats_changed = trio.Event()

    @property
    def local_peer(self) -> PeerId:
        return self._peer

    @property
    def max_frame_bytes(self) -> int:
        return self._max_frame_bytes

    @property
    def incoming(self) -> FairQueue[bytes]:
        return self._incoming

    @property
    def closed(self) -> bool:
        return self._closed

    async def send(self, peer: PeerId, frame: bytes) -> None:
        """Deliver `frame` to `peer` now, or raise; a cancelled send delivers nothing."""
        await trio.lowlevel.checkpoint_if_cancelled()
        if self._closed:
            raise TransportClosed("transport is closed")
        if len(frame) > self._max_frame_bytes:
            self._stats.send_failures += 1
            raise FrameTooLarge(f"{len(frame)} bytes > max_frame_bytes {self._max_frame_bytes}")
        target = self._network._lookup(peer)
        if target is None or target._closed:
            self._stats.send_failures += 1
            raise PeerUnreachable(f"peer {peer.hex()[:16]} is not on the network")
        data = bytes(frame)
        target._accept(self._peer, data)
        self._stats.frames_sent += 1
        self._stats.bytes_sent += len(data)
        self._notify()
        await trio.lowlevel.cancel_shielded_checkpoint()

    def _accept(self, sender: PeerId, frame: bytes) -> None:
        if self._incoming.offer(sender, frame) is None:
            self._stats.frames_received += 1
            self._stats.bytes_received += len(frame)
        self._notify()

    def peers(self) -> list[PeerInfo]:
        return [
            PeerInfo(peer=peer, addresses=(), connected=True, transport=TRANSPORT_NAME)
            for peer in self._network.members()
            if peer != self._peer
        ]

    def statistics(self) -> TransportStatistics:
        return self._stats.snapshot()

    async def wait_statistics(self, predicate: Callable[[TransportStatistics], bool]) -> None:
        """Return once `predicate(self.statistics())` holds (checked on every change)."""
        while not predicate(self.statistics()):
            await self._stats_changed.wait()

    def _notify(self) -> None:
        self._stats_changed.set()
        self._stats_changed = trio.Event()

    async def aclose(self) -> None:
        """Leave the network. Later sends raise `TransportClosed`; queued frames stay readable,
        then `incoming` ends. Idempotent."""
        if not self._closed:
            self._closed = True
            self._network._leave(self)
            self._incoming.close()
            self._notify()
        await trio.lowlevel.checkpoint()
