"""Every verb's body is bounded by its own decoder: however deep a signer nests it, the table
answers one deterministic `malformed` result and changes nothing (the decoders read through
the games' strict reader with their schema's depth; no separate byte scan is needed)."""

from __future__ import annotations

import pytest

from bitcraps.accel._ed25519_cpu import Ed25519Signer
from bitcraps.accel._ed25519_group import SodiumEd25519Group
from bitcraps.consensus import ExecutionContext
from bitcraps.games._table_ops import VERBS, decode_result, encode_operation
from bitcraps.games.craps import TableConfig
from bitcraps.games.craps_app import CrapsApp

REPLICAS = tuple(Ed25519Signer(bytes([i + 1]) * 32).public_key for i in range(4))


@pytest.mark.parametrize("verb", sorted(VERBS))
@pytest.mark.parametrize("depth", [2, 4, 7, 9, 17, 33, 1010, 100_000])
def test_a_deeply_nested_body_is_one_malformed_result(verb: bytes, depth: int) -> None:
    app = CrapsApp(b"table-body-deep1", REPLICAS, TableConfig(), SodiumEd25519Group())
    before = app.digest()
    body = b"\x93" + b"\x91" * depth + b"\x01\x01\x01"
    operation = encode_operation(verb, body)
    results = {app.execute(operation, ExecutionContext(seq, REPLICAS[seq % 4], seq))
               for seq in range(1, 5)}
    assert len(results) == 1
    decoded = decode_result(results.pop())
    assert not decoded.ok and decoded.code == "malformed"
    assert app.digest() == before
