"""What a replica spends stays bounded whatever clients and peers do.

State transfer of any size in frames under the transports' 1 MiB limit (checked chunk by
chunk, so a lying replica cannot slip a bad one in); a client table with a cap that keeps
exactly-once; cached replies only for the very request that executed; replays of a client's
last request answered at most once per interval. Same harness as tests/test_replica.py: real
Ed25519, the strict codec, durable storage before sends.
"""

from __future__ import annotations

from typing import Any

import pytest

from bitcraps.accel._ed25519_cpu import Ed25519Signer
from bitcraps.consensus import (
    MAX_MESSAGE_BYTES,
    STATE_CHUNK_BYTES,
    ByzantineDetected,
    Checkpoint,
    Envelope,
    FetchChunk,
    LocalProtocolError,
    Reply,
    Request,
    StableCheckpoint,
    StateChunk,
    StateManifest,
    StateReply,
    StateTransferred,
)
from bitcraps.consensus._messages import MAX_REPLICAS, MAX_STATE_CHUNKS
from test_replica import (
    FRAME_LIMIT_BYTES,
    Cluster,
    add,
    put,
    sign,
    signer,
)


def _counter(cluster: Cluster, i: int, key: bytes = b"n") -> int:
    return int.from_bytes(cluster.nodes[i].app.get(key) or b"", "big", signed=True)


def _replies(cluster: Cluster, to: bytes) -> list[Envelope[Any]]:
    return [e for node in cluster.nodes for e in node.sent
            if type(e.message) is Reply and e.message.client == to]


def _stable_snapshot_bytes(cluster: Cluster, i: int) -> int:
    (record,) = [r for r in cluster.nodes[i].log.records() if isinstance(r, StableCheckpoint)]
    return len(record.snapshot)


# --- state transfer of any size ---------------------------------------------------------------


def test_thousands_of_client_records_come_back_by_state_transfer_in_small_frames() -> None:
    """3,200 clients' records and values make a snapshot over 1 MiB; a replica that missed all of
    it catches up through frames that all stay under the 1 MiB limit (a StateReply carrying
    the snapshot whole would be dropped by the transport, and it would never catch up)."""
    cluster = Cluster(4, clients=0, max_client_records=10_000, max_pending_new_clients=10_000)
    cluster.crash(3)
    players = [Ed25519Signer(b"p" + i.to_bytes(31, "big")) for i in range(3200)]
    for i, player in enumerate(players):
        cluster.inject(0, sign(player, Request(1, put(b"k%d" % i, b"v" * 300))))
    cluster.run()
    assert cluster.replica(0).statistics()["requests_executed"] == 3200
    assert cluster.replica(0).stable_checkpoint_seq >= 12
    assert _stable_snapshot_bytes(cluster, 0) > FRAME_LIMIT_BYTES

    cluster.restart(3)
    lagging = cluster.nodes[3]
    leader = cluster.replica(0)
    cluster.until(lambda: lagging.replica.last_executed_seq == leader.last_executed_seq)
    assert lagging.of(StateTransferred)
    assert lagging.app.get(b"k3199") == b"v" * 300
    cluster.assert_converged()
    assert cluster.oversized == 0
    assert cluster.largest_frame < FRAME_LIMIT_BYTES // 2, cluster.largest_frame
    chunks = [e for node in cluster.nodes for e in node.sent if type(e.message) is StateChunk]
    assert len(chunks) >= 5
    assert len({e.sender for e in chunks}) >= 2, "chunks come from several replicas"
    assert lagging.replica.statistics()["chunks_fetched"] == len(
        {e.message.index for e in chunks})
    # The caught-up replica takes part: a new client's request commits with it in the quorum.
    cluster.crash(2)
    cluster.inject(0, sign(signer(200), Request(1, put(b"late", b"1"))))
    cluster.until(lambda: lagging.app.get(b"late") == b"1")
    cluster.assert_converged([0, 1, 3])


def test_a_bad_chunk_from_a_lying_replica_is_caught_and_fetched_again() -> None:
    cluster = Cluster(4, clients=1)
    cluster.crash(3)
    for i in range(12):
        cluster.submit(0, put(b"k%d" % i, bytes([i]) * 60_000))
        cluster.until(lambda i=i: len(cluster.done(0)) == i + 1)
    cluster.until(lambda: cluster.replica(0).stable_checkpoint_seq >= 12)
    assert _stable_snapshot_bytes(cluster, 0) > 2 * STATE_CHUNK_BYTES
    liar = cluster.nodes[1].signer
    forged = []

    def corrupt_liars_chunks(source: bytes, dest: bytes, envelope: Envelope[Any]) -> bool:
        message = envelope.message
        if type(message) is StateChunk and source == liar.public_key and not forged:
            bad = StateChunk(message.checkpoint_seq, message.index, b"\x00" * len(message.data))
            forged.append(bad)
            cluster.inject(3, sign(liar, bad), source=liar.public_key)
            return True
        return False

    cluster.drop = corrupt_liars_chunks
    cluster.restart(3)
    lagging = cluster.nodes[3]
    cluster.until(lambda: lagging.replica.last_executed_seq == cluster.replica(0).last_executed_seq)
    assert forged
    (caught,) = lagging.of(ByzantineDetected)
    assert caught.replica == 1 and "does not match" in caught.reason
    assert lagging.app.get(b"k11") == bytes([11]) * 60_000
    cluster.assert_converged()
    assert cluster.oversized == 0


