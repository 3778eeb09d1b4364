"""A table of one replica (`[[tables]]` with one key, `table create --replicas 1`) works: a
request through the API commits, and an application bug while executing it stops that
table through its supervisor, never reaching the API caller (one real node in process:
real libp2p, SQLite, replica and shell).

In a one-replica table our own replica's reply is the only one: it must reach the pooled
client key it is addressed to, which no peer routes back to us; and the request executes
as soon as it is proposed, which happens in the table's loop, not in the caller's task.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgpack
import pytest
import trio
from shell_table import Table

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

POISON = msgpack.packb([b"put", b"poison", b"\x01"])
ORIGINAL_EXECUTE = KeyValueApp.execute


def _fragile_execute(self: KeyValueApp, operation: bytes, context: ExecutionContext) -> bytes:
    """The key-value store with an application bug on one operation only."""
    if operation == POISON:
        raise RecursionError("maximum recursion depth exceeded")
    return ORIGINAL_EXECUTE(self, operation, context)


def verify(checks: list[SignatureCheck]) -> list[bool]:
    return [verify_one(*check) for check in checks]


@asynccontextmanager
async def one_node(*, shared_table: bool) -> AsyncIterator[tuple[Node, str]]:
    """One node; with `shared_table`, hosting a kv table whose only replica it is."""
    [daemon] = make_cluster(1, shared_table=shared_table)
    try:
        config = load_config(daemon.data_dir / "node.toml")
        identity = load_identity(daemon.data_dir / IDENTITY_FILE)
        async with open_node(config, identity, verify_batch=verify) as node:
            yield node, daemon.table_id
    finally:
        shutil.rmtree(daemon.data_dir.parent, ignore_errors=True)


def counted(reply: dict[str, Any]) -> Any:
    return msgpack.unpackb(bytes.fromhex(reply["result"]))


async def test_a_one_replica_table_commits_through_the_api() -> None:
    async with one_node(shared_table=True) as (node, table_id):
        with trio.fail_after(10):  # a request commits at once; before the fix: never
            for expected in range(1, 4):
                assert counted(await node.submit(table_id, bytes.fromhex(add(b"k")))) == [
                    b"ok", expected]
            results = await node.submit_many(table_id, [bytes.fromhex(add(b"m"))] * 5)
        assert sorted(msgpack.unpackb(bytes.fromhex(r["result"]))[1] for r in results) == [
            1, 2, 3, 4, 5]
        assert node.tables()[0]["last_executed_seq"] >= 4


async def test_table_create_with_one_replica_makes_a_table_that_commits() -> None:
    async with one_node(shared_table=False) as (node, _):
        with trio.fail_after(10):
            created = await node.create_table("kv", 1)
            assert counted(await node.submit(created["table_id"],
                                             bytes.fromhex(add(b"k")))) == [b"ok", 1]


async def test_an_application_bug_in_a_one_replica_table_stops_it_not_the_caller(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(KeyValueApp, "execute", _fragile_execute)
    async with one_node(shared_table=True) as (node, table_id):
        with trio.fail_after(10):  # a 503 at once, not the request's 30 s timeout
            await node.submit(table_id, bytes.fromhex(add(b"k")))
            with pytest.raises(ControlError) as raised:
                await node.submit(table_id, POISON)
            # The supervisor stopped the table: every later call hears why, at once.
            with pytest.raises(ControlError) as again:
                await node.submit(table_id, bytes.fromhex(add(b"k")))
            with pytest.raises(ControlError) as game:  # a game call: the same answer
                await node.table_roll(table_id)
        for error in (raised.value, again.value, game.value):
            assert error.status == 503
            assert str(error).startswith(f"table {table_id} has stopped: replica: ")
            assert "RecursionError" in str(error)
        assert node.table_game(table_id)["status"] == "failed"  # its listing still answers
        [listed] = node.tables()
        assert listed["status"] == "failed" and listed["faults"] == {"replica": 1}
        # The table's own task met the bug (not a later input to a replica stopped by a
        # caller's call): the reason is the application's error itself.
        assert listed["failure"].startswith(
            "replica: LocalProtocolError: the application raised RecursionError")
        assert node.healthy() and node.status()["tables_failed"] == 1



class FragileApp(KeyValueApp):
    def execute(self, operation: bytes, context: ExecutionContext) -> bytes:
        return _fragile_execute(self, operation, context)


async def test_the_shell_proposes_in_its_loop_so_the_bug_is_the_loops(
        autojump_clock: trio.abc.Clock) -> None:
    """The caller only queues its request: the table's loop proposes it, so the bug it
    executes into is raised by the loop (its supervisor's part), not by the caller."""
    queued = False
    with pytest.raises(BaseExceptionGroup) as raised:
        async with trio.open_nursery() as nursery:
            table = Table(nursery, n=1, app_factory=lambda config: FragileApp())
            shell = await table.start(0)
            await shell.send_request(POISON, None, trio.current_time() + 5)
            queued = shell.replica.failure is None  # nothing ran in our task
            await trio.sleep(5)
    assert queued
    assert raised.group_contains(LocalProtocolError, depth=None)
    assert shell.replica.failure is not None and "RecursionError" in shell.replica.failure
