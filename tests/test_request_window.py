"""Requests that expire: every request executes only within a window of seqs up to its
signed horizon, so the client table evicts idle records without timestamp floors.

Same harness as tests/test_replica.py: real Ed25519, the strict codec, durable storage
before sends, four replicas that must agree.
"""

from __future__ import annotations

import hashlib
from typing import Any

from bitcraps.accel._ed25519_cpu import Ed25519Signer
from bitcraps.consensus import (
    OUTCOME_EXPIRED,
    OUTCOME_TABLE_FULL,
    OUTCOME_TOO_EARLY,
    Envelope,
    PrePrepare,
    Reply,
    Request,
)
from bitcraps.consensus._clients import STALE, ClientRecord, ClientTable
from test_replica import Cluster, add, sign

WINDOW = 4


def player(n: int) -> Ed25519Signer:
    return Ed25519Signer(hashlib.sha256(b"window-player-%d" % n).digest())


def _counter(cluster: Cluster, i: int, key: bytes = b"n") -> int:
    return int.from_bytes(cluster.nodes[i].app.get(key) or b"", "big", signed=True)


def _replies(cluster: Cluster, to: bytes) -> list[Reply]:
    return [e.message for node in cluster.nodes for e in node.sent
            if type(e.message) is Reply and e.message.client == to]


def _seq(cluster: Cluster) -> int:
    return cluster.replica(0).last_executed_seq


def _request(cluster: Cluster, who: Ed25519Signer, timestamp: int, op: bytes,
             horizon: int | None = None) -> Envelope[Any]:
    """A request as an honest client signs it: horizon = executed seq it knows + window."""
    if horizon is None:
        horizon = _seq(cluster) + cluster.config.request_window_seqs
    return sign(who, Request(timestamp, op, horizon))


def _execute(cluster: Cluster, request: Envelope[Any]) -> None:
    cluster.inject(0, request)
    cluster.run()


def _advance(cluster: Cluster, seqs: int, first_seed: int = 1000) -> None:
    """Move the table `seqs` seqs on with fresh players' requests, one per batch."""
    for i in range(seqs):
        _execute(cluster, _request(cluster, player(first_seed + i), 1, add(b"other", 1)))


def _advance_as(cluster: Cluster, who: Ed25519Signer, seqs: int, first_ts: int) -> None:
    """Move the table `seqs` seqs on with one client's requests (it keeps its record)."""
    for ts in range(first_ts, first_ts + seqs):
        _execute(cluster, _request(cluster, who, ts, add(b"other", 1)))


def _same_bucket_as(key: bytes, start: int) -> Ed25519Signer:
    """A player whose key starts with the same byte as `key` (the old floors' bucket)."""
    seed = start
    while player(seed).public_key[0] != key[0]:
        seed += 1
    return player(seed)


def test_a_huge_timestamp_then_eviction_blocks_no_other_client() -> None:
    """The floor-poisoning attack: a request at timestamp 2^64-1, its record evicted by a
    fresh key. With per-bucket floors no client of its bucket could ever execute again;
    with expiring requests nothing is left behind."""
    cluster = Cluster(4, clients=0, max_client_records=2, request_window_seqs=WINDOW)
    attacker, regular = player(300), player(301)
    _execute(cluster, _request(cluster, attacker, 2**64 - 1, add(b"n", 1)))
    assert cluster.replica(0).client_timestamp(attacker.public_key) == 2**64 - 1
    _advance_as(cluster, regular, 2 * WINDOW, 1)
    _execute(cluster, _request(cluster, player(302), 1, add(b"other", 1)))  # a fresh key
    for i in range(4):
        assert cluster.replica(i).client_timestamp(attacker.public_key) == 0  # evicted
        assert cluster.replica(i).statistics()["clients_evicted"] == 1
    _advance_as(cluster, regular, 2 * WINDOW, 2 * WINDOW + 1)  # the fresh key goes idle
    victim = _same_bucket_as(attacker.public_key, 400)
    _execute(cluster, _request(cluster, victim, 1, add(b"n", 1)))
    assert {_counter(cluster, i) for i in range(4)} == {2}
    # The attacker itself starts over like anyone: timestamps need not grow past eviction.
    _advance_as(cluster, regular, 2 * WINDOW, 4 * WINDOW + 1)
    _execute(cluster, _request(cluster, attacker, 1, add(b"n", 1)))
    assert {_counter(cluster, i) for i in range(4)} == {3}
    cluster.assert_converged()
    cluster.assert_agreement()


def test_an_evicted_clients_old_requests_never_execute_again() -> None:
    """Exactly-once across eviction: the executed request replayed, and an older one the
    client signed before it but held back, both stay dead once the record is gone."""
    cluster = Cluster(4, clients=0, max_client_records=2, request_window_seqs=WINDOW)
    who, regular = player(310), player(311)
    held = _request(cluster, who, 5, add(b"n", 100))  # signed first, never sent
    _advance_as(cluster, regular, 2, 1)
    executed = _request(cluster, who, 6, add(b"n", 1))
    _execute(cluster, executed)
    assert {_counter(cluster, i) for i in range(4)} == {1}
    _advance_as(cluster, regular, 2 * WINDOW, 3)
    _execute(cluster, _request(cluster, player(312), 1, add(b"other", 1)))  # evicts `who`
    assert all(cluster.replica(i).client_timestamp(who.public_key) == 0 for i in range(4))
    for i in range(4):
        cluster.inject(i, executed)
        cluster.inject(i, held)
    cluster.run()
    cluster.tick(3 * cluster.config.view_change_timeout_ticks)
    for i in range(4):
        assert _counter(cluster, i) == 1
        assert cluster.replica(i).statistics()["requests_expired"] >= 2
        assert cluster.replica(i).view == 0  # nobody timed the dead requests
    # A new request of that player, with a horizon from now, runs as usual.
    _advance_as(cluster, regular, 2 * WINDOW, 2 * WINDOW + 3)
    _execute(cluster, _request(cluster, who, 7, add(b"n", 1)))
    assert {_counter(cluster, i) for i in range(4)} == {2}
    cluster.assert_converged()
    cluster.assert_agreement()


