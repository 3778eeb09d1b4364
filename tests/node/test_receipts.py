"""Cash-out receipts verify offline against the table id alone, and forgeries do not.

The replies are real: a real `CrapsApp` executes a real cash-out and real replica keys sign
the consensus `Reply` envelopes, exactly what a daemon's 2f+1 replies are (the four-daemon
test in test_craps_daemons.py makes one end to end). The four forgeries are the ones that
verified before the table id committed to its terms.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from nacl.signing import SigningKey

from bitcraps.accel._ed25519_group import SodiumEd25519Group
from bitcraps.consensus import (
    OUTCOME_EXECUTED,
    OUTCOME_EXPIRED,
    Envelope,
    ExecutionContext,
    Reply,
    signing_bytes,
)
from bitcraps.games._table_ops import ACT, encode_operation
from bitcraps.games.craps import CashOut, Join, TableConfig
from bitcraps.games.craps_app import CrapsApp
from bitcraps.games.table_terms import TableTerms
from bitcraps.node.cli import main
from bitcraps.node.receipts import ReceiptError, make_receipt, verify_receipt

REPLICA_KEYS = [SigningKey(bytes([10 + i]) * 32) for i in range(4)]
PLAYER = SigningKey(bytes([50]) * 32)
PLAYER_KEY = bytes(PLAYER.verify_key)
TERMS = TableTerms("craps", tuple(bytes(k.verify_key) for k in REPLICA_KEYS), 5, 500, 8,
                   bytes(range(16)))


def executed(terms: TableTerms, *actions: Any) -> list[bytes]:
    """Each action's result on a fresh table of these terms, as every replica computes it."""
    app = CrapsApp(terms.table_id, terms.replicas, TableConfig(min_bet=5, max_bet=500),
                   SodiumEd25519Group())
    return [app.execute(encode_operation(ACT, app.game.encode_action(action)),
                        ExecutionContext(seq, PLAYER_KEY, seq)) for seq, action in
            enumerate(actions, start=1)]


def reply(table_id: bytes, key: SigningKey, result: bytes,
          timestamp: int = 2, outcome: int = OUTCOME_EXECUTED) -> Envelope[Reply]:
    sender = bytes(key.verify_key)
    message = Reply(0, PLAYER_KEY, timestamp, result, outcome=outcome)
    signature = key.sign(signing_bytes(table_id, sender, message)).signature
    return Envelope(table_id, sender, message, signature)


def receipt(terms: TableTerms, keys: list[SigningKey], result: bytes,
            table_id: bytes | None = None) -> dict[str, Any]:
    table_id = terms.table_id if table_id is None else table_id
    made = make_receipt(terms, tuple(reply(table_id, key, result) for key in keys))
    made["table_id"] = table_id.hex()
    return made


CASH_OUT = executed(TERMS, Join(PLAYER_KEY, 1_000), CashOut(PLAYER_KEY, 300))[1]


def test_a_real_cash_out_verifies_against_the_table_id_alone() -> None:
    verified = verify_receipt(receipt(TERMS, REPLICA_KEYS[:3], CASH_OUT), TERMS.table_id)
    assert (verified.amount, verified.balance, verified.player) == (300, 700, PLAYER_KEY)
    assert verified.table_id == TERMS.table_id and verified.signers == (0, 1, 2)


def test_made_up_keys_for_a_fortune_on_the_real_table_id_are_refused() -> None:
    fake = [SigningKey(bytes([90 + i]) * 32) for i in range(4)]
    terms = TableTerms("craps", tuple(bytes(k.verify_key) for k in fake), 5, 500, 8,
                       TERMS.salt)
    fortune = executed(terms, Join(PLAYER_KEY, 10**12), CashOut(PLAYER_KEY, 10**12))[1]
    forged = receipt(terms, fake, fortune, table_id=TERMS.table_id)
    with pytest.raises(ReceiptError, match="do not derive the receipt's table id"):
        verify_receipt(forged)
    forged["table_id"] = terms.table_id.hex()  # honest about its own id: another table
    with pytest.raises(ReceiptError, match="another table"):
        verify_receipt(forged, TERMS.table_id)


def test_a_one_replica_table_under_the_real_id_is_refused() -> None:
    alone = TableTerms("craps", (bytes(REPLICA_KEYS[0].verify_key),), 5, 500, 8, TERMS.salt)
    forged = receipt(alone, REPLICA_KEYS[:1], CASH_OUT, table_id=TERMS.table_id)
    with pytest.raises(ReceiptError, match="do not derive"):
        verify_receipt(forged)
    # The real terms, one real signature: short of the quorum.
    with pytest.raises(ReceiptError, match="1 distinct replicas signed; a receipt needs 3"):
        verify_receipt(receipt(TERMS, REPLICA_KEYS[:1], CASH_OUT))


