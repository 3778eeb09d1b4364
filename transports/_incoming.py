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

TURN_BYTES = 64 * 1024
FRAME_COST_BYTES = 512
"""Peers take turns by work, not by frames (`FairQueue`'s deficit round-robin): a turn is
`TURN_BYTES`, a frame costs its length plus `FRAME_COST_BYTES` (the fixed part of decoding
and routing it). Measured on the node's decoder: a valid 930 KB PrePrepare of 4,096
requests decodes in ~27 ms, so one frame per turn from a peer of such frames would hold
every other peer to one frame per 27 ms; by work, such a peer takes one frame every ~15
turns and a turn costs the loop ~2 ms, while a peer of small frames takes ~100 per turn."""


def incoming_queue(stats: TransportStatistics, *, per_peer_frames: int,
                   total_frames: int | None = None, per_peer_bytes: int | None = None,
                   total_bytes: int | None = None) -> FairQueue[bytes]:
    """The queue, with every drop (and eviction of a queued frame) counted in `stats`."""
    for reason in (*DROP_REASONS, *BACKEND_DROP_REASONS):
        stats.dropped_by_reason.setdefault(reason, 0)
    queue: FairQueue[bytes] = FairQueue(
        per_key_items=per_peer_frames,
        total_items=total_frames or per_peer_frames * DEFAULT_TOTAL_FRAMES_FACTOR,
        per_key_bytes=per_peer_bytes, total_bytes=total_bytes, size=len,
        quantum=TURN_BYTES, item_cost=FRAME_COST_BYTES)

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
