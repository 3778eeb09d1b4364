"""A transport's incoming side: a `FairQueue` of frames per sending peer, whose drops are
counted in the transport's statistics (total, by reason, by peer)."""

from __future__ import annotations

from ._interface import PeerId, TransportStatistics
from .fair_queue import DROP_REASONS, FairQueue, count_bounded

__all__ = ["BACKEND_DROP_REASONS", "DEFAULT_TOTAL_FRAMES_FACTOR", "incoming_queue", "note_drop"]

BACKEND_DROP_REASONS = ("oversized", "partial")
"""Frames a backend drops before they reach the queue: announced above `max_frame_bytes`,
or cut off (stream ended, broke or stalled inside the frame)."""

DEFAULT_TOTAL_FRAMES_FACTOR = 8
"""The queue as a whole holds this many peers' worth of frames by default."""


def incoming_queue(stats: TransportStatistics, *, per_peer_frames: int,
                   total_frames: int | None = None, per_peer_bytes: int | None = None,
                   total_bytes: int | None = None) -> FairQueue[bytes]:
    """The queue, with every drop (and eviction of a queued frame) counted in `stats`."""
    for reason in (*DROP_REASONS, *BACKEND_DROP_REASONS):
        stats.dropped_by_reason.setdefault(reason, 0)
    queue: FairQueue[bytes] = FairQueue(
        per_key_items=per_peer_frames,
        total_items=total_frames or per_peer_frames * DEFAULT_TOTAL_FRAMES_FACTOR,
        per_key_bytes=per_peer_bytes, total_bytes=total_bytes, size=len)

    def dropped(peer: bytes, reason: str, frame: bytes) -> None:
        if reason == "evicted":  # it was counted as received when it was queued
            stats.frames_received -= 1
            stats.bytes_received -= len(frame)
        note_drop(stats, peer, reason)

    queue.on_drop = dropped
    return queue


def note_drop(stats: TransportStatistics, peer: PeerId, reason: str) -> None:
    stats.frames_dropped += 1
    stats.dropped_by_reason[reason] = stats.dropped_by_reason.get(reason, 0) + 1
    count_bounded(stats.dropped_by_peer, peer)
