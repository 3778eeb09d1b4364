"""Four table shells whose frames travel as bytes through one in-process router; replies to
a shell's client-pool keys go to that shell, as the node's reply routes do."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import trio

from bitcraps.accel._ed25519_cpu import Ed25519Signer, verify_one
from bitcraps.consensus import (
    Application,
    DurableLog,
    KeyValueApp,
    Replica,
    ReplicaConfig,
    SignatureCheck,
)
from bitcraps.node.client_stamps import ClientStamps
from bitcraps.node.request_ledger import RequestLedger
from bitcraps.node.table_shell import TableShell, inline_offload

TICK_SECONDS = 0.01


def verify(checks: Sequence[SignatureCheck]) -> list[bool]:
    return [verify_one(*check) for check in checks]


def pool_signers(count: int, tag: bytes = b"pool") -> list[Ed25519Signer]:
    return [Ed25519Signer(hashlib.sha256(tag + b"%d" % i).digest()) for i in range(count)]


class Table:
    """`start(i)` runs shell i; `kill(i)` stops it at once, keeping only its durable log."""

    def __init__(self, nursery: trio.Nursery, n: int = 4, offload: Any = inline_offload,
                 app_factory: Callable[[ReplicaConfig], Application] | None = None) -> None:
        self.nursery = nursery
        self.offload = offload
        self.signers = [Ed25519Signer(hashlib.sha256(b"shell%d" % i).digest()) for i in range(n)]
        self.config = ReplicaConfig(
            b"S" * 16, tuple(s.public_key for s in self.signers),
            checkpoint_interval_seqs=4, log_window_seqs=8, view_change_timeout_ticks=20,
        )
        self.app_factory = app_factory or (lambda config: KeyValueApp())
        self.logs = [DurableLog() for _ in range(n)]
        self.apps: list[Any] = [self.app_factory(self.config) for _ in range(n)]
        self.shells: list[TableShell | None] = [None] * n
        self.scopes: list[trio.CancelScope | None] = [None] * n
        self.frames: list[tuple[int, int]] = []
        self.homes: dict[bytes, int] = {}  # client-pool key -> the shell it belongs to

    def sender(self, index: int) -> Callable[[bytes, bytes], Any]:
        async def send_frame(peer: bytes, frame: bytes) -> None:
            target = self.homes.get(peer)
            if target is None:
                target = self.config.replicas.index(peer)
            shell = self.shells[target]
            if shell is not None:
                self.frames.append((index, target))
                shell.deliver_frame(self.signers[index].public_key, frame)
        return send_frame

    async def start(self, index: int, recover: bool = False, *,
                    client_pool: Sequence[Ed25519Signer] = (),
                    client_stamps: ClientStamps | None = None,
                    clock_us: Callable[[], int] | None = None,
                    request_ledger: RequestLedger | None = None) -> TableShell:
        app = self.app_factory(self.config)
        self.homes.update((pool_signer.public_key, index) for pool_signer in client_pool)
        self.apps[index] = app
        signer = self.signers[index]
        if recover:
            replica = Replica.recover(self.config, app, signer, self.logs[index].records())
        else:
            replica = Replica(self.config, app, signer)
        clock = {} if clock_us is None else {"clock_us": clock_us}
        shell = TableShell(config=self.config, replica=replica, storage=self.logs[index],
                           signer=signer, verify_batch=verify, send_frame=self.sender(index),
                           tick_seconds=TICK_SECONDS, offload=self.offload,
                           client_pool=client_pool, client_stamps=client_stamps,
                           request_ledger=request_ledger, **clock)
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
