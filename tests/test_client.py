"""The sans-I/O client: one request at a time, retransmission, f+1 matching replies."""

from __future__ import annotations

from typing import Any

import pytest

from bitcraps.accel._ed25519_cpu import Ed25519Signer, verify_one
from bitcraps.consensus import (
    OUTCOME_EXPIRED,
    OUTCOME_TABLE_FULL,
    Client,
    Completed,
    Envelope,
    Lapsed,
    LocalProtocolError,
    Message,
    NotExecuted,
    Prepare,
    ReplicaConfig,
    Reply,
    Request,
    signing_bytes,
    verify_envelope,
)

TABLE = b"client-table-001"
OTHER_TABLE = b"client-table-002"


def make(n: int = 4, **kwargs: Any) -> tuple[Client, list[Ed25519Signer], ReplicaConfig]:
    replicas = [Ed25519Signer(bytes([i + 1]) * 32) for i in range(n)]
    config = ReplicaConfig(TABLE, tuple(r.public_key for r in replicas))
    client = Client(config, Ed25519Signer(b"\xcc" * 32), **kwargs)
    return client, replicas, config


def signed(by: Ed25519Signer, message: Message, table: bytes = TABLE) -> Envelope[Any]:
    return Envelope(table, by.public_key, message,
                    by.sign(signing_bytes(table, by.public_key, message)))


def reply(by: Ed25519Signer, client: Client, timestamp: int, result: bytes, *,
          view: int = 0, table: bytes = TABLE) -> Envelope[Reply]:
    return signed(by, Reply(view, client.signer.public_key, timestamp, result), table)


def test_submit_signs_one_request_for_every_replica() -> None:
    client, replicas, config = make()
    assert not client.busy
    envelope = client.submit(b"op")
    assert client.busy
    assert type(envelope.message) is Request and envelope.message.operation == b"op"
    assert envelope.message.timestamp == 1 and envelope.table_id == TABLE
    assert envelope.sender == client.signer.public_key
    assert verify_one(envelope.sender, envelope.signing_bytes, envelope.signature)
    assert verify_envelope(envelope, lambda checks: [verify_one(*c) for c in checks])
    (send,) = client.take_sends()
    assert send.envelope == envelope and send.recipients == config.replicas
    assert client.take_sends() == []


def test_a_second_outstanding_request_is_refused() -> None:
    client, replicas, _ = make()
    first = client.submit(b"one")
    with pytest.raises(LocalProtocolError):
        client.submit(b"two")
    assert len(client.take_sends()) == 1  # the refused request was never queued
    for r in replicas[:2]:
        client.step(reply(r, client, first.message.timestamp, b"ok"))
    assert not client.busy
    second = client.submit(b"two")
    assert second.message.timestamp == first.message.timestamp + 1


@pytest.mark.parametrize("n", [4, 7])
def test_accepts_only_on_f_plus_one_matching_replies_from_distinct_replicas(n: int) -> None:
    client, replicas, config = make(n)
    f = config.f
    request = client.submit(b"op")
    ts = request.message.timestamp
    # f replies (the most a Byzantine coalition has) do not convince the client...
    for r in replicas[:f]:
        client.step(reply(r, client, ts, b"lie"))
    # ...nor do repeats of one replica's reply, or f honest replies with another result.
    for _ in range(3):
        client.step(reply(replicas[0], client, ts, b"lie"))
    for r in replicas[f:2 * f]:
        client.step(reply(r, client, ts, b"truth"))
    assert client.busy and client.take_completed() == []
    # One more matching reply from a distinct replica makes f+1: at least one is honest.
    client.step(reply(replicas[2 * f], client, ts, b"truth"))
    assert not client.busy
    assert client.take_completed() == [Completed(ts, b"truth", 0)]
    # Late replies change nothing.
    for r in replicas:
        client.step(reply(r, client, ts, b"truth"))
    assert client.take_completed() == []
    assert client.rejected_replies == 0


def test_matching_replies_may_come_from_different_views() -> None:
    client, replicas, _ = make()
    ts = client.submit(b"op").message.timestamp
    client.step(reply(replicas[0], client, ts, b"r", view=0))
    client.step(reply(replicas[1], client, ts, b"r", view=1))
    assert client.take_completed() == [Completed(ts, b"r", 0)]


def test_ignores_replies_for_other_timestamps() -> None:
    client, replicas, _ = make()
    ts = client.submit(b"op").message.timestamp
    for r in replicas:
        client.step(reply(r, client, ts + 1, b"r"))
        client.step(reply(r, client, ts - 1, b"r"))
    assert client.busy and client.take_completed() == []
    assert client.rejected_replies == 0  # stale replies are normal, not misbehaviour
    # Replies when nothing is outstanding are ignored too.
    for r in replicas[:2]:
        client.step(reply(r, client, ts, b"r"))
    assert client.take_completed() == [Completed(ts, b"r", 0)]
    for r in replicas:
        client.step(reply(r, client, ts, b"r"))
    assert client.take_completed() == []


