"""Four real daemons host one table over libp2p on loopback; one is killed -9 and recovers."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import msgpack
import pytest

from bitcraps.node.process_cluster import TABLE_ID, Daemon, add, make_cluster, stop_all


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
    reply = daemon.api.post(f"/v1/tables/{TABLE_ID}/requests", {"operation": add(key)})
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
