"""A table's dice key as f+1 of its replicas signed it: what `roll verify` checks rolls against.

The node a player asks cannot be trusted for the threshold key: a node that ran a DKG of its
own for the real table id could grind keys until a roll of its choice verifies. So the key
is asked of the table itself: the question (`[b"key", b""]`) is committed through the log,
every replica answers `[b"dice-key", table_id, key]` in its signed `Reply`, and a proof is
JSON holding the table's terms, the key and those reply envelopes (hex)::

    {"version": 1, "table_id": hex, "terms": hex, "dice_key": hex, "replies": [hex, ...]}

`verify_dice_key` checks it against a table id the caller trusts (the whole id, never a
prefix): the terms derive that id (so they name its real replicas); every reply is a valid
signed reply of one of THOSE replicas; all answer the same key for this table; at least
f+1 distinct replicas signed it (so at least one honest replica did); and the key decodes
as this table's (f+1)-of-n key. It accepts any JSON value and either returns the key or
raises one `DiceKeyError` whose message never quotes the proof's content.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bitcraps.consensus import Envelope, Reply
from bitcraps.games import _coin as coin
from bitcraps.games._api import GameDecodeError
from bitcraps.games._table_ops import decode_dice_key_result
from bitcraps.games.table_terms import TableTerms

from .signed_replies import hex_field, reply_wires, signed_replies, terms_of

__all__ = ["DiceKeyError", "VerifiedDiceKey", "make_dice_key_proof", "verify_dice_key"]

PROOF_VERSION = 1
MAX_KEY_HEX_CHARS = 2 * 4096


class DiceKeyError(ValueError):
    """The proof does not show this table's dice key; the message says which check failed."""


@dataclass(frozen=True)
class VerifiedDiceKey:
    """`key` is table `table_id`'s dice key: replicas `signers` of `terms` said so."""

    table_id: bytes
    terms: TableTerms
    key: coin.ThresholdKey
    signers: tuple[int, ...]


def make_dice_key_proof(terms: TableTerms, key: bytes,
                        replies: tuple[Envelope[Reply], ...]) -> dict[str, Any]:
    return {"version": PROOF_VERSION, "table_id": terms.table_id.hex(),
            "terms": terms.encode().hex(), "dice_key": key.hex(),
            "replies": [reply.wire.hex() for reply in replies]}


def _stated_key(table_id: bytes, signed: dict[int, Reply]) -> bytes:
    """The one key every reply states for `table_id`."""
    keys = set()
    for replica, reply in sorted(signed.items()):
        try:
            stated_table, key = decode_dice_key_result(reply.result)
        except GameDecodeError:
            raise DiceKeyError(f"replica {replica}'s reply is not a statement of the dice "
                               "key") from None
        if stated_table != table_id:
            raise DiceKeyError(f"replica {replica} stated the dice key of another table")
        keys.add(key)
    if len(keys) != 1:
        raise DiceKeyError("the replicas' replies do not agree on one dice key")
    return keys.pop()


def _decode_key(data: bytes, table_id: bytes, terms: TableTerms,
                group: coin.Group) -> coin.ThresholdKey:
    try:
        key = coin.decode_threshold_key(data, group)
    except coin.FairDiceError:
        raise DiceKeyError("the stated dice key does not decode") from None
    if key.table_id != table_id or key.replicas != terms.n or key.threshold != terms.f + 1:
        raise DiceKeyError(f"the stated dice key is not an (f+1)-of-{terms.n} key of this "
                           "table")
    return key


def verify_dice_key(proof: object, table_id: bytes, group: coin.Group) -> VerifiedDiceKey:
    """This table's dice key, if `proof` shows f+1 of its replicas stated it (see above)."""
    if type(proof) is not dict or proof.get("version") != PROOF_VERSION:
        raise DiceKeyError(f"not a version-{PROOF_VERSION} dice-key proof")
    if hex_field(proof.get("table_id"), 32, "table_id", DiceKeyError) != table_id:
        raise DiceKeyError("the dice key shown is another table's")
    terms = terms_of(table_id, proof.get("terms"), DiceKeyError)
    signed = signed_replies(table_id, terms, reply_wires(proof.get("replies"), DiceKeyError),
                            DiceKeyError)
    stated = _stated_key(table_id, signed)
    if hex_field(proof.get("dice_key"), MAX_KEY_HEX_CHARS, "dice_key", DiceKeyError) != stated:
        raise DiceKeyError("the dice key shown is not the one the replicas signed")
    needed = terms.f + 1
    if len(signed) < needed:
        raise DiceKeyError(f"{len(signed)} distinct replicas stated the dice key; it needs "
                           f"{needed} (f+1 of {terms.n}) so that one is honest")
    return VerifiedDiceKey(table_id, terms, _decode_key(stated, table_id, terms, group),
                           tuple(sorted(signed)))
