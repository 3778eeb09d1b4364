"""`roll verify` checks a roll against the dice key f+1 of the table's replicas signed, never
against the key the node it asks merely asserts.

The attack this closes: a fake node ran a DKG of its own for the real table id (same replica
keys: a DKG names only the table id and the replica count), ground keys until a roll of its
choice came out, and served that key with that roll; `roll verify` printed `verified`. Here
the fake node's DKG is real (`DiceTable(TERMS, b"fake")`), so its roll does verify against its
own key: only the replicas' signatures tell the keys apart.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
import trio
from dice_tables import (
    ASK_KEY,
    GROUP,
    PLAYER_KEY,
    REPLICA_KEYS,
    TERMS,
    DiceTable,
    signed_reply,
)
from memory_control import InMemoryControl, start_api
from nacl.signing import SigningKey

from bitcraps.games import _coin as coin
from bitcraps.games._table_ops import (
    KEY,
    decode_dice_key_result,
    decode_result,
    dice_key_result,
    encode_operation,
)
from bitcraps.games.craps import CashOut
from bitcraps.games.table_terms import TableTerms
from bitcraps.node.cli import main
from bitcraps.node.dice_key import DiceKeyError, make_dice_key_proof, verify_dice_key

FAKE_KEYS = [SigningKey(bytes([90 + i]) * 32) for i in range(4)]


@cache
def real() -> tuple[DiceTable, coin.RollRecord]:
    table = DiceTable(TERMS, b"real").ready()
    return table, table.roll()


@cache
def fake() -> tuple[DiceTable, coin.RollRecord]:
    table = DiceTable(TERMS, b"fake").ready()
    return table, table.roll()


def statement(table: DiceTable) -> bytes:
    """The table's answer to the dice-key question, as every replica executes it."""
    return table.execute(PLAYER_KEY, ASK_KEY)


def proof(terms: TableTerms, signers: list[SigningKey], result: bytes,
          table_id: bytes | None = None) -> dict[str, Any]:
    table_id = terms.table_id if table_id is None else table_id
    replies = tuple(signed_reply(table_id, key, result) for key in signers)
    made = make_dice_key_proof(terms, decode_dice_key_result(result)[1], replies)
    made["table_id"] = table_id.hex()
    return made


def test_the_table_answers_the_dice_key_question_in_its_log_and_changes_nothing() -> None:
    table = DiceTable(TERMS, b"real")
    early = decode_result(statement(table))
    assert not early.ok and early.code == "dice_not_ready"
    table.ready()
    before = {app.digest() for app in table.apps}
    stated_table, key = decode_dice_key_result(statement(table))
    assert stated_table == TERMS.table_id
    assert key == coin.encode_threshold_key(table.key)
    assert {app.digest() for app in table.apps} == before
    junk = decode_result(table.execute(PLAYER_KEY, encode_operation(KEY, b"x")))
    assert not junk.ok and junk.code == "malformed"


def test_a_real_key_stated_by_f_plus_1_replicas_verifies_and_so_does_a_real_roll() -> None:
    table, record = real()
    verified = verify_dice_key(proof(TERMS, REPLICA_KEYS[1:3], statement(table)),
                               TERMS.table_id, GROUP)
    assert verified.key == table.key and verified.signers == (1, 2)
    assert coin.verify_roll(GROUP, verified.key, record.roll, record.shares, record.seed,
                            record.dice).ok