def test_the_largest_state_transfer_messages_fit_a_frame() -> None:
    """Whatever the state: a full chunk, and a manifest for the largest snapshot with the
    largest checkpoint proof, encode far below 1 MiB (the suffix has its own byte budget)."""
    key, table = b"s" * 32, b"t" * 16
    chunk = Envelope(table, key, StateChunk(2**64 - 1, MAX_STATE_CHUNKS - 1,
                                            b"c" * STATE_CHUNK_BYTES), b"g" * 64)
    assert len(chunk.wire) < STATE_CHUNK_BYTES + 256
    proof = tuple(Envelope(table, bytes([i]) * 32, Checkpoint(2**64 - 1, b"d" * 32), b"g" * 64)
                  for i in range(MAX_REPLICAS))
    manifest = StateManifest(MAX_STATE_CHUNKS * STATE_CHUNK_BYTES, (b"m" * 32,) * MAX_STATE_CHUNKS)
    reply = Envelope(table, key, StateReply(2**64 - 1, manifest, proof, (), None), b"g" * 64)
    assert len(reply.wire) < 16 * 1024
    ask = Envelope(table, key, FetchChunk(2**64 - 1, MAX_STATE_CHUNKS - 1), b"g" * 64)
    assert len(ask.wire) < 256
    assert MAX_MESSAGE_BYTES >= FRAME_LIMIT_BYTES


def test_a_batch_of_big_requests_is_cut_by_bytes_to_fit_a_frame() -> None:
    """30 requests of 60 KB at once: one batch of them would be a 1.8 MB pre-prepare that no
    transport carries; cut by bytes, every batch commits in frames under the limit."""
    cluster = Cluster(4, clients=0)
    players = [signer(120 + i) for i in range(30)]
    for i, player in enumerate(players):
        cluster.inject(0, sign(player, Request(1, put(b"k%d" % i, bytes([i]) * 60_000))))
    cluster.until(lambda: all(cluster.replica(i).statistics()["requests_executed"] == 30
                              for i in range(4)))
    assert cluster.oversized == 0
    assert cluster.largest_frame <= cluster.config.batch_max_bytes + 64 * 1024
    assert cluster.replica(0).view == 0
    cluster.assert_converged()


# --- a bounded client table --------------------------------------------------------------------


def _horizon(cluster: Cluster) -> int:
    return cluster.replica(0).last_executed_seq + cluster.config.request_window_seqs


def test_the_client_table_is_capped_and_an_evicted_clients_replay_never_runs_again() -> None:
    """At most `max_client_records` records: newcomers take the place of records whose
    requests can no longer execute; an evicted client's request, replayed, stays dead
    (tests/test_request_window.py: refusals while every record is active, and more)."""
    cluster = Cluster(4, clients=0, max_client_records=3, request_window_seqs=2)
    players = [signer(50 + i) for i in range(8)]
    first = sign(players[0], Request(5, add(b"n", 1), _horizon(cluster)))
    cluster.inject(0, first)
    cluster.run()
    for player in players[1:]:
        cluster.inject(0, sign(player, Request(1, add(b"m", 1), _horizon(cluster))))
        cluster.run()
        assert all(len(cluster.nodes[i].replica._r.clients) <= 3 for i in range(4))
    for i in range(4):
        stats = cluster.replica(i).statistics()
        assert stats["clients_evicted"] == 5 and stats["requests_executed"] == 8
        assert cluster.replica(i).client_timestamp(players[0].public_key) == 0
    assert _counter(cluster, 0) == 1
    cluster.tick(cluster.config.reply_resend_interval_ticks)
    for i in range(4):
        cluster.inject(i, first)
    cluster.run()
    cluster.tick(30)
    for i in range(4):
        assert _counter(cluster, i) == 1
    cluster.assert_converged()
    cluster.assert_agreement()


