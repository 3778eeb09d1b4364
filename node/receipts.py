"""Cash-out receipts: 2f+1 replicas' signed replies to one request, checkable offline.

A receipt is JSON: the table id, its replicas' keys, and the wire bytes (hex) of the signed
`Reply` envelopes. It proves the table executed the request with that result if at least
2f+1 distinct replicas of that set signed the same (client, timestamp, result): no f
Byzantine replicas can forge it. Whoever checks it must know the table's replica keys (its
charter, its lobby announcement); `verify_receipt` checks everything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bitcraps.consensus import DecodeError, Envelope, ReplicaConfig, Reply, decode_envelope

__all__ = ["ReceiptError", "VerifiedReceipt", "make_receipt", "verify_receipt"]

RECEIPT_VERSION = 1


class ReceiptError(ValueError):
    """The receipt does not prove what it claims; the message says which check failed."""


@dataclass(frozen=True)
class VerifiedReceipt:
    table_id: bytes
    client: bytes
    timestamp: int
    result: bytes
    signers: tuple[int, ...]


def make_receipt(config: ReplicaConfig, replies: tuple[Envelope[Reply], ...]) -> dict[str, Any]:
    return {"version": RECEIPT_VERSION, "table_id": config.table_id.hex(),
            "replicas": [key.hex() for key in config.replicas],
            "replies": [reply.wire.hex() for reply in replies]}


def verify_receipt(receipt: Any) -> VerifiedReceipt:
    """Check a receipt's every signature and its quorum; `ReceiptError` names what fails."""
    from bitcraps.accel._ed25519_cpu import verify_one

    if not isinstance(receipt, dict) or receipt.get("version") != RECEIPT_VERSION:
        raise ReceiptError(f"not a version-{RECEIPT_VERSION} receipt")
    try:
        table_id = bytes.fromhex(receipt["table_id"])
        replicas = tuple(bytes.fromhex(key) for key in receipt["replicas"])
        wires = [bytes.fromhex(reply) for reply in receipt["replies"]]
        config = ReplicaConfig(table_id, replicas)
    except (KeyError, TypeError, ValueError) as exc:
        raise ReceiptError(f"malformed receipt: {exc}") from None
    signed: dict[int, Reply] = {}
    for position, wire in enumerate(wires):
        try:
            envelope = decode_envelope(wire)
        except DecodeError as exc:
            raise ReceiptError(f"reply {position} does not decode: {exc}") from None
        replica = config.index_of(envelope.sender)
        if type(envelope.message) is not Reply or envelope.table_id != table_id \
                or replica is None:
            raise ReceiptError(f"reply {position} is not a reply from this table's replicas")
        if not verify_one(envelope.sender, envelope.signing_bytes, envelope.signature):
            raise ReceiptError(f"reply {position}: replica {replica}'s signature is wrong")
        signed[replica] = envelope.message
    answers = {(r.client, r.timestamp, r.result) for r in signed.values()}
    if len(answers) != 1:
        raise ReceiptError("the replies do not agree on one request and result")
    if len(signed) < config.quorum:
        raise ReceiptError(f"{len(signed)} distinct replicas signed; a receipt needs "
                           f"{config.quorum} (2f+1 of {config.n})")
    client, timestamp, result = answers.pop()
    return VerifiedReceipt(table_id, client, timestamp, result, tuple(sorted(signed)))
