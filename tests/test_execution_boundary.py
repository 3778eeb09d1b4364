"""The boundary between the protocol and the application: any bytes a signer orders give one
deterministic result, and an application's own bug stops that replica, loudly and for good.

The issue's attack: a Byzantine replica signs, with its own replica key, the operation
[b"dkg", b"\\x93" + b"\\x91" * 1010 + b"\\x01\\x01\\x01"]; every replica orders it, and
`CrapsApp.execute` raised `RecursionError`, which ended every honest daemon.
"""

from __future__ import annotations

import pytest

from bitcraps.accel._ed25519_cpu import Ed25519Signer
from bitcraps.accel._ed25519_group import SodiumEd25519Group
from bitcraps.consensus import (
    ApplicationError,
    Client,
    ExecutionContext,
    KeyValueApp,
    LocalProtocolError,
    Replica,
    ReplicaConfig,
)
from bitcraps.consensus._codec import pack
from bitcraps.games._table_ops import DKG, SHARE, decode_result, encode_operation
from bitcraps.games.craps import TableConfig
from bitcraps.games.craps_app import CrapsApp

ATTACK_BODY = b"\x93" + b"\x91" * 1010 + b"\x01\x01\x01"
TABLE = b"table-boundary-1"


def _craps_table() -> tuple[CrapsApp, tuple[bytes, ...]]:
    replicas = tuple(Ed25519Signer(bytes([i + 1]) * 32).public_key for i in range(4))
    app = CrapsApp(TABLE, replicas, TableConfig(min_bet=5, max_bet=500, bankroll=10_000),
                   SodiumEd25519Group())
    return app, replicas


@pytest.mark.parametrize("operation", [
    encode_operation(DKG, ATTACK_BODY),
    encode_operation(SHARE, ATTACK_BODY),
    encode_operation(b"act", ATTACK_BODY),
    pack([DKG, b"\x91" * 3000 + b"\x01"]),
    b"\x92\xa3dkg" + b"\x91" * 1010 + b"\x01",
    b"\x91" * 1010 + b"\x01",
], ids=["dkg", "share", "act", "dkg-3000", "operation-itself", "bare"])
def test_a_replica_signed_deep_payload_is_one_rejected_result(operation: bytes) -> None:
    app, replicas = _craps_table()
    before = app.digest()
    results = {app.execute(operation, ExecutionContext(seq, replicas[1], seq))
               for seq in range(1, 4)}
    assert len(results) == 1
    decoded = decode_result(results.pop())
    assert not decoded.ok and decoded.code == "malformed"
    assert app.digest() == before


class _BuggyApp(KeyValueApp):
    """A key-value store with a bug on one operation, and a typed refusal on another."""

    def execute(self, operation: bytes, context: ExecutionContext) -> bytes:
        if operation == b"refuse":
            raise ApplicationError("refused")
        if operation == b"bug":
            raise KeyError([[[b"an untrusted value"]]])
        return super().execute(operation, context)


def _one_replica() -> tuple[Replica, Client]:
    me = Ed25519Signer(b"r" * 32)
    config = ReplicaConfig(table_id=TABLE, replicas=(me.public_key,))
    return Replica(config, _BuggyApp(), me), Client(config, Ed25519Signer(b"c" * 32))


def _results(replica: Replica) -> list[bytes]:
    ready = replica.ready()
    replica.persisted(ready.token)
    replica.advance(ready)
    return [item.result for item in ready.execute]


def test_an_applications_typed_error_is_a_result() -> None:
    replica, client = _one_replica()
    replica.propose(client.submit(b"refuse"))
    assert _results(replica) == [b"error: refused"]
    assert replica.failure is None


def test_an_applications_bug_stops_the_replica_for_good() -> None:
    replica, client = _one_replica()
    with pytest.raises(LocalProtocolError, match="application raised KeyError") as caught:
        replica.propose(client.submit(b"bug"))
    assert isinstance(caught.value.__cause__, KeyError)
    assert replica.failure is not None and "KeyError" in replica.failure
    with pytest.raises(LocalProtocolError, match="this replica stopped"):
        replica.tick()
    other = Client(replica._r.config, Ed25519Signer(b"d" * 32))
    with pytest.raises(LocalProtocolError, match="this replica stopped"):
        replica.propose(other.submit(pack([b"get", b"k"])))
