"""The trio shell drives real replicas: persist before send, batch verification, restarts."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial
from pathlib import Path

import msgpack
import pytest
import trio
from shell_table import TICK_SECONDS, Table, pool_signers, verify

from bitcraps.consensus import OUTCOME_EXPIRED, DurableLog, Replica, Request, decode_envelope
from bitcraps.node.client_stamps import MemoryStamps, StampFile
from bitcraps.node.table_clients import RequestNotExecuted
from bitcraps.node.table_shell import (
    ClientsBusy,
    OutcomeUnknown,
    SubmitError,
    TableShell,
    inline_offload,
    thread_offload,
)


def add(key: bytes) -> bytes:
    return msgpack.packb([b"add", key, 1])


async def test_shells_commit_and_a_killed_replica_catches_up(
        autojump_clock: trio.abc.Clock) -> None:
    async with trio.open_nursery() as nursery:
        table = Table(nursery)
        for i in range(4):
            await table.start(i)
        client = table.shells[0]
        assert client is not None
        for expected in range(1, 11):
            _, result = await client.submit(add(b"x"))
            assert msgpack.unpackb(result) == [b"ok", expected]
        table.kill(3)
        for expected in range(11, 31):
            _, result = await client.submit(add(b"x"))
            assert msgpack.unpackb(result) == [b"ok", expected]
        restarted = await table.start(3, recover=True)
        for _ in range(31, 41):
            await client.submit(add(b"x"))
        with trio.fail_after(30):
            while restarted.replica.last_executed_seq < client.replica.last_executed_seq:
                await restarted.wait_progress()
        digests = {shell.replica.state_digest() for shell in table.shells if shell is not None}
        assert len(digests) == 1
        assert table.apps[3].get(b"x") == (40).to_bytes(8, "big", signed=True)
        nursery.cancel_scope.cancel()


async def test_persist_happens_before_any_send(autojump_clock: trio.abc.Clock) -> None:
    """Every vote a shell sends is already in its durable log when the frame leaves."""
    async with trio.open_nursery() as nursery:
        table = Table(nursery)
        seen_unpersisted: list[bytes] = []
        for i in range(4):
            inner = table.sender(i)
            log = table.logs[i]

            async def checked(peer: bytes, frame: bytes, inner=inner, log=log) -> None:
                from bitcraps.consensus import OwnMessage, decode_envelope
                envelope = decode_envelope(frame)
                kind = type(envelope.message).__name__
                if kind in ("Prepare", "Commit", "PrePrepare"):
                    own = {r.envelope.wire for r in log.records() if isinstance(r, OwnMessage)}
                    if frame not in own and envelope.message.seq > 4:
                        seen_unpersisted.append(frame)
                await inner(peer, frame)

            shell_signer = table.signers[i]
            replica = Replica(table.config, table.apps[i], shell_signer)
            shell = TableShell(config=table.config, replica=replica, storage=log,
                               signer=shell_signer, verify_batch=verify, send_frame=checked,
                               tick_seconds=TICK_SECONDS, offload=inline_offload)
            await nursery.start(shell.run)
            table.shells[i] = shell
        shell0 = table.shells[0]
        assert shell0 is not None
        for _ in range(6):
            await shell0.submit(add(b"y"))
        assert seen_unpersisted == []
        nursery.cancel_scope.cancel()


async def test_forged_and_garbage_frames_are_counted_and_dropped(
        autojump_clock: trio.abc.Clock) -> None:
    async with trio.open_nursery() as nursery:
        table = Table(nursery)
        for i in range(4):
            await table.start(i)
        shell1 = table.shells[1]
        shell0 = table.shells[0]
        assert shell1 is not None and shell0 is not None
        assert not shell1.deliver_frame(b"\x01" * 32, b"\xc1garbage")
        await shell0.submit(add(b"z"))
        honest = shell1.replica.last_executed_seq
        from bitcraps.consensus import Envelope, Prepare
        forged = Envelope(table.config.table_id, table.signers[2].public_key,
                          Prepare(0, honest + 1, b"\x00" * 32), b"\x00" * 64)
        shell1.deliver(table.signers[2].public_key, forged)
        await shell0.submit(add(b"z"))
        assert shell1.stats.decode_errors == 1
        assert shell1.stats.bad_signatures == 1
        nursery.cancel_scope.cancel()


async def test_submit_times_out_without_a_quorum(autojump_clock: trio.abc.Clock) -> None:
    async with trio.open_nursery() as nursery:
        table = Table(nursery)
        for i in range(4):
            await table.start(i)
        table.kill(1)
        table.kill(2)
        shell0 = table.shells[0]
        assert shell0 is not None
        with pytest.raises(SubmitError):
            await shell0.submit(add(b"q"), timeout_seconds=2.0)
        nursery.cancel_scope.cancel()


async def test_threads_verify_and_persist_off_the_trio_thread() -> None:
    """The daemon's configuration: real clock, storage and big batches on worker threads."""
    async with trio.open_nursery() as nursery:
        table = Table(nursery, offload=thread_offload(trio.CapacityLimiter(2)))
        for i in range(4):
            await table.start(i)
        shell0 = table.shells[0]
        assert shell0 is not None
        with trio.fail_after(20):
            async with trio.open_nursery() as burst:
                for n in range(8):
                    burst.start_soon(shell0.submit, add(b"k%d" % n))
        digests = {shell.replica.state_digest() for shell in table.shells if shell is not None}
        assert len(digests) == 1
        assert shell0.replica.last_executed_seq >= 1
        nursery.cancel_scope.cancel()


