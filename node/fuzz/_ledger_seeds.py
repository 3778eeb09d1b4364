"""Valid inputs for the request-ledger target: entries as `LedgerEntry.encode` stores them,
one per status, the pending one holding a real signed request."""

from __future__ import annotations

import hashlib

from bitcraps.consensus import Client, Completed, Lapsed, NotExecuted, ReplicaConfig

from ._seeds import SIGNER, TABLE

REQUEST_ID = b"\x00" * 16


def ledger_entries() -> tuple[bytes, ...]:
    from bitcraps.node.request_ledger import LedgerEntry, request_id_of

    config = ReplicaConfig(TABLE, tuple(hashlib.sha256(b"r%d" % i).digest() for i in range(4)))
    envelope = Client(config, SIGNER).sign(b"fuzz operation")
    request = envelope.message

    def entry(key: str | None) -> LedgerEntry:
        return LedgerEntry(request_id_of(envelope), envelope.sender, request.timestamp,
                           hashlib.sha256(request.operation).digest(), 2, 1, key,
                           envelope.wire)

    pending, executed, refused, lost = entry("k"), entry(None), entry("x" * 255), entry("")
    executed.finish(Completed(request.timestamp, b"result", 0, (), 9))
    refused.finish(NotExecuted(request.timestamp, 2, 11, 0))
    lost.finish(Lapsed(request.timestamp, 64, 2**64 - 1, 0))
    return tuple(e.encode() for e in (pending, executed, refused, lost))
