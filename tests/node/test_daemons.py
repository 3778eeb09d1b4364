"""Four real daemons host one table over libp2p on loopback; one is killed -9 and recovers."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import msgpack
import pytest

from bitcraps.node.process_cluster import Daemon, add, make_cluster, stop_all


@pytest.fixture
def cluster() -> Iterator[list[Daemon]]:
    daemons = make_cluster(4)
    try:
        for daemon in daemons:
            daemon.start()
        yield daemons
    finally:
        stop_all(daemons)


def commit(daemon: Daemon, key: bytes) -> int:
    reply = daemon.api.post(f"/v1/tables/{daemon.table_id}/requests", {"operation": add(key)})
    status, total = msgpack.unpackb(bytes.fromhex(reply["result"]))
    assert status == b"ok"
    return int(total)


def wait_caught_up(lagging: Daemon, leader: Daemon, timeout_s: float = 60.0) -> None:
    """Bounded wait on the daemons' own state, read through their control APIs."""
    deadline = time.monotonic() + timeout_s
    while True:
        target = leader.table()["last_executed_seq"]
        if lagging.table()["last_executed_seq"] >= target:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"replica {lagging.index} stayed behind:\n{lagging.log_tail()}")
        time.sleep(0.05)


def test_four_daemons_commit_survive_kill_9_and_converge(cluster: list[Daemon]) -> None:
    entry, victim = cluster[0], cluster[2]
    for expected in range(1, 21):
        assert commit(entry, b"chips") == expected
    assert victim.kill(signal.SIGKILL) == -signal.SIGKILL
    for expected in range(21, 61):
        assert commit(entry, b"chips") == expected
    victim.start()
    for expected in range(61, 71):
        assert commit(entry, b"chips") == expected
    wait_caught_up(victim, entry)
    tables = [daemon.table() for daemon in cluster]
    assert len({t["state_digest"] for t in tables}) == 1, tables
    assert {t["last_executed_seq"] for t in tables} == {tables[0]["last_executed_seq"]}
    assert commit(victim, b"chips") == 71


def test_four_daemons_commit_over_quic() -> None:
    daemons = make_cluster(4, quic=True)
    try:
        for daemon in daemons:
            daemon.start()
        assert all("/quic-v1/" in a for a in daemons[0].api.get("/v1/identity")["addresses"])
        for expected in range(1, 11):
            assert commit(daemons[expected % 4], b"quic") == expected
        wait_caught_up(daemons[3], daemons[0])
        assert len({daemon.table()["state_digest"] for daemon in daemons}) == 1
    finally:
        stop_all(daemons)


def test_sigterm_drains_and_exits_zero(cluster: list[Daemon]) -> None:
    entry = cluster[1]
    assert commit(entry, b"t") == 1
    daemon = cluster[3]
    assert daemon.notify is not None
    assert daemon.kill(signal.SIGTERM) == 0


def test_sighup_reloads_what_may_change_and_survives_a_broken_file() -> None:
    [daemon] = make_cluster(1)
    try:
        daemon.start()
        path = daemon.data_dir / "node.toml"
        original = path.read_text()
        path.write_text(original.replace('log_level = "info"', 'log_level = "debug"')
                        .replace("tick_ms = 10", "tick_ms = 20"))
        assert daemon.process is not None
        daemon.process.send_signal(signal.SIGHUP)
        daemon.wait_notify("RELOADING=1")
        daemon.wait_notify("READY=1")
        config = daemon.api.get("/v1/config")
        assert config["node"]["log_level"] == "debug"
        assert config["consensus"]["tick_ms"] == 10, "tick_ms needs a restart"
        path.write_text("this is [not toml")
        daemon.process.send_signal(signal.SIGHUP)
        daemon.wait_notify("RELOADING=1")
        daemon.wait_notify("READY=1")
        assert daemon.api.get("/v1/status")["healthy"] is True
        assert daemon.api.get("/v1/config")["node"]["log_level"] == "debug"
        assert "configuration not reloaded" in daemon.log_tail(200)
        assert daemon.kill(signal.SIGTERM) == 0
    finally:
        stop_all([daemon])


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs",
                             str(path)], capture_output=True)
    return result.returncode == 0


def test_a_full_disk_stops_one_daemon_cleanly_and_loses_nothing() -> None:
    daemons = make_cluster(4)
    full = daemons[3]
    tables = full.data_dir / "tables"
    if not _mount_tmpfs(tables, "160k"):
        stop_all(daemons)
        pytest.skip("mounting a small tmpfs is not permitted here")
    try:
        for daemon in daemons:
            daemon.start()
        entry = daemons[0]
        committed = 0
        while full.process is not None and full.process.poll() is None and committed < 2000:
            committed = commit(entry, b"disk")
        assert full.process is not None
        # 1: a node that fails after READY=1 may be restarted (2 is for a start refused)
        assert full.process.wait(timeout=30) == 1, full.log_tail()
        last_line = full.log_tail(1)
        assert last_line.startswith("bitcraps: error: storage failed, node stopped:"), last_line
        assert "full" in last_line and "Traceback" not in full.log_tail(400)
        full.process = None
        for _ in range(10):
            committed = commit(entry, b"disk")
        subprocess.run(["mount", "-o", "remount,size=64m", str(tables)], check=True)
        full.start()
        committed = commit(entry, b"disk")
        wait_caught_up(full, entry)
        assert full.table()["state_digest"] == entry.table()["state_digest"]
        assert commit(full, b"disk") == committed + 1
    finally:
        stop_all(daemons)
        subprocess.run(["umount", "-l", str(tables)], capture_output=True)