# --- this node's clients: timeouts, busy clients, timestamps ---------------------------------


async def test_a_timed_out_request_stays_outstanding_and_completes_later(
        autojump_clock: trio.abc.Clock) -> None:
    """A caller that gave up learns the outcome is unknown; the request is retransmitted
    until it commits, and the client takes nothing new meanwhile (cleanly refused, never a
    LocalProtocolError)."""
    async with trio.open_nursery() as nursery:
        table = Table(nursery)
        for i in range(4):
            await table.start(i)
        table.kill(1)
        table.kill(2)
        shell0 = table.shells[0]
        assert shell0 is not None
        with pytest.raises(OutcomeUnknown) as unknown:
            await shell0.submit(add(b"q"), timeout_seconds=2.0)
        pending = unknown.value.pending
        with pytest.raises(ClientsBusy):
            await shell0.submit(add(b"q"), timeout_seconds=2.0)
        assert pending.completed is None
        await table.start(1, recover=True)
        await table.start(2, recover=True)
        with trio.fail_after(60):
            completed = await pending.wait(60)
        assert msgpack.unpackb(completed.result) == [b"ok", 1]
        _, result = await shell0.submit(add(b"q"), timeout_seconds=10.0)
        assert msgpack.unpackb(result) == [b"ok", 2]  # the first ran once, the second once
        nursery.cancel_scope.cancel()


async def test_a_waiting_request_goes_out_once_the_busy_client_completes(
        autojump_clock: trio.abc.Clock) -> None:
    async with trio.open_nursery() as nursery:
        table = Table(nursery)
        for i in range(4):
            await table.start(i)
        table.kill(1)
        table.kill(2)
        shell0 = table.shells[0]
        assert shell0 is not None
        with pytest.raises(OutcomeUnknown):
            await shell0.submit(add(b"w"), timeout_seconds=2.0)
        results: list[bytes] = []
        answered = trio.Event()

        async def second() -> None:
            results.append((await shell0.submit(add(b"w"), timeout_seconds=120.0))[1])
            answered.set()

        nursery.start_soon(second)
        await trio.sleep(5)
        assert not results
        await table.start(1, recover=True)
        await table.start(2, recover=True)
        with trio.fail_after(120):
            await answered.wait()
        assert msgpack.unpackb(results[0]) == [b"ok", 2]
        nursery.cancel_scope.cancel()


