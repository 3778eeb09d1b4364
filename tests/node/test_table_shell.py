"""The trio shell drives real replicas: persist before send, batch verification, restarts."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import msgpack
import pytest
import trio

from bitcraps.accel._ed25519_cpu import Ed25519Signer, verify_one
from bitcraps.consensus import DurableLog, KeyValueApp, Replica, ReplicaConfig, SignatureCheck
from bitcraps.node.table_shell import SubmitError, TableShell, inline_offload, thread_offload

TICK_SECONDS = 0.01


def verify(checks: list[SignatureCheck]) -> list[bool]:
    return [verify_one(*check) for check in checks]


class Table:
    """Four shells whose frames travel as bytes through one in-process router."""

    def __init__(self, nursery: trio.Nursery, n: int = 4, offload=inline_offload) -> None:
        self.nursery = nursery
        self.offload = offload
        self.signers = [Ed25519Signer(hashlib.sha256(b"shell%d" % i).digest()) for i in range(n)]
        self.config = ReplicaConfig(
            b"S" * 16, tuple(s.public_key for s in self.signers),
            checkpoint_interval_seqs=4, log_window_seqs=8, view_change_timeout_ticks=20,
        )
        self.logs = [DurableLog() for _ in range(n)]
        self.apps: list[KeyValueApp] = [KeyValueApp() for _ in range(n)]
        self.shells: list[TableShell | None] = [None] * n
        self.scopes: list[trio.CancelScope | None] = [None] * n
        self.frames: list[tuple[int, int]] = []

    def sender(self, index: int) -> Callable[[bytes, bytes], object]:
        async def send_frame(peer: bytes, frame: bytes) -> None:
            target = self.config.replicas.index(peer)
            shell = self.shells[target]
            if shell is not None:
                self.frames.append((index, target))
                shell.deliver_frame(self.signers[index].public_key, frame)
        return send_frame

    async def start(self, index: int, recover: bool = False) -> TableShell:
        app = KeyValueApp()
        self.apps[index] = app
        signer = self.signers[index]
        if recover:
            replica = Replica.recover(self.config, app, signer, self.logs[index].records())
        else:
            replica = Replica(self.config, app, signer)
        shell = TableShell(config=self.config, replica=replica, storage=self.logs[index],
                           signer=signer, verify_batch=verify, send_frame=self.sender(index),
                           tick_seconds=TICK_SECONDS, offload=self.offload)
        scope = trio.CancelScope()

        async def run(task_status: trio.TaskStatus[None]) -> None:
            with scope:
                await shell.run(task_status=task_status)

        await self.nursery.start(run)
        self.shells[index], self.scopes[index] = shell, scope
        return shell

    def kill(self, index: int) -> None:
        """Like kill -9: the task dies at once; only its durable log survives."""
        scope = self.scopes[index]
        assert scope is not None
        scope.cancel()
        self.shells[index] = None


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
