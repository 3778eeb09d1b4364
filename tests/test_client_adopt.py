"""A client signs a request without sending it (`sign`), and makes a request it signed, now
or before a restart, its outstanding one (`adopt`): the same bytes, completed by replies to
its timestamp, and never another client's or another table's request."""

from __future__ import annotations

import pytest

from bitcraps.accel._ed25519_cpu import Ed25519Signer
from bitcraps.consensus import Client, LocalProtocolError, ReplicaConfig
from test_client import OTHER_TABLE, make, reply


def test_sign_uses_a_timestamp_but_sends_nothing() -> None:
    client, _, _ = make()
    first = client.sign(b"op")
    assert not client.busy and client.take_sends() == []
    assert client.sign(b"op").message.timestamp == first.message.timestamp + 1


def test_a_request_signed_before_a_restart_is_adopted_as_is_and_completes() -> None:
    before, replicas, config = make()
    envelope = before.sign(b"op")
    after = Client(config, before.signer)  # a new run: the same key, numbering from 1
    assert after.adopt(envelope) == envelope
    (send,) = after.take_sends()
    assert send.envelope.wire == envelope.wire and send.recipients == config.replicas
    assert after.next_timestamp == envelope.message.timestamp + 1
    with pytest.raises(LocalProtocolError):
        after.adopt(envelope)  # one outstanding request at a time
    for replica in replicas[:2]:
        after.step(reply(replica, after, envelope.message.timestamp, b"done"))
    (completed,) = after.take_completed()
    assert completed.result == b"done" and not after.busy


def test_only_its_own_requests_for_its_table_are_adopted() -> None:
    client, replicas, config = make()
    stranger = Client(config, Ed25519Signer(b"\xdd" * 32)).sign(b"op")
    elsewhere = Client(ReplicaConfig(OTHER_TABLE, config.replicas), client.signer).sign(b"op")
    for envelope in (stranger, elsewhere):
        with pytest.raises(LocalProtocolError, match="adopts only its own"):
            client.adopt(envelope)
    assert not client.busy and client.take_sends() == []
    with pytest.raises(LocalProtocolError, match="quorum"):
        client.adopt(client.sign(b"op"), quorum=len(replicas) + 1)