async def test_a_busy_pooled_client_is_not_handed_out_again(
        autojump_clock: trio.abc.Clock) -> None:
    async with trio.open_nursery() as nursery:
        table = Table(nursery)
        pool = pool_signers(2)
        shell0 = await table.start(0, client_pool=pool)
        for i in range(1, 4):
            await table.start(i)
        table.kill(1)
        table.kill(2)
        abandoned = []
        for _ in range(2):
            with pytest.raises(OutcomeUnknown) as unknown:
                await shell0.submit(add(b"p"), timeout_seconds=2.0, pooled=True)
            abandoned.append(unknown.value.pending)
        with pytest.raises(ClientsBusy, match="all 2 of this node's client keys"):
            await shell0.submit(add(b"p"), timeout_seconds=2.0, pooled=True)
        await table.start(1, recover=True)
        await table.start(2, recover=True)
        with trio.fail_after(60):
            done = [await pending.wait(60) for pending in abandoned]
        assert sorted(msgpack.unpackb(c.result)[1] for c in done) == [1, 2]
        _, result = await shell0.submit(add(b"p"), timeout_seconds=10.0, pooled=True)
        assert msgpack.unpackb(result) == [b"ok", 3]
        nursery.cancel_scope.cancel()


def virtual_wall_clock(start_us: int, rate: int = 1) -> Callable[[], int]:
    """A wall clock in microseconds that follows trio's (virtual) clock from `start_us`,
    `rate` times as fast."""
    origin = trio.current_time()
    return lambda: start_us + int((trio.current_time() - origin) * 1_000_000 * rate)


HOUR_US = 3600 * 1_000_000
NOW_US = 1_750_000_000 * 1_000_000


async def test_a_restart_with_the_clock_set_back_commits_at_once(
        autojump_clock: trio.abc.Clock) -> None:
    """The client keys are the same in every run; their timestamps must not restart from a
    clock that went back, or replicas silently ignore every request (no stamp file here:
    the replica's own client table says where each client stopped)."""
    async with trio.open_nursery() as nursery:
        table = Table(nursery)
        pool = pool_signers(2)
        await table.start(0, client_pool=pool, clock_us=virtual_wall_clock(NOW_US))
        for i in range(1, 4):
            await table.start(i)
        shell0 = table.shells[0]
        assert shell0 is not None
        for _ in range(2):
            await shell0.submit(add(b"c"), pooled=True)
        await shell0.submit(add(b"c"))
        table.kill(0)
        shell0 = await table.start(0, recover=True, client_pool=pool,
                                   clock_us=virtual_wall_clock(NOW_US - HOUR_US))
        for key in [table.signers[0].public_key, *(s.public_key for s in pool)]:
            assert shell0.replica.client_timestamp(key) > NOW_US - HOUR_US
        _, result = await shell0.submit(add(b"c"), timeout_seconds=1.0)
        assert msgpack.unpackb(result) == [b"ok", 4]
        for expected in (5, 6):
            _, result = await shell0.submit(add(b"c"), timeout_seconds=1.0, pooled=True)
            assert msgpack.unpackb(result) == [b"ok", expected]
        nursery.cancel_scope.cancel()


async def test_the_stamp_file_keeps_timestamps_ahead_of_a_replica_that_forgot(
        autojump_clock: trio.abc.Clock, tmp_path: Path) -> None:
    """A node whose replica does not know its clients' last requests (its log lost, or
    behind) still never reuses a timestamp: the durable ceiling is ahead of every one sent,
    reserved a block at a time, not a write per request."""
    path = tmp_path / "table.client-stamps"
    async with trio.open_nursery() as nursery:
        table = Table(nursery)
        stamps = StampFile(path)
        await table.start(0, client_stamps=stamps, clock_us=virtual_wall_clock(NOW_US))
        for i in range(1, 4):
            await table.start(i)
        shell0 = table.shells[0]
        assert shell0 is not None
        for _ in range(10):
            await shell0.submit(add(b"s"))
        assert stamps.reservations == 1 and StampFile(path).ceiling == stamps.ceiling
        table.kill(0)
        table.logs[0] = DurableLog()  # its replica starts from nothing and catches up
        shell0 = await table.start(0, client_stamps=StampFile(path),
                                   clock_us=virtual_wall_clock(NOW_US - HOUR_US))
        assert shell0.replica.client_timestamp(table.signers[0].public_key) == 0
        _, result = await shell0.submit(add(b"s"), timeout_seconds=1.0)
        assert msgpack.unpackb(result) == [b"ok", 11]
        nursery.cancel_scope.cancel()


