"""A table's work is supervised: whatever it raises stays inside that table.

The supervisor alone, in virtual time; then four real nodes in one process (real libp2p,
SQLite, replicas and shells) hosting two tables, one of which executes an operation its
application fails on: that table stops on every node and is listed as failed with the
reason, while the nodes stay up and healthy and the other table keeps committing.
"""

from __future__ import annotations

import shutil
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgpack
import pytest
import trio
from prometheus_client import generate_latest

from bitcraps.accel._ed25519_cpu import verify_one
from bitcraps.consensus import (
    ExecutionContext,
    KeyValueApp,
    LocalProtocolError,
    SignatureCheck,
)
from bitcraps.node._control import ControlError
from bitcraps.node.config import load_config
from bitcraps.node.daemon import Node, open_node
from bitcraps.node.identity import IDENTITY_FILE, load_identity
from bitcraps.node.process_cluster import add, make_cluster
from bitcraps.node.table_blocks import new_terms, table_block
from bitcraps.node.table_supervisor import TableSupervisor

if TYPE_CHECKING:
    from trio_typing import TaskStatus


class Log:
    """Records what the supervisor logs (structlog's call shape)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def error(self, event: str, **fields: Any) -> None:
        self.lines.append(("error", event, fields))


def counter() -> tuple[list[tuple[str, str]], Any]:
    counted: list[tuple[str, str]] = []
    return counted, lambda part, outcome: counted.append((part, outcome))


# --- the supervisor ------------------------------------------------------------------------


class DiskFull(Exception):
    """Stands for the node's storage failing: a failure of the node, not of one table."""