def test_the_fake_nodes_own_dkg_key_is_refused_however_it_is_dressed() -> None:
    _, fake_record = fake()
    fake_table = fake()[0]
    fake_statement = statement(fake_table)
    assert fake_table.key != real()[0].key
    assert coin.verify_roll(GROUP, fake_table.key, fake_record.roll, fake_record.shares,
                            fake_record.seed, fake_record.dice).ok  # it fooled the old check
    # Made-up replicas signing under the real table id: their terms derive another id.
    made_up = TableTerms("craps", tuple(bytes(k.verify_key) for k in FAKE_KEYS), 5, 500, 8,
                         TERMS.salt)
    with pytest.raises(DiceKeyError, match="do not derive the table id"):
        verify_dice_key(proof(made_up, FAKE_KEYS, fake_statement, TERMS.table_id),
                        TERMS.table_id, GROUP)
    # The real terms, signed by keys that are none of their replicas.
    with pytest.raises(DiceKeyError, match="not a reply from this table's replicas"):
        verify_dice_key(proof(TERMS, FAKE_KEYS, fake_statement), TERMS.table_id, GROUP)
    # The fake node is itself one real replica (f = 1): its word alone is not enough.
    with pytest.raises(DiceKeyError, match="1 distinct replicas stated the dice key; it "
                                           r"needs 2 \(f\+1 of 4\)"):
        verify_dice_key(proof(TERMS, REPLICA_KEYS[:1], fake_statement), TERMS.table_id, GROUP)
    # ... nor does it outvote an honest replica.
    mixed = proof(TERMS, REPLICA_KEYS[:1], fake_statement)
    mixed["replies"].append(signed_reply(TERMS.table_id, REPLICA_KEYS[1],
                                         statement(real()[0])).wire.hex())
    with pytest.raises(DiceKeyError, match="do not agree on one dice key"):
        verify_dice_key(mixed, TERMS.table_id, GROUP)


def test_replies_from_non_replicas_or_too_few_replicas_are_refused() -> None:
    real_statement = statement(real()[0])
    outsiders = proof(TERMS, [REPLICA_KEYS[0], FAKE_KEYS[0]], real_statement)
    with pytest.raises(DiceKeyError, match="reply 1 is not a reply from this table's"):
        verify_dice_key(outsiders, TERMS.table_id, GROUP)
    twice = proof(TERMS, [REPLICA_KEYS[0], REPLICA_KEYS[0]], real_statement)
    with pytest.raises(DiceKeyError, match="1 distinct replicas"):
        verify_dice_key(twice, TERMS.table_id, GROUP)


def test_a_shown_key_other_than_the_signed_one_or_another_tables_is_refused() -> None:
    real_statement = statement(real()[0])
    swapped = proof(TERMS, REPLICA_KEYS[:2], real_statement)
    swapped["dice_key"] = coin.encode_threshold_key(fake()[0].key).hex()
    with pytest.raises(DiceKeyError, match="not the one the replicas signed"):
        verify_dice_key(swapped, TERMS.table_id, GROUP)
    other = TableTerms("craps", TERMS.replicas, 5, 500, 8, bytes(16))
    with pytest.raises(DiceKeyError, match="another table's"):
        verify_dice_key(proof(TERMS, REPLICA_KEYS[:2], real_statement), other.table_id, GROUP)
    # A real statement of THIS table's id around a key of another table id's DKG.
    stranger = DiceTable(other, b"real").ready().key
    relabelled = dice_key_result(TERMS.table_id, coin.encode_threshold_key(stranger))
    with pytest.raises(DiceKeyError, match=r"not an \(f\+1\)-of-4 key of this table"):
        verify_dice_key(proof(TERMS, REPLICA_KEYS[:2], relabelled), TERMS.table_id, GROUP)


def test_a_signed_reply_to_another_request_is_no_statement_of_the_key() -> None:
    table, _ = real()
    cash_out = table.act(CashOut(PLAYER_KEY, 10))
    assert decode_result(cash_out).ok
    made = proof(TERMS, REPLICA_KEYS[:2], statement(table))
    made["replies"] = [signed_reply(TERMS.table_id, key, cash_out).wire.hex()
                       for key in REPLICA_KEYS[:2]]
    with pytest.raises(DiceKeyError, match="not a statement of the dice key"):
        verify_dice_key(made, TERMS.table_id, GROUP)