def test_rejects_replies_for_other_clients_from_non_replicas_and_non_replies() -> None:
    client, replicas, _ = make()
    ts = client.submit(b"op").message.timestamp
    outsiders = [Ed25519Signer(bytes([200 + i]) * 32) for i in range(3)]
    for outsider in outsiders:
        client.step(reply(outsider, client, ts, b"forged result"))
    other_client = Ed25519Signer(b"\xdd" * 32).public_key
    for r in replicas:
        client.step(signed(r, Reply(0, other_client, ts, b"theirs")))
    client.step(signed(replicas[0], Prepare(0, 1, b"d" * 32)))
    client.step(signed(replicas[0], Request(ts, b"op")))
    assert client.busy and client.take_completed() == []
    assert client.rejected_replies == 3 + len(replicas) + 2
    # The genuine replies still complete the request.
    for r in replicas[:2]:
        client.step(reply(r, client, ts, b"ok"))
    assert client.take_completed() == [Completed(ts, b"ok", 0)]


def test_rejects_replies_signed_for_another_table() -> None:
    """The same replica keys may serve several tables; their replies are not interchangeable."""
    client, replicas, _ = make()
    ts = client.submit(b"op").message.timestamp
    for r in replicas:
        client.step(reply(r, client, ts, b"other table's result", table=OTHER_TABLE))
    assert client.busy and client.take_completed() == []
    assert client.rejected_replies == len(replicas)
    for r in replicas[:2]:
        client.step(reply(r, client, ts, b"ok"))
    assert client.take_completed() == [Completed(ts, b"ok", 0)]


def test_retransmits_after_its_timeout() -> None:
    client, replicas, config = make(retransmit_timeout_ticks=5)
    request = client.submit(b"op")
    assert len(client.take_sends()) == 1
    for _ in range(4):
        client.tick()
    assert client.take_sends() == [] and client.retransmissions == 0
    client.tick()
    (again,) = client.take_sends()
    assert again.envelope == request and again.recipients == config.replicas
    assert client.retransmissions == 1
    for _ in range(4):
        client.tick()
    assert client.take_sends() == []
    client.tick()
    assert len(client.take_sends()) == 1 and client.retransmissions == 2
    # The reply ends the retransmissions; latency counts ticks since the first send.
    for r in replicas[:2]:
        client.step(reply(r, client, request.message.timestamp, b"ok"))
    assert client.take_completed() == [Completed(request.message.timestamp, b"ok", 10)]
    for _ in range(20):
        client.tick()
    assert client.take_sends() == [] and client.retransmissions == 2


def test_first_timestamp_and_monotonic_timestamps() -> None:
    client, replicas, _ = make(first_timestamp=1000)
    stamps = []
    for _ in range(3):
        ts = client.submit(b"op").message.timestamp
        stamps.append(ts)
        for r in replicas[:2]:
            client.step(reply(r, client, ts, b"ok"))
    assert stamps == [1000, 1001, 1002]
    assert [c.timestamp for c in client.take_completed()] == stamps


def test_votes_do_not_carry_over_between_requests() -> None:
    client, replicas, _ = make()
    first = client.submit(b"a").message.timestamp
    client.step(reply(replicas[0], client, first, b"x"))
    client.step(reply(replicas[1], client, first, b"x"))
    second = client.submit(b"b").message.timestamp
    client.step(reply(replicas[0], client, second, b"x"))
    assert client.busy  # one vote for the new timestamp is not f+1
    client.step(reply(replicas[0], client, first, b"x"))
    assert client.busy
    client.step(reply(replicas[3], client, second, b"x"))
    assert [c.timestamp for c in client.take_completed()] == [first, second]


def test_a_larger_quorum_returns_a_reply_certificate() -> None:
    client, replicas, config = make()
    with pytest.raises(LocalProtocolError, match="between f\\+1 and n"):
        client.submit(b"op", quorum=config.n + 1)
    ts = client.submit(b"cash out", quorum=config.quorum).message.timestamp
    for r in replicas[:config.quorum - 1]:
        client.step(reply(r, client, ts, b"receipt"))
    assert client.busy  # f+1 would do for a result; 2f+1 were asked for
    client.step(reply(replicas[0], client, ts, b"receipt"))  # a repeat adds nothing
    assert client.busy
    client.step(reply(replicas[config.quorum - 1], client, ts, b"receipt"))
    [completed] = client.take_completed()
    assert completed.result == b"receipt"
    assert [config.index_of(e.sender) for e in completed.replies] == list(range(config.quorum))
    assert all(e.message.result == b"receipt" for e in completed.replies)


