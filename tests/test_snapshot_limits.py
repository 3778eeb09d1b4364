"""A replica's snapshot and the key-value store's inputs are read with limits shaped by their
schemas (like envelopes and durable records), not the generic 32 levels: a snapshot that
nests deeper than its client records, or a key-value operation that nests at all, is refused
by the reader before anything walks it."""

from __future__ import annotations

import pytest

from bitcraps.accel._ed25519_cpu import Ed25519Signer
from bitcraps.consensus import (
    Client,
    DecodeError,
    ExecutionContext,
    KeyValueApp,
    LocalProtocolError,
    Replica,
    ReplicaConfig,
)
from bitcraps.consensus._codec import pack

TABLE = b"table-snapshot-1"


def _replica_with_clients() -> tuple[Replica, ReplicaConfig]:
    me = Ed25519Signer(b"r" * 32)
    config = ReplicaConfig(table_id=TABLE, replicas=(me.public_key,))
    replica = Replica(config, KeyValueApp(), me)
    for n in range(3):
        client = Client(config, Ed25519Signer(bytes([n + 1]) * 32))
        replica.propose(client.submit(pack([b"put", b"k%d" % n, b"v"])))
        ready = replica.ready()
        replica.persisted(ready.token)
        replica.advance(ready)
    return replica, config


def test_a_real_snapshot_restores_within_its_limits() -> None:
    replica, config = _replica_with_clients()
    snapshot = replica._r.state_snapshot()
    fresh = Replica(config, KeyValueApp(), Ed25519Signer(b"r" * 32))
    fresh._r.restore_state(snapshot)
    assert fresh._r.state_snapshot() == snapshot


@pytest.mark.parametrize("depth", [4, 8, 31])
def test_a_snapshot_nested_deeper_than_its_records_is_refused_by_the_reader(
        depth: int) -> None:
    """Before: the generic reader let up to 32 levels through to the client table's own
    checks (a ValueError from unpacking a record); now the reader itself refuses it."""
    replica, config = _replica_with_clients()
    nested: list[object] = [1]
    for _ in range(depth - 2):
        nested = [nested]
    snapshot = pack([KeyValueApp().snapshot(), nested])
    with pytest.raises(LocalProtocolError, match=r"\(DecodeError\)"):
        replica._r.restore_state(snapshot)


def test_the_key_value_store_reads_flat_operations_and_pair_snapshots_only() -> None:
    app = KeyValueApp()
    context = ExecutionContext(1, b"c" * 32, 1)
    assert app.execute(pack([b"put", b"k", b"v"]), context) == pack([b"ok"])
    refused = app.execute(pack([b"put", [b"k"], b"v"]), context)
    assert refused.startswith(pack([b"error", b""])[:2]) and b"nested deeper" in refused
    with pytest.raises(DecodeError, match="nested deeper"):
        app.restore(pack([[b"k", [b"v"]]]))
    with pytest.raises(DecodeError, match="more arrays or items"):
        app.restore(pack([[]] * 1000))  # a pair spends three bytes at least
    app.restore(app.snapshot())
    assert app.get(b"k") == b"v"
