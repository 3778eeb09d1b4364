"""The in-process cluster behaves as a shell must: decode, verify everything, persist first."""

from __future__ import annotations

from collections.abc import Iterator

import msgpack
import pytest

from bitcraps.accel._ed25519_cpu import CpuBatchVerifier
from bitcraps.consensus import Envelope, Request, signing_bytes
from bitcraps.node.local_cluster import LocalCluster


def _op(client: int) -> bytes:
    encoded: bytes = msgpack.packb([b"add", b"counter-%d" % client, 1])
    return encoded


def _run_requests(cluster: LocalCluster, rounds: int) -> None:
    for _ in range(rounds):
        for client in cluster.clients:
            cluster.submit(client.index, _op(client.index))
        assert cluster.run_until(lambda: not any(c.client.busy for c in cluster.clients), 500)
    cluster.settle()


@pytest.fixture
def verifier() -> Iterator[CpuBatchVerifier]:
    pool = CpuBatchVerifier(2)
    yield pool
    pool.close()


@pytest.mark.parametrize("pipelined", [False, True])
def test_requests_commit_and_replicas_agree(verifier: CpuBatchVerifier, pipelined: bool) -> None:
    with LocalCluster(4, 3, verifier=verifier, pipelined=pipelined) as cluster:
        _run_requests(cluster, 5)
        assert all(len(c.completed) == 5 for c in cluster.clients)
        digests = cluster.state_digests()
        assert len(digests) == 4 and len(set(digests.values())) == 1
        assert all(node.log.writes > 0 for node in cluster.replicas)


def test_lockstep_and_pipelined_runs_reach_the_same_state(verifier: CpuBatchVerifier) -> None:
    finals = []
    for pipelined in (False, True):
        with LocalCluster(4, 4, verifier=verifier, pipelined=pipelined) as cluster:
            _run_requests(cluster, 6)
            finals.append(cluster.state_digests()[0])
    assert finals[0] == finals[1]


def test_backups_do_not_verify_a_request_twice(verifier: CpuBatchVerifier) -> None:
    with LocalCluster(4, 2, verifier=verifier) as cluster:
        _run_requests(cluster, 3)
        primary, *backups = cluster.replicas
        # each backup verified each request when the client sent it; the copy inside the
        # primary's pre-prepare was a cache hit
        assert all(node.cache.hits >= 6 for node in backups)
        assert len(primary.cache) > 0


def test_a_forged_request_is_dropped_by_every_replica(verifier: CpuBatchVerifier) -> None:
    with LocalCluster(4, 1, verifier=verifier) as cluster:
        client = cluster.clients[0]
        table = cluster.config.table_id
        request = Request(1, _op(0))
        forged = Envelope(table, client.public_key, request, b"\x01" * 64)
        assert forged.signing_bytes == signing_bytes(table, client.public_key, request)
        for node in cluster.replicas:
            cluster.inject(node.public_key, forged.wire)
            cluster.inject(node.public_key, b"\x93not an envelope")
        cluster.settle()
        for _ in range(60):
            cluster.tick()
            cluster.settle()
        for node in cluster.replicas:
            assert node.rejected == 2 and node.received == 0
            assert node.live().statistics()["requests_executed"] == 0


def test_a_crashed_replica_restarts_from_its_log_and_catches_up(
    verifier: CpuBatchVerifier,
) -> None:
    with LocalCluster(4, 2, verifier=verifier, checkpoint_interval_seqs=2,
                      log_window_seqs=8) as cluster:
        _run_requests(cluster, 3)
        cluster.crash(3)
        assert [n.index for n in cluster.live_replicas()] == [0, 1, 2]
        _run_requests(cluster, 6)
        cluster.restart(3)
        _run_requests(cluster, 2)

        def caught_up() -> bool:
            seqs = {n.live().last_executed_seq for n in cluster.live_replicas()}
            return len(seqs) == 1

        assert cluster.run_until(caught_up, 500)
        digests = cluster.state_digests()
        assert len(digests) == 4 and len(set(digests.values())) == 1
