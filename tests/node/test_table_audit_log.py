"""The log an operator reads: one audit line per executed player action and per roll, and no
ERROR when a fellow replica restarts (three real nodes in this process and a real daemon as
the fourth: real libp2p, SQLite, replicas, a craps table with its DKG and coin; the daemon,
the table's primary, killed -9 and started again)."""

from __future__ import annotations

import io
import json
import logging
import shutil
import signal
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
import trio
from prometheus_client import generate_latest

from bitcraps.accel._ed25519_cpu import verify_one
from bitcraps.consensus import SignatureCheck
from bitcraps.node._control import ControlError
from bitcraps.node.config import load_config
from bitcraps.node.daemon import Node, open_node
from bitcraps.node.identity import IDENTITY_FILE, load_identity
from bitcraps.node.logs import configure_logging
from bitcraps.node.process_cluster import Daemon, make_cluster, stop_all


def verify(checks: list[SignatureCheck]) -> list[bool]:
    return [verify_one(*check) for check in checks]


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    context = structlog.contextvars.get_contextvars()
    out = io.StringIO()
    configure_logging("info", None, stream=out)
    try:
        yield out
    finally:
        root.handlers, root.level = handlers, level
        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(**context)


class Running:
    """One node in a task of its own, its log lines stamped with its node id (its tasks
    inherit the context)."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self._stop = trio.Event()
        self._stopped = trio.Event()

    async def start(self, nursery: trio.Nursery) -> Node:
        self._stop, self._stopped = trio.Event(), trio.Event()
        node: Node = await nursery.start(self._run)
        return node

    async def stop(self) -> None:
        self._stop.set()
        await self._stopped.wait()

    async def _run(self, *, task_status: trio.TaskStatus[Node]) -> None:
        config = load_config(self.daemon.data_dir / "node.toml")
        identity = load_identity(self.daemon.data_dir / IDENTITY_FILE)
        structlog.contextvars.bind_contextvars(node_id=identity.node_id)
        try:
            async with open_node(config, identity, verify_batch=verify) as node:
                task_status.started(node)
                await self._stop.wait()
        finally:
            self._stopped.set()


async def until(check: Any) -> None:
    while not check():
        await trio.sleep(0.02)


def lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def metric(node: Node, name: str) -> float:
    text = generate_latest(node.metrics_registry).decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name) and not line.startswith("#"))


async def test_one_audit_line_per_action_and_roll_and_no_error_on_a_restart(
        log_stream: io.StringIO) -> None:
    daemons = make_cluster(4, shared_table=False)
    creator = daemons[0]
    try:
        async with trio.open_nursery() as nursery:
            await trio.to_thread.run_sync(creator.start)
            runs = [Running(daemon) for daemon in daemons[1:]]
            nodes = [await run.start(nursery) for run in runs]
            player = nodes[0]
            with trio.fail_after(90):
                table_id = await trio.to_thread.run_sync(
                    creator.create_table, "--game", "craps", "--replicas", "4",
                    "--min-bet", "5")
                await until(lambda: all(table_id in [t["table_id"] for t in n.tables()]
                                        and n.table_game(table_id)["craps"]["dice"]["ready"]
                                        for n in nodes))
                await player.table_act(table_id, {"action": "join", "buy_in": 500})
                with pytest.raises(ControlError):  # under the table's minimum: refused
                    await player.table_act(table_id, {"action": "bet", "kind": "pass",
                                                      "amount": 1})
                await player.table_act(table_id, {"action": "bet", "kind": "pass",
                                                  "amount": 10})
                await player.table_roll(table_id)

                # The creator (the table's primary) is killed; the others dial it (and fail)
                # while it is away, change view and play on; it starts again and catches up.
                mark = len(lines(log_stream))
                await trio.to_thread.run_sync(creator.kill, signal.SIGKILL)
                await until(lambda: any(
                    e["event"] == "peer not reachable yet" and e["peer"] == creator.node_id
                    and e.get("node_id") == player.node_identity.node_id
                    for e in lines(log_stream)[mark:]))
                await player.table_roll(table_id)
                await trio.to_thread.run_sync(creator.start)
                await player.table_act(table_id, {"action": "bet", "kind": "field",
                                                  "amount": 5})
                await player.table_cash_out(table_id, 100)
            assert metric(player, "bitcraps_view_changes_total") >= 1
            assert metric(player, "bitcraps_rolls_total") == 2
            assert metric(player, "bitcraps_bets_placed_total") == 2
            assert metric(player, "bitcraps_cash_outs_total") == 1
            for run in runs:
                await run.stop()

        logged = lines(log_stream)
        errors = [e for e in logged if e["level"] in ("error", "critical")]
        assert errors == []
        restarted = [json.loads(line) for line in
                     (creator.data_dir / "daemon.log").read_text().splitlines()]
        assert [e for e in restarted if e["level"] in ("error", "critical")] == []
        assert sum(e["event"] == "node ready" for e in restarted) == 2
        assert not [e for e in logged if e["event"] == "duty refused by the table"
                    and e.get("code") == "no_such_roll"]
        me = player.node_identity.node_id
        trail = [e for e in logged if e.get("node_id") == me
                 and e["event"] in ("player action", "player action refused", "dice rolled")]
        assert [(e["event"], e.get("action")) for e in trail] == [
            ("player action", "join"), ("player action refused", "bet"),
            ("player action", "bet"),
            ("player action", "roll_request"), ("dice rolled", None),
            ("player action", "roll_request"), ("dice rolled", None),
            ("player action", "bet"), ("player action", "cashout")]
        assert all(e["table_id"] == table_id and e["seq"] >= 1 for e in trail)
        assert all(e["player"] == me for e in trail if e["event"] == "player action")
        join, refused, bet, _, rolled = trail[:5]
        assert refused["code"] and refused["player"] == me
        assert join["bought_in"] == 500 and join["balance"] == 500 and join["seated"]
        assert bet["bet"] == "pass" and bet["amount"] == 10 and bet["bet_id"] == 1
        assert rolled["shooter"] == me and len(rolled["dice"]) == 2
        assert rolled["total"] == sum(rolled["dice"]) and rolled["roll"] == 0
        assert trail[-1]["cashed_out"] == 100
        # Every replica wrote the same trail (recovered replays are silent, never doubled).
        assert len({e["node_id"] for e in logged if e["event"] == "dice rolled"}) == 3
    finally:
        stop_all(daemons)
        shutil.rmtree(creator.data_dir.parent, ignore_errors=True)
