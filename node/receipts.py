"""Cash-out receipts: 2f+1 replicas' signed replies to one cash-out, checkable offline.

A receipt is JSON: the table's terms (hex of `TableTerms.encode`), the table id, and the wire
bytes (hex) of the signed `Reply` envelopes. Whoever holds the table id alone can check it:

- the terms derive the table id (so they name the table's real replicas and rules);
- at least 2f+1 distinct replicas of THAT set signed replies for this table, every signature
  valid, all on the same (client, timestamp, result): no f Byzantine replicas can forge it;
- the result is the craps table's successful cash-out of the requesting player (an `ok`
  result whose events hold exactly one `CashedOut` of that player), never a refusal.

`verify_receipt` accepts any JSON value and either returns what the receipt proves or raises
one `ReceiptError` whose message never quotes the receipt's content.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bitcraps.consensus import Envelope, ReplicaConfig, Reply
from bitcraps.games.table_terms import TableTerms

from .signed_replies import hex_field, reply_wires, signed_replies, terms_of

__all__ = ["ReceiptError", "VerifiedReceipt", "make_receipt", "verify_receipt"]

RECEIPT_VERSION = 2


class ReceiptError(ValueError):
    """The receipt does not prove what it claims; the message says which check failed."""


@dataclass(frozen=True)
class VerifiedReceipt:
    """What a valid receipt proves: `player` took `amount` chips off table `table_id`."""

    table_id: bytes
    terms: TableTerms
    client: bytes
    timestamp: int
    result: bytes
    signers: tuple[int, ...]
    amount: int
    balance: int

    @property
    def player(self) -> bytes:
        return self.client


def make_receipt(terms: TableTerms, replies: tuple[Envelope[Reply], ...]) -> dict[str, Any]:
    return {"version": RECEIPT_VERSION, "table_id": terms.table_id.hex(),
            "terms": terms.encode().hex(), "replies": [reply.wire.hex() for reply in replies]}


def _fields(receipt: object) -> tuple[bytes, TableTerms, list[bytes]]:
    if type(receipt) is not dict or receipt.get("version") != RECEIPT_VERSION:
        raise ReceiptError(f"not a version-{RECEIPT_VERSION} receipt")
    table_id = hex_field(receipt.get("table_id"), 32, "table_id", ReceiptError)
    terms = terms_of(table_id, receipt.get("terms"), ReceiptError, "the receipt's table id")
    return table_id, terms, reply_wires(receipt.get("replies"), ReceiptError)


def _cashed_out(terms: TableTerms, client: bytes, result: bytes) -> tuple[int, int]:
    """The (amount, balance) of the player's cash-out that `result` reports."""
    from bitcraps.games._table_ops import decode_result
    from bitcraps.games.craps import CashedOut, GameDecodeError, decode_events

    if terms.game != "craps":
        raise ReceiptError("receipts are for craps tables' cash-outs; this table plays "
                           "another game")
    try:
        decoded = decode_result(result)
        if not decoded.ok:
            raise ReceiptError("the table refused this request: a refusal is no receipt")
        events = decode_events(decoded.events)
    except GameDecodeError:
        raise ReceiptError("the result is not a craps table result") from None
    cash_outs = [e for e in events if type(e) is CashedOut]
    if len(cash_outs) != 1 or cash_outs[0].player != client:
        raise ReceiptError("the result is not a cash-out by the player who signed the request")
    return cash_outs[0].amount, cash_outs[0].balance


def verify_receipt(receipt: object, table_id: bytes | None = None) -> VerifiedReceipt:
    """Check a receipt against its table's id (`table_id`, when the caller knows it, must
    match too): terms, every signature, the 2f+1 quorum of that table's replicas, and that
    the result is a successful cash-out. `ReceiptError` names what fails."""
    claimed, terms, wires = _fields(receipt)
    if table_id is not None and claimed != table_id:
        raise ReceiptError("the receipt is for another table")
    signed = signed_replies(claimed, terms, wires, ReceiptError)
    answers = {(r.client, r.timestamp, r.result) for r in signed.values()}
    if len(answers) != 1:
        raise ReceiptError("the replies do not agree on one request and result")
    quorum = ReplicaConfig(claimed, terms.replicas).quorum
    if len(signed) < quorum:
        raise ReceiptError(f"{len(signed)} distinct replicas signed; a receipt needs "
                           f"{quorum} (2f+1 of {terms.n})")
    client, timestamp, result = answers.pop()
    amount, balance = _cashed_out(terms, client, result)
    return VerifiedReceipt(claimed, terms, client, timestamp, result, tuple(sorted(signed)),
                           amount, balance)