def test_timestamps_follow_a_later_clock_and_never_go_back() -> None:
    client, replicas, _ = make(first_timestamp=1000)
    client.advance_timestamp(5000)
    assert client.next_timestamp == 5000
    client.advance_timestamp(10)  # a clock that went back changes nothing
    ts = client.submit(b"op").message.timestamp
    assert ts == 5000 and client.outstanding_timestamp == ts
    assert client.next_timestamp == 5001
    for r in replicas[:2]:
        client.step(reply(r, client, ts, b"ok"))
    assert client.outstanding_timestamp is None
    client.advance_timestamp(4000)
    assert client.submit(b"op").message.timestamp == 5001


def test_a_reply_for_the_previous_request_never_completes_the_next() -> None:
    """Acceptance is tied to the outstanding request's timestamp: f+1 replicas resending the
    cached reply of the last executed request do not answer a new one."""
    client, replicas, _ = make()
    first = client.submit(b"a").message.timestamp
    for r in replicas[:2]:
        client.step(reply(r, client, first, b"old result"))
    assert client.take_completed() == [Completed(first, b"old result", 0)]
    client.submit(b"b")
    for r in replicas:
        client.step(reply(r, client, first, b"old result"))
    assert client.busy and client.take_completed() == []


# --- horizons and requests that end without a result ---------------------------------------


def _refusal(by: Ed25519Signer, client: Client, timestamp: int, outcome: int,
             seq: int) -> Envelope[Reply]:
    return signed(by, Reply(0, client.signer.public_key, timestamp, b"", seq, outcome))


def test_the_horizon_is_the_known_executed_seq_plus_the_window() -> None:
    client, replicas, config = make()
    first = client.submit(b"op")
    assert first.message.horizon_seq == config.request_window_seqs
    for r in replicas[:2]:
        client.step(signed(r, Reply(0, client.signer.public_key, first.message.timestamp,
                                    b"ok", 40)))
    assert client.take_completed() == [Completed(first.message.timestamp, b"ok", 0, seq=40)]
    assert client.known_executed_seq == 40  # f+1 vouch for the seq it executed at
    client.observe(57)
    assert client.submit(b"op").message.horizon_seq == 57 + config.request_window_seqs


def test_replies_count_together_only_with_the_same_seq_and_outcome() -> None:
    client, replicas, _ = make()
    ts = client.submit(b"op").message.timestamp
    client.step(signed(replicas[0], Reply(0, client.signer.public_key, ts, b"ok", 3)))
    client.step(signed(replicas[1], Reply(0, client.signer.public_key, ts, b"ok", 4)))
    client.step(_refusal(replicas[2], client, ts, OUTCOME_EXPIRED, 3))
    assert client.busy and client.take_completed() == [] and client.take_ended() == []


def test_f_plus_one_refusals_end_the_request_as_not_executed() -> None:
    client, replicas, _ = make()
    ts = client.submit(b"op").message.timestamp
    for r in replicas[:2]:
        client.step(_refusal(r, client, ts, OUTCOME_TABLE_FULL, 9))
    assert not client.busy and client.take_completed() == []
    (ended,) = client.take_ended()
    assert ended == NotExecuted(ts, OUTCOME_TABLE_FULL, 9, 0)
    assert len(ended.replies) == 2


def test_a_trusted_replica_past_the_horizon_without_a_record_ends_the_request() -> None:
    client, _, config = make()
    request = client.submit(b"op").message
    horizon, window = request.horizon_seq, config.request_window_seqs
    client.observe(horizon - 1, 0)
    assert client.busy  # it may still execute at seq `horizon`
    client.observe(horizon, request.timestamp)
    assert client.busy  # it executed: the replies will come
    client.observe(horizon + window - 1, request.timestamp - 1)
    assert not client.busy
    assert client.take_ended() == [NotExecuted(request.timestamp, OUTCOME_EXPIRED,
                                               horizon + window - 1, 0)]


def test_a_replica_that_jumped_past_the_window_cannot_tell_so_the_request_lapses() -> None:
    """Its record, had it executed, may be evicted from seq horizon + window on."""
    client, _, config = make()
    request = client.submit(b"op").message
    client.observe(request.horizon_seq + config.request_window_seqs, 0)
    assert client.take_ended() == [Lapsed(request.timestamp, request.horizon_seq,
                                          request.horizon_seq + config.request_window_seqs, 0)]
    assert not client.busy