def test_a_tampered_signature_or_malformed_proof_is_refused_without_quoting_it() -> None:
    made = proof(TERMS, REPLICA_KEYS[:2], statement(real()[0]))
    wire = bytearray.fromhex(made["replies"][0])
    wire[-1] ^= 1
    made["replies"][0] = wire.hex()
    with pytest.raises(DiceKeyError, match="replica 0's signature is wrong"):
        verify_dice_key(made, TERMS.table_id, GROUP)
    deep: Any = []
    for _ in range(1_010):
        deep = [deep]
    for junk in (None, [], {"version": 1}, {"version": 1, "table_id": deep},
                 {**made, "replies": deep}, {**made, "terms": "zz"}):
        with pytest.raises(DiceKeyError) as refused:
            verify_dice_key(junk, TERMS.table_id, GROUP)
        assert "[[" not in str(refused.value)


# --- the command line, against a node that shows what it likes ------------------------------


class NodeShowing(InMemoryControl):
    """A node's control API that answers the dice-key and roll routes with given JSON: an
    honest node's, or a fake node's."""

    def __init__(self, dice_key: dict[str, Any], roll: dict[str, Any]) -> None:
        super().__init__()
        self.dice_key, self.roll = dice_key, roll

    async def table_dice_key(self, table_id: str) -> dict[str, Any]:
        return self.dice_key

    def table_roll_record(self, table_id: str, roll: int) -> dict[str, Any]:
        return self.roll


def roll_json(key: coin.ThresholdKey, record: coin.RollRecord) -> dict[str, Any]:
    return {"roll": record.roll, "dice": list(record.dice),
            "record": coin.encode_roll_record(record).hex(),
            "threshold_key": coin.encode_threshold_key(key).hex()}


async def roll_verify(nursery: trio.Nursery, data_dir: Path, node: NodeShowing, table: str,
                      roll: int, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    served = await start_api(nursery, node, data_dir)
    capsys.readouterr()
    try:
        with trio.fail_after(20):
            code = await trio.to_thread.run_sync(main, [
                "roll", "verify", table, str(roll), "--data-dir", str(data_dir)])
    finally:
        served.shutdown.set()
    out, err = capsys.readouterr()
    return code, out, err


async def test_roll_verify_refuses_the_fake_nodes_key_and_roll(
        nursery: trio.Nursery, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The issue's attack end to end: the fake node's own DKG key, stated by the one real
    replica it is, with a roll that key verifies. Before, this printed `verified`."""
    table, record = fake()
    node = NodeShowing(proof(TERMS, REPLICA_KEYS[:1], statement(table)),
                       roll_json(table.key, record))
    code, out, err = await roll_verify(nursery, data_dir, node, TERMS.table_id.hex(),
                                       record.roll, capsys)
    assert (code, out) == (2, "")
    assert err.startswith("bitcraps: error: ") and err.count("\n") == 1
    assert "the dice key is not the table's" in err and "nothing verified" in err


async def test_roll_verify_checks_a_real_roll_against_the_replicas_key(
        nursery: trio.Nursery, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table, record = real()
    fake_key = fake()[0].key  # what the node claims beside the roll counts for nothing
    node = NodeShowing(proof(TERMS, REPLICA_KEYS[1:], statement(table)),
                       roll_json(fake_key, record))
    code, out, err = await roll_verify(nursery, data_dir, node, TERMS.table_id.hex(),
                                       record.roll, capsys)
    assert (code, err) == (0, "")
    assert f"{record.dice[0]} + {record.dice[1]}: verified" in out
    assert "the dice key as replicas 1, 2, 3 of 4 signed it" in out


async def test_roll_verify_needs_the_whole_table_id(
        nursery: trio.Nursery, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table, record = real()
    node = NodeShowing(proof(TERMS, REPLICA_KEYS, statement(table)), roll_json(table.key, record))
    code, out, err = await roll_verify(nursery, data_dir, node, TERMS.table_id.hex()[:8],
                                       record.roll, capsys)
    assert (code, out) == (2, "")
    assert err == "bitcraps: error: roll verify needs the whole table id: 32 hex digits\n"
