"""`bitcraps table create`: four daemons with no table form one over libp2p and play on it."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator

import msgpack
import pytest

from bitcraps.node._cli_errors import CliError
from bitcraps.node.process_cluster import (
    BITCRAPS,
    Daemon,
    add,
    make_cluster,
    stop_all,
    wait_until,
)


@pytest.fixture
def peers() -> Iterator[list[Daemon]]:
    daemons = make_cluster(4, shared_table=False)
    try:
        for daemon in daemons:
            daemon.start()
        yield daemons
    finally:
        stop_all(daemons)


def bitcraps(daemon: Daemon, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BITCRAPS, *args, "--data-dir", str(daemon.data_dir)],
                          capture_output=True, text=True, timeout=90)


def commit(daemon: Daemon, table_id: str, key: bytes) -> int:
    reply = daemon.api.post(f"/v1/tables/{table_id}/requests", {"operation": add(key)})
    status, total = msgpack.unpackb(bytes.fromhex(reply["result"]))
    assert status == b"ok"
    return int(total)


def test_create_forms_a_table_that_commits_survives_kill_9_and_converges(
        peers: list[Daemon]) -> None:
    creator = peers[0]
    created = bitcraps(creator, "table", "create", "--game", "kv", "--replicas", "4", "--json")
    assert created.returncode == 0, created.stderr
    table = json.loads(created.stdout)
    table_id = table["table_id"]
    assert sorted(table["replicas"]) == sorted(d.node_id for d in peers)
    assert table["replica_index"] == 0

    for daemon in peers:
        assert daemon.table(table_id)["game"] == "kv"
    for expected in range(1, 11):
        assert commit(peers[expected % 4], table_id, b"chips") == expected

    # Every node hears the table in the lobby and lists it with `bitcraps tables`.
    def listed_everywhere() -> bool:
        for daemon in peers:
            shown = json.loads(bitcraps(daemon, "tables", "--json").stdout)
            if table_id not in {entry["table_id"] for entry in shown["lobby"]}:
                return False
        return True

    wait_until("the lobby to list the new table", listed_everywhere)

    victim = peers[2]
    assert victim.kill(signal.SIGKILL) == -signal.SIGKILL
    for expected in range(11, 31):
        assert commit(creator, table_id, b"chips") == expected
    victim.start()  # reopens the table from its stored charter
    assert commit(creator, table_id, b"chips") == 31

    def converged() -> bool:
        tables = [daemon.table(table_id) for daemon in peers]
        return (len({t["state_digest"] for t in tables}) == 1
                and len({t["last_executed_seq"] for t in tables}) == 1)

    wait_until("the restarted replica to converge", converged, 60.0)
    assert commit(victim, table_id, b"chips") == 32


def test_create_refuses_what_it_cannot_form(peers: list[Daemon]) -> None:
    too_many = bitcraps(peers[0], "table", "create", "--game", "kv", "--replicas", "7")
    assert too_many.returncode == 2
    assert too_many.stderr.startswith("bitcraps: error: ")
    assert "found 4 of 7 replicas" in too_many.stderr
    assert "Traceback" not in too_many.stderr

    unknown = bitcraps(peers[0], "table", "create", "--game", "roulette", "--replicas", "4")
    assert unknown.returncode == 2
    assert "invalid choice: 'roulette'" in unknown.stderr
    with pytest.raises(CliError, match="unknown game 'roulette'"):  # the daemon's own check
        peers[0].api.post("/v1/tables", {"game": "roulette", "replicas": 4})

    # The refused attempt left no table and no held offer behind: four replicas still form.
    formed = bitcraps(peers[1], "table", "create", "--game", "kv", "--replicas", "4", "--json")
    assert formed.returncode == 0, formed.stderr
    assert all(len(d.api.get("/v1/tables")["tables"]) == 1 for d in peers)

    # A node whose operator turned hosting off is asked, refuses, and says why.
    turned_off = bitcraps(peers[3], "config", "set", "node.host_tables", "false")
    assert turned_off.returncode == 0, turned_off.stderr
    refused = bitcraps(peers[0], "table", "create", "--game", "kv", "--replicas", "4")
    assert refused.returncode == 2
    assert "found 3 of 4 replicas" in refused.stderr
    assert "does not host tables" in refused.stderr
