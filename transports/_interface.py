"""The one transport interface every backend implements (memory, libp2p, webrtc, ble).

A peer is its 32-byte Ed25519 public key, whatever the link. Frames are opaque bytes (the
node sends canonical envelopes); a transport authenticates the peer it talks to and never
interprets a frame.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Protocol

PeerId = bytes
"""A peer's Ed25519 public key (32 bytes)."""


class TransportError(Exception):
    """Base of every error a transport raises to its caller."""


class PeerUnreachable(TransportError):
    """No link to the peer could be used (unknown address, dial failed, peer gone)."""


class FrameTooLarge(TransportError):
    """A frame above the transport's `max_frame_bytes` was refused before sending."""


class TransportClosed(TransportError):
    """The transport was closed; nothing more can be sent."""


@dataclass(frozen=True, slots=True)
class PeerInfo:
    peer: PeerId
    addresses: tuple[str, ...]
    connected: bool
    transport: str


@dataclass(slots=True)
class TransportStatistics:
    frames_sent: int = 0
    frames_received: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    frames_dropped: int = 0
    send_failures: int = 0
    connections_opened: int = 0
    connections_closed: int = 0
    extra: dict[str, int] = field(default_factory=dict)
    dropped_by_reason: dict[str, int] = field(default_factory=dict)
    """`frames_dropped`, split by why: `fair_queue.DROP_REASONS` for the incoming queue,
    plus what a backend drops before queueing ("oversized", "partial")."""
    dropped_by_peer: dict[PeerId, int] = field(default_factory=dict)
    """`frames_dropped` by sending peer (the peers that dropped most, when there are many)."""

    def snapshot(self) -> TransportStatistics:
        """A copy the caller may keep: later counting does not change it."""
        return replace(self, extra=dict(self.extra),
                       dropped_by_reason=dict(self.dropped_by_reason),
                       dropped_by_peer=dict(self.dropped_by_peer))


class IncomingFrames(Protocol):
    """What `Transport.incoming` is: a receive channel of `(peer, frame)` (a
    `trio.MemoryReceiveChannel` fits, and so does `fair_queue.FairQueue`). It ends, with
    `trio.EndOfChannel`, once the transport is closed and what was queued is taken."""

    async def receive(self) -> tuple[PeerId, bytes]: ...

    def receive_nowait(self) -> tuple[PeerId, bytes]: ...

    def __aiter__(self) -> AsyncIterator[tuple[PeerId, bytes]]: ...


class Transport(Protocol):
    """Send frames to peers; receive `(peer, frame)` from one bounded channel.

    Ordering: frames from one sender to one receiver arrive in the order sent, unless a
    backend documents otherwise. Backpressure: `send` waits while the link is full; a
    receiver that falls behind makes the bounded channel fill and the backend drop (and
    count) what it cannot queue, never grow without bound. Fairness: the channel keeps a
    bounded queue per sending peer and hands frames out one peer at a time, in turn, so
    one peer's flood fills and drops only its own queue (`dropped_by_peer`).
    """

    @property
    def local_peer(self) -> PeerId: ...

    @property
    def max_frame_bytes(self) -> int: ...

    @property
    def incoming(self) -> IncomingFrames: ...

    async def send(self, peer: PeerId, frame: bytes) -> None: ...

    def peers(self) -> list[PeerInfo]: ...

    def statistics(self) -> TransportStatistics: ...

    async def aclose(self) -> None: ...
