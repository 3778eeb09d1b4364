"""The per-sender queue under the transports' and the table shells' inboxes: turns, bounds
per sender and in all, who loses what when full, and the channel's end."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from bitcraps.transports.fair_queue import FairQueue

A, B, C = b"a" * 32, b"b" * 32, b"c" * 32


def drain(queue: FairQueue[bytes]) -> list[tuple[bytes, bytes]]:
    out = []
    while True:
        try:
            out.append(queue.receive_nowait())
        except trio.WouldBlock:
            return out


def test_senders_take_turns_one_item_each() -> None:
    queue: FairQueue[bytes] = FairQueue(per_key_items=100, total_items=1000)
    for i in range(50):
        assert queue.offer(A, b"a%d" % i) is None
    queue.offer(B, b"b0")
    queue.offer(B, b"b1")
    queue.offer(C, b"c0")
    got = drain(queue)
    assert [item for _, item in got[:7]] == [b"a0", b"b0", b"c0", b"a1", b"b1", b"a2", b"a3"]
    assert [item for key, item in got if key == A] == [b"a%d" % i for i in range(50)]
    assert len(queue) == 0 and queue.statistics().senders == 0


def test_each_sender_is_bounded_in_items_and_bytes() -> None:
    queue: FairQueue[bytes] = FairQueue(per_key_items=3, total_items=100, per_key_bytes=10,
                                        size=len)
    assert [queue.offer(A, b"x") for _ in range(4)] == [None, None, None, "queue_full"]
    assert queue.offer(B, b"y" * 50) is None  # an empty queue takes one item, however large
    assert queue.offer(B, b"y") == "queue_bytes"
    assert queue.offer(C, b"z" * 6) is None
    assert queue.offer(C, b"z" * 5) == "queue_bytes"
    stats = queue.statistics()
    assert stats.dropped == 3
    assert stats.dropped_by_key == {A: 1, B: 1, C: 1}
    assert stats.dropped_by_reason["queue_full"] == 1
    assert stats.dropped_by_reason["queue_bytes"] == 2
    assert stats.queued == 5 and stats.queued_bytes == 3 + 50 + 6


def test_when_full_the_longest_queue_loses_its_newest() -> None:
    queue: FairQueue[bytes] = FairQueue(per_key_items=8, total_items=8)
    evicted: list[tuple[bytes, str, bytes]] = []
    queue.on_drop = lambda key, reason, item: evicted.append((key, reason, item))
    for i in range(8):
        queue.offer(A, b"a%d" % i)
    assert queue.offer(B, b"b0") is None
    assert evicted == [(A, "evicted", b"a7")]
    for i in range(1, 4):
        queue.offer(B, b"b%d" % i)
    assert queue.queued(A) == 4 and queue.queued(B) == 4
    assert queue.offer(A, b"late") == "crowded"  # A's queue is (one of) the longest
    assert len(queue) == 8
    assert [item for key, item in drain(queue) if key == A] == [b"a0", b"a1", b"a2", b"a3"]


def test_total_bytes_bound_evicts_from_the_biggest() -> None:
    queue: FairQueue[bytes] = FairQueue(per_key_items=100, total_items=100, per_key_bytes=100,
                                        total_bytes=100, size=len)
    for _ in range(10):
        queue.offer(A, b"x" * 10)
    assert queue.offer(B, b"y" * 30) is None
    stats = queue.statistics()
    assert stats.queued_bytes <= 100 and stats.dropped_by_reason["evicted"] == 3
    assert queue.queued(A) == 7 and queue.queued(B) == 1


async def test_receive_waits_then_ends_after_close() -> None:
    queue: FairQueue[bytes] = FairQueue(per_key_items=4, total_items=8)
    got: list[tuple[bytes, bytes]] = []

    async def consume() -> None:
        async for item in queue:
            got.append(item)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(consume)
        await trio.testing.wait_all_tasks_blocked()
        queue.offer(A, b"1")
        queue.offer(B, b"2")
        await trio.testing.wait_all_tasks_blocked()
        assert got == [(A, b"1"), (B, b"2")]
        queue.offer(A, b"3")
        queue.close()
    assert got[-1] == (A, b"3")
    assert queue.offer(A, b"late") == "closed"
    with pytest.raises(trio.EndOfChannel):
        queue.receive_nowait()


async def test_wait_room_returns_once_that_sender_has_room() -> None:
    queue: FairQueue[bytes] = FairQueue(per_key_items=1, total_items=4)
    queue.offer(A, b"1")
    queue.offer(B, b"1")
    assert not queue.has_room(A)
    woke = trio.Event()

    async def wait() -> None:
        await queue.wait_room(A)
        woke.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(wait)
        await trio.testing.wait_all_tasks_blocked()
        assert queue.receive_nowait() == (A, b"1")
        await trio.testing.wait_all_tasks_blocked()
        assert woke.is_set()


def test_with_a_quantum_turns_are_measured_in_work() -> None:
    """Deficit round-robin: a sender of big items takes fewer per turn, and what a turn
    did not use carries over, so in the long run each sender gets the same work."""
    queue: FairQueue[bytes] = FairQueue(per_key_items=100, total_items=1000, size=len,
                                        quantum=2000, item_cost=100)
    for _ in range(10):
        queue.offer(A, b"a" * 1400)
        queue.offer(B, b"b" * 10)
    order = [key for key, _ in drain(queue)]
    assert order[:12] == [A] + [B] * 10 + [A]  # 1,500 per A item; B's ten cost 1,100
    assert order.count(A) == 10 and order.count(B) == 10
    served = {A: 0, B: 0}
    for key in order[:12]:
        served[key] += 1
    assert served[A] * 1500 <= 2 * 2000  # two turns of A: at most two quanta of work
