"""The systemd watchdog reflects this node's own liveness, never its tables' progress.

A node whose fellow replicas are all down cannot commit, yet it is healthy: it keeps sending
WATCHDOG=1 (a real daemon, its NOTIFY_SOCKET read by the test). A node whose durable write
is stuck is not: it stops (an in-process node whose table's SQLite store is held by the test
while a request waits to be persisted)."""

from __future__ import annotations

import shutil
import socket
import threading
from pathlib import Path

import pytest
import trio

from bitcraps.accel._ed25519_cpu import verify_one
from bitcraps.consensus import SignatureCheck
from bitcraps.node.api_client import ApiClient
from bitcraps.node.config import load_config
from bitcraps.node.daemon import open_node
from bitcraps.node.identity import IDENTITY_FILE, load_identity
from bitcraps.node.process_cluster import add, make_cluster, stop_all, wait_until
from bitcraps.node.systemd import Notifier

WATCHDOG = "WATCHDOG=1"


def verify(checks: list[SignatureCheck]) -> list[bool]:
    return [verify_one(*check) for check in checks]


def test_a_node_whose_fellow_replicas_are_down_keeps_the_watchdog_fed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    daemons = make_cluster(4)
    lonely = daemons[0]
    config = lonely.data_dir / "node.toml"
    # A table stalls after 20 view-change timeouts without progress: 20 * 5 * 10 ms = 1 s.
    config.write_text(config.read_text().replace("view_change_timeout_ticks = 50",
                                                 "view_change_timeout_ticks = 5"))
    monkeypatch.setenv("WATCHDOG_USEC", "1000000")  # a ping every 0.5 s
    try:
        lonely.start()  # the only replica of four: nothing can commit
        threading.Thread(target=_submit_quietly, args=(lonely.data_dir, lonely.table_id),
                         daemon=True).start()
        wait_until("the table stalls on its pending request",
                   lambda: lonely.api.get("/v1/status")["tables_stalled"] == 1, timeout_s=30)
        lonely.ready_timeout_s = 5.0  # a ping is due every 0.5 s
        for _ in range(4):  # before the fix: none once the table had stalled
            lonely.wait_notify(WATCHDOG)
        status = lonely.api.get("/v1/status")
        assert status["healthy"] is True and status["tables_stalled"] == 1
    finally:
        stop_all(daemons)
        shutil.rmtree(lonely.data_dir.parent, ignore_errors=True)


def _submit_quietly(data_dir: Path, table_id: str) -> None:
    try:
        ApiClient(data_dir).post(f"/v1/tables/{table_id}/requests",
                                 {"operation": add(b"stalled")})
    except Exception:  # it cannot commit; the daemon's answer does not matter here
        pass


async def test_a_node_whose_storage_write_is_stuck_stops_the_watchdog(
        monkeypatch: pytest.MonkeyPatch) -> None:
    [daemon] = make_cluster(1)  # a one-replica table commits on its own
    notify_path = str(daemon.data_dir / "notify.sock")
    monkeypatch.setenv("WATCHDOG_USEC", "200000")  # a ping every 0.1 s
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(notify_path)
        notify.setblocking(False)
        try:
            config = load_config(daemon.data_dir / "node.toml")
            identity = load_identity(daemon.data_dir / IDENTITY_FILE)
            async with open_node(config, identity, verify_batch=verify,
                                 notifier=Notifier(notify_path),
                                 liveness_stall_s=0.5) as node, trio.open_nursery() as tasks:
                with trio.fail_after(10):
                    await node.submit(daemon.table_id, bytes.fromhex(add(b"k")))
                    await _next_ping(notify)  # fed while the node is well
                table = next(iter(node.tables_by_id.values()))
                store_lock = table.storage._lock  # the SQLite store's own lock: writes wait
                store_lock.acquire()
                try:
                    tasks.start_soon(node.submit, daemon.table_id, bytes.fromhex(add(b"k")))
                    with trio.fail_after(10):
                        while node.liveness.oldest_write_s() <= 0.5:
                            await trio.sleep(0.05)
                    _drain(notify)
                    await trio.sleep(1.0)  # ten ping intervals
                    assert WATCHDOG not in _drain(notify)
                    assert not node.healthy()
                    assert "durable write" in str(node.status()["liveness_problem"])
                finally:
                    store_lock.release()
                with trio.fail_after(10):
                    await _next_ping(notify)  # the write went through: fed again
                assert node.healthy()
                tasks.cancel_scope.cancel()
        finally:
            shutil.rmtree(daemon.data_dir.parent, ignore_errors=True)


def _drain(notify: socket.socket) -> list[str]:
    fields: list[str] = []
    while True:
        try:
            fields.extend(notify.recv(4096).decode().split("\n"))
        except BlockingIOError:
            return fields


async def _next_ping(notify: socket.socket) -> None:
    while WATCHDOG not in _drain(notify):
        await trio.sleep(0.02)

