"""An event-queue network in virtual time: delay, drop, duplicate, reorder and partition.

Messages travel as bytes between endpoints (small integers). Each send draws its fate from
the simulator's generator: dropped, delivered once, or delivered twice, each copy after its
own random delay, so reordering falls out of the delays. A partition cuts a group of
endpoints off from everyone else during a window of ticks; a message crossing the cut is
lost whether it was sent or due during the window. A restriction (used for Twins) limits an
endpoint to a fixed set of peers for the whole run. A frame over the transports' limit
(1 MiB) is dropped and counted, as a real transport does; the runner reports one from an
honest node as a violation.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field

from .._frame_bounds import FRAME_LIMIT_BYTES
from ._rng import Rng


@dataclass(frozen=True, slots=True)
class LinkFaults:
    """How links misbehave: per-message probabilities and the delay distribution.

    A delay is uniform in [min_delay_ticks, max_delay_ticks]; with `tail_probability` it is
    instead uniform in (max_delay_ticks, tail_delay_ticks], a straggler that overtakes nothing
    but is overtaken by everything sent after it.
    """

    drop_probability: float = 0.0
    duplicate_probability: float = 0.0
    min_delay_ticks: int = 1
    max_delay_ticks: int = 1
    tail_probability: float = 0.0
    tail_delay_ticks: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.min_delay_ticks <= self.max_delay_ticks:
            raise ValueError("need 1 <= min_delay_ticks <= max_delay_ticks")
        for name in ("drop_probability", "duplicate_probability", "tail_probability"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1)")
        if self.tail_probability and self.tail_delay_ticks <= self.max_delay_ticks:
            raise ValueError("tail_delay_ticks must exceed max_delay_ticks")

    def delay(self, rng: Rng) -> int:
        if self.tail_probability and rng.chance(self.tail_probability):
            return rng.randint(self.max_delay_ticks + 1, self.tail_delay_ticks)
        return rng.randint(self.min_delay_ticks, self.max_delay_ticks)


RELIABLE = LinkFaults(min_delay_ticks=1, max_delay_ticks=2)


@dataclass(frozen=True, slots=True)
class Partition:
    """`group` cannot talk to the other endpoints from start_tick until end_tick (exclusive)."""

    start_tick: int
    end_tick: int
    group: frozenset[int]

    def cuts(self, a: int, b: int, tick: int) -> bool:
        return self.start_tick <= tick < self.end_tick and ((a in self.group) != (b in self.group))


@dataclass(frozen=True, slots=True)
class Delivery:
    src: int
    dst: int
    data: bytes


@dataclass
class NetworkStats:
    sent: int = 0
    delivered: int = 0
    dropped: int = 0
    duplicated: int = 0
    cut: int = 0
    oversized: int = 0
    largest_frame: int = 0
    max_in_flight: int = 0


@dataclass
class Network:
    """Links between endpoints; faulty until `faults_end_tick`, then `reliable`."""

    rng: Rng
    faults: LinkFaults
    faults_end_tick: int
    partitions: tuple[Partition, ...] = ()
    reliable: LinkFaults = RELIABLE
    max_frame_bytes: int = FRAME_LIMIT_BYTES
    stats: NetworkStats = field(default_factory=NetworkStats)
    _queue: list[tuple[int, int, Delivery]] = field(default_factory=list)
    _counter: int = 0
    _restricted: dict[int, frozenset[int]] = field(default_factory=dict)

    def restrict(self, endpoint: int, peers: Iterable[int]) -> None:
        """From now on `endpoint` exchanges messages only with `peers`."""
        self._restricted[endpoint] = frozenset(peers)

    def connected(self, a: int, b: int, tick: int) -> bool:
        for end, other in ((a, b), (b, a)):
            peers = self._restricted.get(end)
            if peers is not None and other not in peers:
                return False
        return not any(p.cuts(a, b, tick) for p in self.partitions)

    def send(self, src: int, dst: int, data: bytes, now: int) -> None:
        self.stats.sent += 1
        self.stats.largest_frame = max(self.stats.largest_frame, len(data))
        if len(data) > self.max_frame_bytes:
            self.stats.oversized += 1
            return
        if not self.connected(src, dst, now):
            self.stats.cut += 1
            return
        link = self.faults if now < self.faults_end_tick else self.reliable
        if link.drop_probability and self.rng.chance(link.drop_probability):
            self.stats.dropped += 1
            return
        copies = 1
        if link.duplicate_probability and self.rng.chance(link.duplicate_probability):
            copies = 2
            self.stats.duplicated += 1
        for _ in range(copies):
            self._counter += 1
            due = now + link.delay(self.rng)
            heapq.heappush(self._queue, (due, self._counter, Delivery(src, dst, data)))
        self.stats.max_in_flight = max(self.stats.max_in_flight, len(self._queue))

    def due(self, now: int) -> list[Delivery]:
        """Every message due at or before `now`, in (due tick, send order)."""
        out = []
        queue = self._queue
        while queue and queue[0][0] <= now:
            _, _, delivery = heapq.heappop(queue)
            if self.connected(delivery.src, delivery.dst, now):
                out.append(delivery)
                self.stats.delivered += 1
            else:
                self.stats.cut += 1
        return out

    def in_flight(self) -> int:
        return len(self._queue)