def test_three_of_four_keys_swapped_are_refused() -> None:
    fake = [SigningKey(bytes([70 + i]) * 32) for i in range(3)]
    swapped = TableTerms("craps", (TERMS.replicas[0], *(bytes(k.verify_key) for k in fake)),
                         5, 500, 8, TERMS.salt)
    forged = receipt(swapped, [REPLICA_KEYS[0], *fake], CASH_OUT, table_id=TERMS.table_id)
    with pytest.raises(ReceiptError, match="do not derive"):
        verify_receipt(forged)
    # The real terms carried, replies from the swapped-in keys: not this table's replicas.
    forged["terms"] = TERMS.encode().hex()
    with pytest.raises(ReceiptError, match="not a reply from this table's replicas"):
        verify_receipt(forged)


def test_a_refused_cash_out_is_no_receipt() -> None:
    refusal = executed(TERMS, CashOut(PLAYER_KEY, 300))[0]  # never joined: refused
    with pytest.raises(ReceiptError, match="refused"):
        verify_receipt(receipt(TERMS, REPLICA_KEYS, refusal))
    joined = executed(TERMS, Join(PLAYER_KEY, 1_000))[0]  # a success, but no cash-out
    with pytest.raises(ReceiptError, match="not a cash-out"):
        verify_receipt(receipt(TERMS, REPLICA_KEYS, joined))


def test_replies_to_a_request_the_table_did_not_execute_are_no_receipt() -> None:
    expired = make_receipt(TERMS, tuple(reply(TERMS.table_id, key, CASH_OUT,
                                              outcome=OUTCOME_EXPIRED)
                                        for key in REPLICA_KEYS))
    with pytest.raises(ReceiptError, match="did not execute"):
        verify_receipt(expired)


def test_disagreeing_or_tampered_replies_are_refused() -> None:
    other = executed(TERMS, Join(PLAYER_KEY, 1_000), CashOut(PLAYER_KEY, 200))[1]
    mixed = make_receipt(TERMS, (reply(TERMS.table_id, REPLICA_KEYS[0], CASH_OUT),
                                 reply(TERMS.table_id, REPLICA_KEYS[1], CASH_OUT),
                                 reply(TERMS.table_id, REPLICA_KEYS[2], other)))
    with pytest.raises(ReceiptError, match="do not agree"):
        verify_receipt(mixed)
    tampered = receipt(TERMS, REPLICA_KEYS[:3], CASH_OUT)
    wire = bytearray.fromhex(tampered["replies"][1])
    wire[-1] ^= 1
    tampered["replies"][1] = wire.hex()
    with pytest.raises(ReceiptError, match="replica 1's signature is wrong"):
        verify_receipt(tampered)


@pytest.mark.parametrize("value", [
    None, [], "x", {"version": 2}, {"version": 2, "table_id": [[[]]], "terms": "", "replies": []},
    {"version": 2, "table_id": "ab" * 16, "terms": "zz", "replies": []},
    {"version": 2, "table_id": "ab" * 16, "terms": "91" * 500, "replies": []},
])
def test_malformed_receipts_give_one_error(value: object) -> None:
    with pytest.raises(ReceiptError):
        verify_receipt(value)


def test_the_cli_prints_amount_player_and_table_and_refuses_with_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(receipt(TERMS, REPLICA_KEYS[:3], CASH_OUT)))
    assert main(["receipt", "verify", str(good)]) == 0
    out = capsys.readouterr().out
    assert "300 chips" in out and PLAYER_KEY.hex() in out and TERMS.table_id.hex() in out
    assert main(["receipt", "verify", str(good), "--table", TERMS.table_id.hex()]) == 0
    capsys.readouterr()
    for name, text in (("refusal", json.dumps(receipt(TERMS, REPLICA_KEYS,
                                                      executed(TERMS, CashOut(PLAYER_KEY))[0]))),
                       ("deep", "[" * 100_000 + "]" * 100_000),
                       ("huge", json.dumps({"version": 2, "pad": "x" * (2 << 20)}))):
        path = tmp_path / f"{name}.json"
        path.write_text(text)
        assert main(["receipt", "verify", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("bitcraps: error:") and err.count("\n") == 1, err
    assert main(["receipt", "verify", str(good), "--table", "ab" * 16]) == 2
    assert "another table" in capsys.readouterr().err