def test_a_horizon_too_far_ahead_is_refused_the_same_everywhere() -> None:
    cluster = Cluster(4, clients=0, request_window_seqs=WINDOW)
    _advance(cluster, 3)
    who = player(320)
    seq = _seq(cluster) + 1
    _execute(cluster, _request(cluster, who, 9, add(b"n", 1), horizon=seq + WINDOW))
    replies = _replies(cluster, who.public_key)
    assert len(replies) == 4
    assert {(r.outcome, r.seq, r.result, r.timestamp) for r in replies} == {
        (OUTCOME_TOO_EARLY, seq, b"", 9)}
    for i in range(4):
        assert _counter(cluster, i) == 0
        assert cluster.replica(i).client_timestamp(who.public_key) == 0
        assert cluster.replica(i).statistics()["requests_refused"] == 1
    # The table was left untouched: the same timestamp with a fair horizon executes.
    _execute(cluster, _request(cluster, who, 9, add(b"n", 1), horizon=seq + WINDOW))
    assert {_counter(cluster, i) for i in range(4)} == {1}
    cluster.assert_converged()


def test_an_expired_request_ordered_late_gets_the_same_expired_outcome_everywhere() -> None:
    """A primary that orders a request after its horizon: every honest replica refuses it
    with the same outcome at the same seq; the rest of the batch executes."""
    cluster = Cluster(4, clients=0, request_window_seqs=WINDOW)
    _advance(cluster, 3)
    cluster.crash(0)  # the test plays the primary
    late, fair = player(330), player(331)
    seq = _seq(cluster) + 1
    batch = (_request(cluster, late, 1, add(b"n", 5), horizon=seq - 1),
             _request(cluster, fair, 1, add(b"n", 1)))
    pre_prepare = sign(cluster.nodes[0].signer, PrePrepare(0, seq, batch))
    for i in (1, 2, 3):
        cluster.inject(i, pre_prepare, source=cluster.nodes[0].signer.public_key)
    cluster.run()
    refusals = [r for r in _replies(cluster, late.public_key)]
    assert len(refusals) == 3
    assert {(r.outcome, r.seq, r.result) for r in refusals} == {(OUTCOME_EXPIRED, seq, b"")}
    for i in (1, 2, 3):
        assert _counter(cluster, i) == 1
        assert cluster.replica(i).client_timestamp(late.public_key) == 0
    cluster.assert_converged([1, 2, 3])


def test_a_table_full_of_active_clients_refuses_newcomers_until_one_goes_idle() -> None:
    cluster = Cluster(4, clients=0, max_client_records=2, request_window_seqs=WINDOW)
    regulars = [player(340), player(341)]
    for regular in regulars:
        _execute(cluster, _request(cluster, regular, 1, add(b"n", 1)))
    newcomer = player(342)
    seq = _seq(cluster) + 1
    _execute(cluster, _request(cluster, newcomer, 1, add(b"n", 100)))
    assert {(r.outcome, r.seq) for r in _replies(cluster, newcomer.public_key)} == {
        (OUTCOME_TABLE_FULL, seq)}
    # A client with a record is never refused for lack of records.
    _execute(cluster, _request(cluster, regulars[0], 2, add(b"n", 1)))
    assert {_counter(cluster, i) for i in range(4)} == {3}
    # Once the other regular's record can no longer matter, the newcomer takes its place.
    for ts in range(3, 3 + WINDOW + 1):
        _execute(cluster, _request(cluster, regulars[0], ts, add(b"other", 1)))
    _execute(cluster, _request(cluster, newcomer, 2, add(b"n", 100)))
    assert {_counter(cluster, i) for i in range(4)} == {103}
    assert all(cluster.replica(i).client_timestamp(regulars[1].public_key) == 0
               for i in range(4))
    cluster.assert_converged()


def test_the_table_is_capped_in_bytes_of_cached_results() -> None:
    table = ClientTable(max_records=100, max_bytes=1000, window_seqs=WINDOW)
    for i in range(3):
        assert table.verdict(b"%032d" % i, 1, 10, 10) == 0
        table.record(b"%032d" % i, ClientRecord(1, b"r" * 300, b"d" * 32, 10, 10))
    assert table.size_bytes == 3 * (300 + 128)
    assert table.verdict(b"%032d" % 9, 1, 10, 10) == OUTCOME_TABLE_FULL
    # Its own record does not count against a known client: it replaces it.
    assert table.verdict(b"%032d" % 0, 2, 10, 10) == 0
    assert table.verdict(b"%032d" % 0, 1, 10, 10) == STALE
    # Once the oldest horizon is a window behind, records make room.
    assert table.verdict(b"%032d" % 9, 1, 14, 14) == 0
    assert len(table) == 2 and table.take_evicted() == 1
    assert ClientTable.from_wire(100, 1000, WINDOW, table.to_wire()).to_wire() == \
        table.to_wire()
