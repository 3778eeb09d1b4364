"""The one transport interface every backend implements (memory, libp2p, webrtc, ble).

A peer is its 32-byte Ed25519 public key, whatever the link. Frames are opaque bytes (the
node sends canonical envelopes); a transport authenticates the peer it talks to and never
interprets a frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Protocol

import trio

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

    def snapshot(self) -> TransportStatistics:
        """A copy the caller may keep: later counting does not change it."""
        return replace(self, extra=dict(self.extra))


class Transport(Protocol):
    """Send frames to peers; receive `(peer, frame)` from one bounded channel.

    Ordering: frames from one sender to one receiver arrive in the order sent, unless a
    backend documents otherwise. Backpressure: `send` waits while the link is full; a
    receiver that falls behind makes the bounded channel fill and the backend drop (and
    count) what it cannot queue, never grow without bound.
    """

    @property
    def local_peer(self) -> PeerId: ...

    @property
    def max_frame_bytes(self) -> int: ...

    @property
    def incoming(self) -> trio.MemoryReceiveChannel[tuple[PeerId, bytes]]: ...

    async def send(self, peer: PeerId, frame: bytes) -> None: ...

    def peers(self) -> list[PeerInfo]: ...

    def statistics(self) -> TransportStatistics: ...

    async def aclose(self) -> None: ...
