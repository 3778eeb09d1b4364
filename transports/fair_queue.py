"""Queues per sender, drained in turn: one sender's flood costs its own items, not others'.

A `FairQueue` holds one FIFO per key (a peer's id) and hands items out round-robin, one
item per key per turn, so a peer that queued ten thousand tiny frames delays another
peer's next frame by at most one frame of its own. With a `quantum`, turns are measured in
work instead (deficit round-robin): each turn lets a key take items worth up to `quantum`
(an item costs its size plus `item_cost`), carrying what it did not use to its next turn;
a peer of 1 MiB frames then takes one frame every few turns while a peer of small frames
takes many per turn, and no turn costs the consumer more than about one quantum of work.

Each key's queue is bounded in items and in bytes; what does not fit is dropped and
counted, per key and per reason. The whole queue is bounded too: when a new item would
overflow it, the key with the longest queue loses its newest item (or the new item is
dropped when its own key's queue is the longest), so a crowd of senders cannot push out a
quiet one either.

It is a trio receive channel for its consumer (`receive`, `receive_nowait`, `async for`,
ending after `close()` once drained) and synchronous for producers (`offer`); `wait_room`
lets a producer wait for its key's queue to have room (flow control toward the sender).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import trio

__all__ = ["DROP_REASONS", "FairQueue", "FairQueueStatistics", "count_bounded"]

T = TypeVar("T")

DROP_REASONS = ("queue_full", "queue_bytes", "crowded", "evicted", "closed")
"""Why an item was dropped: its key's queue was full (items) or over its byte budget; the
whole queue was full and its own key had the longest queue (the new item is refused), or
another key's did (its newest queued item is evicted for the new one); the queue was
closed. Only "evicted" drops an item that was queued before."""

MAX_TRACKED_KEYS = 1024
"""Per-key drop counts kept for at most this many keys: past it, the half that dropped
least is forgotten (the totals by reason stay exact)."""


@dataclass(slots=True)
class FairQueueStatistics:
    queued: int = 0
    queued_bytes: int = 0
    senders: int = 0                 # keys with something queued
    dropped: int = 0
    dropped_by_reason: dict[str, int] = field(default_factory=dict)
    dropped_by_key: dict[bytes, int] = field(default_factory=dict)


class FairQueue(Generic[T]):
    """Per-key FIFOs under one bound, handed out round-robin. Keys are bytes."""

    def __init__(self, *, per_key_items: int, total_items: int,
                 per_key_bytes: int | None = None, total_bytes: int | None = None,
                 size: Callable[[T], int] | None = None,
                 items_for: Callable[[bytes], int] | None = None,
                 quantum: int | None = None, item_cost: int = 0) -> None:
        """`items_for(key)`, when given, is that key's bound in items instead of
        `per_key_items` (some senders' queues may be shorter than others'). `quantum` and
        `item_cost` turn on deficit round-robin (see the module's doc)."""
        if quantum is not None and quantum < 1:
            raise ValueError("a quantum is at least 1")
        if per_key_items < 1 or total_items < per_key_items:
            raise ValueError("need 1 <= per_key_items <= total_items")
        self.per_key_items = per_key_items
        self._items_for = items_for
        self.total_items = total_items
        self.per_key_bytes = per_key_bytes
        self.total_bytes = total_bytes
        self._size = size or (lambda item: 0)
        self._queues: dict[bytes, deque[tuple[T, int]]] = {}
        self._bytes: dict[bytes, int] = {}
        self._turns: deque[bytes] = deque()  # keys with items, in the order they are served
        self._quantum = quantum
        self._item_cost = item_cost
        self._credit: dict[bytes, int] = {}  # deficit round-robin: work left in a key's turn
        self._turn_open = False              # the key in front has had its quantum this turn
        self._length = 0
        self._length_bytes = 0
        self._closed = False
        self._readable = trio.lowlevel.ParkingLot()
        self._room = trio.lowlevel.ParkingLot()
        self._dropped_by_reason = dict.fromkeys(DROP_REASONS, 0)
        self._dropped_by_key: dict[bytes, int] = {}
        self.on_drop: Callable[[bytes, str, T], None] | None = None

    # --- producers ----------------------------------------------------------------------

    def offer(self, key: bytes, item: T) -> str | None:
        """Queue `item` under `key`; None when queued, else the reason it was dropped."""
        if self._closed:
            return self._drop(key, "closed", item)
        size = self._size(item)
        reason = self._refusal(key, size)
        if reason is not None:
            return self._drop(key, reason, item)
        while self._length >= self.total_items or self._over_total_bytes(size):
            victim = self._longest()
            if victim == key or victim is None:
                return self._drop(key, "crowded", item)
            evicted = self._pop_newest(victim)
            self._drop(victim, "evicted", evicted)
        self._push(key, item, size)
        return None

    def has_room(self, key: bytes, size: int = 0) -> bool:
        """Whether `key`'s own queue would take an item of `size` bytes now."""
        return self._closed or self._refusal(key, size) is None

    async def wait_room(self, key: bytes, size: int = 0) -> None:
        """Return once `key`'s queue has room for an item of `size` bytes (or on close)."""
        while not self.has_room(key, size):
            await self._room.park()

    def close(self) -> None:
        """No more items: queued ones stay readable, then `receive` ends."""
        self._closed = True
        self._readable.unpark_all()
        self._room.unpark_all()

    @property
    def closed(self) -> bool:
        return self._closed

    # --- the consumer -------------------------------------------------------------------

    def receive_nowait(self) -> tuple[bytes, T]:
        if not self._turns:
            if self._closed:
                raise trio.EndOfChannel
            raise trio.WouldBlock
        key = self._next_key()
        queue = self._queues[key]
        item, size = queue.popleft()
        self._length -= 1
        self._length_bytes -= size
        if queue:
            self._bytes[key] -= size
            if self._quantum is None:
                self._turns.rotate(-1)
        else:
            del self._queues[key]
            del self._bytes[key]
            self._credit.pop(key, None)
            self._turns.popleft()
            self._turn_open = False
        self._room.unpark_all()
        return key, item

    def _next_key(self) -> bytes:
        """The key whose item goes next (at the front of `_turns`); spends its credit."""
        if self._quantum is None:
            return self._turns[0]
        while True:
            key = self._turns[0]
            if not self._turn_open:
                self._credit[key] = self._credit.get(key, 0) + self._quantum
                self._turn_open = True
            cost = self._queues[key][0][1] + self._item_cost
            if self._credit[key] >= cost:
                self._credit[key] -= cost
                return key
            self._turns.rotate(-1)  # its turn is over; the credit left waits for the next
            self._turn_open = False

    async def receive(self) -> tuple[bytes, T]:
        await trio.lowlevel.checkpoint_if_cancelled()
        try:
            got = self.receive_nowait()
        except trio.WouldBlock:
            pass
        else:
            await trio.lowlevel.cancel_shielded_checkpoint()
            return got
        while True:
            await self._readable.park()
            try:
                return self.receive_nowait()
            except trio.WouldBlock:
                continue

    def __aiter__(self) -> FairQueue[T]:
        return self

    async def __anext__(self) -> tuple[bytes, T]:
        try:
            return await self.receive()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None

    def __len__(self) -> int:
        return self._length

    def queued(self, key: bytes) -> int:
        queue = self._queues.get(key)
        return len(queue) if queue is not None else 0

    def statistics(self) -> FairQueueStatistics:
        return FairQueueStatistics(
            queued=self._length, queued_bytes=self._length_bytes, senders=len(self._queues),
            dropped=sum(self._dropped_by_reason.values()),
            dropped_by_reason=dict(self._dropped_by_reason),
            dropped_by_key=dict(self._dropped_by_key))

    # --- inside -------------------------------------------------------------------------

    def _refusal(self, key: bytes, size: int) -> str | None:
        queue = self._queues.get(key)
        if queue is None:
            return None  # an empty queue always takes one item, however large
        bound = self.per_key_items if self._items_for is None else self._items_for(key)
        if len(queue) >= bound:
            return "queue_full"
        if self.per_key_bytes is not None and self._bytes[key] + size > self.per_key_bytes:
            return "queue_bytes"
        return None

    def _over_total_bytes(self, size: int) -> bool:
        return (self.total_bytes is not None and self._length > 0
                and self._length_bytes + size > self.total_bytes)

    def _longest(self) -> bytes | None:
        if not self._queues:
            return None
        return max(self._queues, key=lambda k: (len(self._queues[k]), self._bytes[k]))

    def _push(self, key: bytes, item: T, size: int) -> None:
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = deque()
            self._bytes[key] = 0
            self._turns.append(key)
        queue.append((item, size))
        self._bytes[key] += size
        self._length += 1
        self._length_bytes += size
        self._readable.unpark()

    def _pop_newest(self, key: bytes) -> T:
        queue = self._queues[key]
        item, size = queue.pop()
        self._length -= 1
        self._length_bytes -= size
        self._bytes[key] -= size
        if not queue:
            del self._queues[key]
            del self._bytes[key]
            self._credit.pop(key, None)
            if self._turns[0] == key:
                self._turn_open = False
            self._turns.remove(key)
        return item

    def _drop(self, key: bytes, reason: str, item: T) -> str:
        self._dropped_by_reason[reason] += 1
        count_bounded(self._dropped_by_key, key)
        if self.on_drop is not None:
            self.on_drop(key, reason, item)
        return reason


def count_bounded(counts: dict[bytes, int], key: bytes, amount: int = 1) -> None:
    """Add to `key`'s count; past `MAX_TRACKED_KEYS` keys, forget the half with the least."""
    counts[key] = counts.get(key, 0) + amount
    if len(counts) > MAX_TRACKED_KEYS:
        kept = sorted(counts.items(), key=lambda kv: kv[1])[len(counts) // 2:]
        counts.clear()
        counts.update(kept)
