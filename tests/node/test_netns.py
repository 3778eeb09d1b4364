"""Four daemons on four private hosts: each in its own network namespace with its own address
on a bridge, talking libp2p over TCP between the hosts. They know each other only as bootstrap
peers; one forms a table with `bitcraps table create`. The table commits, survives a kill -9
of one replica and then a partition of another host, and all four converge.

The test process stays in the host namespace: it reaches each daemon's control API over its
Unix socket and hears READY=1 on its NOTIFY_SOCKET, both filesystem paths.
"""

from __future__ import annotations

import shutil
import signal
import time
from collections.abc import Iterator
from typing import Any

import msgpack
import pytest
from netns import SUBNET, Network, namespaces, veth_network

from bitcraps.node.process_cluster import Daemon, add, make_cluster, stop_all


@pytest.fixture
def network() -> Iterator[Network]:
    with veth_network(4) as network:
        yield network
    left = [name for name in namespaces() if name.startswith(f"{network.prefix}-")]
    assert not left, f"namespaces left behind: {left}"


@pytest.fixture
def hosts(network: Network) -> Iterator[list[Daemon]]:
    daemons = make_cluster(4, hosts=network.addresses,
                           command_prefixes=[network.exec_prefix(i) for i in range(4)],
                           shared_table=False)
    try:
        for daemon in daemons:  # all four start at once; each is waited for
            daemon.launch()
        for daemon in daemons:
            daemon.wait_notify("READY=1")
        table_id = daemons[0].create_table("--game", "kv", "--replicas", "4")
        for daemon in daemons:
            daemon.table_id = table_id
        yield daemons
    finally:
        stop_all(daemons)
        shutil.rmtree(daemons[0].data_dir.parent, ignore_errors=True)


def commit(daemon: Daemon, key: bytes) -> int:
    reply = daemon.api.post(f"/v1/tables/{daemon.table_id}/requests", {"operation": add(key)})
    status, total = msgpack.unpackb(bytes.fromhex(reply["result"]))
    assert status == b"ok"
    return int(total)


def wait_for(what: str, check: Any, daemons: list[Daemon], timeout_s: float = 20.0) -> None:
    """Bounded polling of the daemons' own state, read through their control APIs."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            tables = [d.table() for d in daemons]
            logs = "\n".join(f"--- daemon {d.index}\n{d.log_tail(15)}" for d in daemons)
            raise AssertionError(f"{what} did not happen in {timeout_s} s: {tables}\n{logs}")
        time.sleep(0.05)


def seqs(daemons: list[Daemon]) -> list[int]:
    return [d.table()["last_executed_seq"] for d in daemons]


def converged(daemons: list[Daemon]) -> bool:
    tables = [d.table() for d in daemons]
    return (len({t["state_digest"] for t in tables}) == 1
            and len({t["last_executed_seq"] for t in tables}) == 1)


def test_four_hosts_commit_survive_kill_9_and_partitions_and_converge(
        network: Network, hosts: list[Daemon]) -> None:
    # Each daemon listens on its own host's address, and the peers it dialed are the others'.
    for i, daemon in enumerate(hosts):
        addresses = daemon.api.get("/v1/identity")["addresses"]
        assert [a.partition("/p2p/")[0] for a in addresses] == [daemon.multiaddr], addresses
        assert daemon.host == network.addresses[i]
    entry, victim, cut = hosts[0], hosts[2], hosts[3]
    assert entry.table()["primary"] == entry.table()["replica_index"] == 0
    committed = 0

    def commit_more(daemon: Daemon, count: int) -> None:
        nonlocal committed
        for _ in range(count):
            committed += 1
            assert commit(daemon, b"chips") == committed

    commit_more(entry, 20)
    wait_for("all four executing", lambda: converged(hosts), hosts)
    for daemon in hosts:
        peers = daemon.api.get("/v1/peers")["peers"]
        connected = [p for p in peers if p["connected"] and p["peer"] != daemon.node_id]
        assert len(connected) == 3, peers
        assert all(a.startswith(f"/ip4/{SUBNET}.") for p in connected for a in p["addresses"])

    # One replica is killed -9: the other three commit on (f = 1), then it comes back.
    assert victim.kill(signal.SIGKILL) == -signal.SIGKILL
    commit_more(entry, 20)
    victim.start()
    commit_more(entry, 5)
    wait_for("the restarted replica catching up", lambda: converged(hosts), hosts)

    # A backup's host loses its link for longer than the log window (32 seqs): the other
    # three commit on; it cannot follow, and after the heal it catches up from a checkpoint.
    before = cut.table()["last_executed_seq"]
    network.partition(cut.index)
    commit_more(entry, 40)
    assert cut.table()["last_executed_seq"] == before, "the partitioned host kept executing"
    assert cut.api.get("/v1/status")["node_id"] == cut.node_id  # its API still answers
    network.heal(cut.index)
    commit_more(entry, 5)
    wait_for("the healed backup converging", lambda: converged(hosts), hosts)

    # The primary's host loses its link: the others change view and commit on without it.
    other = hosts[1]
    before = entry.table()["last_executed_seq"]
    network.partition(entry.index)
    commit_more(other, 20)
    assert other.table()["view"] >= 1 and other.table()["primary"] != 0
    assert entry.table()["last_executed_seq"] == before, "the partitioned primary executed"
    network.heal(entry.index)
    commit_more(other, 5)
    wait_for("the old primary converging", lambda: converged(hosts), hosts)

    # Nothing committed was lost, and every host serves the table again.
    for daemon in hosts:
        commit_more(daemon, 1)
    wait_for("all four converging", lambda: converged(hosts), hosts)
    assert committed == 119
    # PBFT guarantees a quorum working in one view, not all four: a replica that asked alone
    # for a later view waits there (it may not go back) and keeps up by state transfer, as
    # the equal digests above show; f+1 such replicas would pull the others along.
    views = [d.table()["view"] for d in hosts]
    assert max(views.count(view) for view in views) >= 3, views