def test_eviction_is_the_same_on_every_replica_and_survives_state_transfer() -> None:
    cluster = Cluster(4, clients=0, max_client_records=2, checkpoint_interval_seqs=2,
                      log_window_seqs=4, request_window_seqs=2)
    cluster.crash(3)
    players = [signer(70 + i) for i in range(5)]
    requests = []
    for player in players:
        request = sign(player, Request(10, add(b"n", 1), _horizon(cluster)))
        requests.append(request)
        cluster.inject(0, request)
        cluster.run()
    executed = _counter(cluster, 0)
    cluster.until(lambda: cluster.replica(0).stable_checkpoint_seq >= 4)
    cluster.restart(3)
    cluster.inject(0, sign(signer(90), Request(1, add(b"other", 1), _horizon(cluster))))
    lagging = cluster.nodes[3]
    cluster.until(lambda: lagging.replica.last_executed_seq == cluster.replica(0).last_executed_seq)
    assert lagging.of(StateTransferred)
    cluster.assert_converged()
    # The restarted replica learnt the table with the state: the replays stay dead there.
    for request in requests:
        cluster.inject(3, request)
        cluster.inject(0, request)
    cluster.run()
    cluster.tick(20)
    assert {_counter(cluster, i) for i in range(4)} == {executed}
    cluster.assert_converged()


def test_a_full_client_table_of_any_cap_restores_from_its_snapshot() -> None:
    """The snapshot reader's longest array is a record's fields when the cap is smaller:
    before, a table capped under six records (a record's field count) gave snapshots no
    replica could restore, so a replica behind never caught up by state transfer."""
    for cap in (1, 2, 5, 6, 7):
        cluster = Cluster(4, clients=0, max_client_records=cap)
        for i in range(cap):
            cluster.inject(0, sign(signer(110 + i), Request(1, add(b"n", 1), _horizon(cluster))))
            cluster.run()
        assert len(cluster.replica(0)._r.clients) == cap
        snapshot = cluster.replica(0)._r.state_snapshot()
        cluster.replica(3)._r.restore_state(snapshot)
        assert cluster.replica(3)._r.state_snapshot() == snapshot, cap


def test_a_trusted_snapshot_that_does_not_load_is_our_own_bug() -> None:
    """A snapshot reaches `restore_state` only once it matched a 2f+1 checkpoint proof (or
    this replica persisted it): failing to load it is a bug of ours, not a peer's fault."""
    cluster = Cluster(4, clients=0)
    with pytest.raises(LocalProtocolError, match="trusted state snapshot does not load"):
        cluster.replica(3)._r.restore_state(b"\x92\xc4\x01x\x93")


# --- cached replies and replays ----------------------------------------------------------------


def test_a_different_operation_under_the_executed_timestamp_gets_no_cached_reply() -> None:
    """Otherwise f+1 replicas answer it with the old result: the client would take a new
    operation as done while it never ran."""
    cluster = Cluster(4, clients=0)
    player = signer(60)
    executed = sign(player, Request(1, add(b"pot", 5)))
    cluster.inject(0, executed)
    cluster.run()
    before = _replies(cluster, player.public_key)
    assert len(before) == 4
    cluster.tick(cluster.config.reply_resend_interval_ticks)
    for i in range(4):
        cluster.inject(i, sign(player, Request(1, add(b"pot", 500))))
    cluster.run()
    cluster.tick(30)
    assert _replies(cluster, player.public_key) == before
    for i in range(4):
        assert _counter(cluster, i, b"pot") == 5
        assert cluster.replica(i).statistics()["requests_stale"] >= 1
    # The very request that executed still gets its cached reply.
    for i in range(4):
        cluster.inject(i, executed)
    cluster.run()
    assert len(_replies(cluster, player.public_key)) == 8


def test_a_replay_flood_costs_one_reply_per_interval() -> None:
    cluster = Cluster(4, clients=0)
    player = signer(61)
    request = sign(player, Request(1, add(b"pot", 5)))
    cluster.inject(0, request)
    cluster.run()
    interval = cluster.config.reply_resend_interval_ticks
    ticks = 5 * interval
    for _ in range(ticks):
        for i in range(4):
            for _ in range(5):
                cluster.inject(i, request)
        cluster.tick()
    replies = _replies(cluster, player.public_key)
    # 100 copies per replica; each sends its first reply and at most one per interval more.
    per_replica = {key: 0 for key in cluster.config.replicas}
    for e in replies:
        per_replica[e.sender] += 1
    assert max(per_replica.values()) <= 1 + ticks // interval, per_replica
    assert min(per_replica.values()) >= 2  # the client still gets answers to retransmissions
    suppressed = sum(cluster.replica(i).statistics()["replies_suppressed"] for i in range(4))
    assert suppressed >= 4 * 5 * ticks - 4 * (ticks // interval)
    for i in range(4):
        assert _counter(cluster, i, b"pot") == 5