async def test_a_node_wide_failure_named_by_the_node_leaves_the_table(
        autojump_clock: Any) -> None:
    log, (counted, count) = Log(), counter()
    supervisor = TableSupervisor(log, count, escalate=(DiskFull,))

    async def writer(*, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await trio.sleep(1)
        async with trio.open_nursery():  # raised inside a nursery: an exception group
            raise DiskFull("no space left on device")

    with pytest.raises(BaseExceptionGroup) as raised:
        async with trio.open_nursery() as node:
            await node.start(supervisor.run)
            await supervisor.start("replica", writer)
    assert raised.group_contains(DiskFull)
    assert counted == [] and log.lines == [] and not supervisor.failed


async def test_our_bug_stops_the_table_not_the_caller(autojump_clock: Any) -> None:
    log, (counted, count) = Log(), counter()
    supervisor = TableSupervisor(log, count)
    other_cancelled = trio.Event()

    async def buggy(*, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await trio.sleep(5)
        async with trio.open_nursery():  # raised inside a nursery: an exception group
            raise LocalProtocolError("executing seq 7 after 5")

    async def steady(*, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        try:
            await trio.sleep_forever()
        finally:
            other_cancelled.set()

    async with trio.open_nursery() as node:
        await node.start(supervisor.run)
        await supervisor.start("replica", buggy)
        await supervisor.start("game", steady)
        node.start_soon(trio.sleep, 100)  # the node's own work goes on meanwhile
    assert supervisor.failed and "executing seq 7 after 5" in (supervisor.failure or "")
    assert supervisor.failure.startswith("replica: LocalProtocolError")  # type: ignore[union-attr]
    assert other_cancelled.is_set()
    assert counted == [("replica", "stopped")] and supervisor.faults == {"replica": 1}
    assert [line[1] for line in log.lines] == ["table stopped: our own bug (LocalProtocolError)"]


async def test_any_other_exception_restarts_the_part_counted_and_logged_once(
        autojump_clock: Any) -> None:
    log, (counted, count) = Log(), counter()
    supervisor = TableSupervisor(log, count, restart_delay_s=1.0, max_restart_delay_s=8.0)
    runs: list[float] = []

    async def flaky(*, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        runs.append(trio.current_time())
        if len(runs) <= 4:
            raise KeyError([[[b"an untrusted value"]]])
        await trio.sleep_forever()

    with trio.move_on_after(60):
        async with trio.open_nursery() as node:
            await node.start(supervisor.run)
            await supervisor.start("game", flaky)
    assert len(runs) == 5 and not supervisor.failed
    gaps = [round(b - a) for a, b in zip(runs, runs[1:], strict=False)]
    assert gaps == [1, 2, 4, 8]
    assert counted == [("game", "restarted")] * 4 and supervisor.restarts == 4
    assert len(log.lines) == 1 and log.lines[0][2]["error"].startswith("KeyError")


async def test_cancellation_still_ends_the_table(autojump_clock: Any) -> None:
    supervisor = TableSupervisor(Log())

    async def forever(*, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await trio.sleep_forever()

    with trio.move_on_after(3) as scope:
        async with trio.open_nursery() as node:
            await node.start(supervisor.run)
            await supervisor.start("replica", forever)
    assert scope.cancelled_caught and not supervisor.failed and supervisor.faults == {}


# --- real nodes ----------------------------------------------------------------------------


POISON = msgpack.packb([b"put", b"poison", b"\x01"])


def _fragile_execute(self: KeyValueApp, operation: bytes, context: ExecutionContext) -> bytes:
    """The key-value store with the bug class the issue found (a RecursionError out of
    execute), on one operation only."""
    if operation == POISON:
        raise RecursionError("maximum recursion depth exceeded while getting the repr")
    return ORIGINAL_EXECUTE(self, operation, context)


ORIGINAL_EXECUTE = KeyValueApp.execute


def verify(checks: list[SignatureCheck]) -> list[bool]:
    return [verify_one(*check) for check in checks]


def metric(node: Node, name: str, **labels: str) -> float:
    text = generate_latest(node.metrics_registry).decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _second_table(daemons: list[Any]) -> str:
    """Give every node of the cluster a second shared kv table; its id."""
    terms = new_terms("kv", [bytes.fromhex(d.node_id) for d in reversed(daemons)])
    block = table_block(terms, {bytes.fromhex(d.node_id): d.multiaddr for d in daemons})
    for daemon in daemons:
        path: Path = daemon.data_dir / "node.toml"
        path.write_text(path.read_text() + "\n" + block)
    return terms.table_id.hex()


async def test_a_table_that_fails_stops_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(KeyValueApp, "execute", _fragile_execute)
    daemons = make_cluster(4)
    poisoned, healthy_table = daemons[0].table_id, _second_table(daemons)
    try:
        async with AsyncExitStack() as stack:
            nodes = []
            for daemon in daemons:
                config = load_config(daemon.data_dir / "node.toml")
                identity = load_identity(daemon.data_dir / IDENTITY_FILE)
                nodes.append(await stack.enter_async_context(
                    open_node(config, identity, verify_batch=verify)))
            with trio.fail_after(60):
                await nodes[1].submit(poisoned, bytes.fromhex(add(b"n")))
                with pytest.raises(ControlError) as stopped:  # its own replica stopped
                    await nodes[1].submit(poisoned, POISON)
                assert stopped.value.status == 503 and "has stopped" in str(stopped.value)
                while any(n.status()["tables_failed"] != 1 for n in nodes):
                    await trio.sleep(0.05)
                for expected in range(1, 6):
                    reply = await nodes[2].submit(healthy_table, bytes.fromhex(add(b"m")))
                    assert msgpack.unpackb(bytes.fromhex(reply["result"])) == [b"ok", expected]
            for node in nodes:
                status = node.status()
                assert status["tables"] == 2 and status["healthy"] is True
                listed = {t["table_id"]: t for t in node.tables()}
                assert listed[healthy_table]["status"] == "running"
                failed = listed[poisoned]
                assert failed["status"] == "failed" and failed["state_digest"] is None
                assert "RecursionError" in failed["failure"] and failed["faults"] == {
                    "replica": 1}
                assert metric(node, "bitcraps_table_faults_total", table=poisoned,
                              part="replica", outcome="stopped") == 1
                assert metric(node, "bitcraps_tables_failed") == 1
    finally:
        shutil.rmtree(daemons[0].data_dir.parent, ignore_errors=True)
