"""Replies signed by a table's replicas, checked against the table's id alone.

What a cash-out receipt (`receipts`) and a dice-key statement (`dice_key`) share: the table's
terms must derive the table id (so they name its real replicas), and each reply must be a
consensus `Reply` envelope for that table, from one of THOSE replicas, correctly signed.
Each check raises the caller's error class, with a message that never quotes the input.
"""

from __future__ import annotations

from bitcraps.consensus import OUTCOME_EXECUTED, DecodeError, Envelope, Reply, decode_envelope
from bitcraps.games.table_terms import MAX_TERMS_BYTES, TableTerms, TermsError, decode_terms

__all__ = ["MAX_REPLIES", "MAX_REPLY_HEX_CHARS", "hex_field", "reply_wires", "signed_replies",
           "terms_of"]

MAX_REPLIES = 64
MAX_REPLY_HEX_CHARS = 2 * 1024 * 1024


def hex_field(value: object, limit: int, what: str, error: type[ValueError]) -> bytes:
    """`value` as the bytes it spells in hex, at most `limit` characters."""
    if type(value) is not str or len(value) > limit:
        raise error(f"{what} is a hex string of at most {limit} characters")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise error(f"{what} is not hex") from None


def terms_of(table_id: bytes, terms_hex: object, error: type[ValueError],
             what: str = "the table id") -> TableTerms:
    """The terms `terms_hex` spells, which must derive `table_id`."""
    try:
        terms = decode_terms(hex_field(terms_hex, 2 * MAX_TERMS_BYTES, "terms", error))
    except TermsError as exc:
        raise error(f"the table's terms do not decode: {exc}") from None
    if terms.table_id != table_id:
        raise error(f"the terms do not derive {what}: they name another table's replicas "
                    "or rules")
    return terms


def reply_wires(replies: object, error: type[ValueError]) -> list[bytes]:
    """A JSON list of 1..`MAX_REPLIES` hex reply envelopes, as bytes."""
    if type(replies) is not list or not 0 < len(replies) <= MAX_REPLIES:
        raise error(f"replies is a list of 1..{MAX_REPLIES} signed replies")
    return [hex_field(reply, MAX_REPLY_HEX_CHARS, f"reply {i}", error)
            for i, reply in enumerate(replies)]


def signed_replies(table_id: bytes, terms: TableTerms, wires: list[bytes],
                   error: type[ValueError]) -> dict[int, Reply]:
    """Each replica's reply by its index in `terms`: every one a `Reply` for `table_id`
    from one of the terms' replicas, its signature valid (libsodium's verdict), to a
    request the table executed (a refused, expired request's reply states nothing)."""
    from bitcraps.accel._ed25519_cpu import verify_one

    signed: dict[int, Reply] = {}
    for position, wire in enumerate(wires):
        try:
            envelope: Envelope[Reply] = decode_envelope(wire)
        except DecodeError:
            raise error(f"reply {position} does not decode as a signed envelope") from None
        if type(envelope.message) is not Reply or envelope.table_id != table_id \
                or envelope.sender not in terms.replicas:
            raise error(f"reply {position} is not a reply from this table's replicas")
        replica = terms.replicas.index(envelope.sender)
        if not verify_one(envelope.sender, envelope.signing_bytes, envelope.signature):
            raise error(f"reply {position}: replica {replica}'s signature is wrong")
        if envelope.message.outcome != OUTCOME_EXECUTED:
            raise error(f"reply {position}: the table did not execute that request")
        signed[replica] = envelope.message
    return signed