async def test_no_request_leaves_at_or_above_the_durable_ceiling(
        autojump_clock: trio.abc.Clock) -> None:
    async with trio.open_nursery() as nursery:
        table = Table(nursery)
        stamps = MemoryStamps()
        leaving: list[tuple[int, int]] = []
        inner = table.sender(0)

        async def watched(peer: bytes, frame: bytes) -> None:
            envelope = decode_envelope(frame)
            if type(envelope.message) is Request:
                leaving.append((envelope.message.timestamp, stamps.ceiling))
            await inner(peer, frame)

        table.sender = lambda index: watched if index == 0 else Table.sender(table, index)
        clock_us = virtual_wall_clock(NOW_US, rate=100)
        await table.start(0, client_pool=pool_signers(3), client_stamps=stamps,
                          clock_us=clock_us)
        for i in range(1, 4):
            await table.start(i)
        shell0 = table.shells[0]
        assert shell0 is not None
        for _ in range(3):
            async with trio.open_nursery() as burst:
                for _ in range(4):
                    burst.start_soon(partial(shell0.submit, add(b"m"), pooled=True))
            await trio.sleep(0.9)  # 90 s by the wall clock: past the reserved block
        assert len(leaving) >= 12
        assert all(timestamp < ceiling for timestamp, ceiling in leaving)
        assert 2 <= stamps.reservations <= 5
        nursery.cancel_scope.cancel()


async def test_a_client_numbers_above_what_the_replica_executed_for_it_since_start(
        autojump_clock: trio.abc.Clock) -> None:
    """The replica's record for one of our keys can rise after we started (the same key used
    from a restored copy of this node elsewhere): each
    request numbers above it as of its sending, or the replicas would ignore it."""
    async with trio.open_nursery() as nursery:
        table = Table(nursery)
        shared = pool_signers(1)
        shell0 = await table.start(0, client_pool=shared, clock_us=virtual_wall_clock(NOW_US))
        shell1 = await table.start(1, client_pool=shared,
                                   clock_us=virtual_wall_clock(NOW_US + HOUR_US))
        for i in range(2, 4):
            await table.start(i)
        key = shared[0].public_key
        table.homes[key] = 1
        _, result = await shell1.submit(add(b"k"), timeout_seconds=1.0, pooled=True)
        assert msgpack.unpackb(result) == [b"ok", 1]
        assert shell0.replica.client_timestamp(key) >= NOW_US + HOUR_US
        table.homes[key] = 0
        _, result = await shell0.submit(add(b"k"), timeout_seconds=1.0, pooled=True)
        assert msgpack.unpackb(result) == [b"ok", 2]
        nursery.cancel_scope.cancel()


async def test_a_request_the_table_executed_past_ends_as_not_executed(
        autojump_clock: trio.abc.Clock) -> None:
    """Our request never reaches the other replicas (a link that loses it) while the table
    runs past its horizon: our replica shows it did not execute, so the caller learns that
    for certain (never "outcome unknown"), and nobody timed it into a view change."""
    async with trio.open_nursery() as nursery:
        table = Table(nursery)
        table.config = dataclasses.replace(table.config, request_window_seqs=4,
                                           view_change_timeout_ticks=400)
        for i in range(4):
            await table.start(i)
        shell0, shell3 = table.shells[0], table.shells[3]
        assert shell0 is not None and shell3 is not None
        lost_key = table.signers[3].public_key
        original = table.sender(3)

        async def loses_its_own_requests(peer: bytes, frame: bytes) -> None:
            envelope = decode_envelope(frame)
            if type(envelope.message) is Request and envelope.sender == lost_key:
                return
            await original(peer, frame)

        shell3._send_frame = loses_its_own_requests
        pending = await shell3.send_request(add(b"lost"), None, trio.current_time() + 1)
        for _ in range(6):
            await shell0.submit(add(b"other"), timeout_seconds=5.0)
        with pytest.raises(RequestNotExecuted, match="expired") as ended:
            await pending.wait(10.0)
        assert ended.value.ended.reason == OUTCOME_EXPIRED
        assert all(app.get(b"lost") is None for app in table.apps)
        assert shell3.replica.statistics()["requests_expired"] >= 1
        await trio.sleep(5)
        assert {shell.replica.view for shell in table.shells if shell is not None} == {0}
        assert not shell3.replica.changing_view
        shell3._send_frame = original
        _, result = await shell3.submit(add(b"lost"), timeout_seconds=5.0)
        assert msgpack.unpackb(result) == [b"ok", 1]
        nursery.cancel_scope.cancel()
