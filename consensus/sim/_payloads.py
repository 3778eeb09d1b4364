"""Byzantine payloads: keys that sign structurally hostile operations and submit them.

A `HostileSubmitter` holds one real key (a client's own, or a Byzantine replica's replica
key) and, on some ticks, signs a `Request` whose operation comes from an operation source:
the issue's RecursionError payload, deep nesting, huge declared lengths, list bombs,
forbidden types, and mutations of valid encodings (`_hostile`). The requests are validly
signed, so the replicas order and execute them: what they test is the execution boundary,
where the application must answer any bytes with one deterministic result and no honest
replica may raise. It sends to every replica at once and waits for nothing.

`kv_hostile_operation` is the source for the key-value store; a workload brings its own
(the craps table's DKG messages, coin shares and actions).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._codec import pack
from .._config import ReplicaConfig
from .._crypto import Signer
from .._messages import MAX_OPERATION_BYTES, Envelope, Request, signing_bytes
from ._hostile import Raw, deep_nesting, encode, hostile_msgpack, mutate_msgpack
from ._rng import Rng

OperationSource = Callable[[Rng], bytes]
"""One hostile operation drawn from `rng` (bytes; cut to `MAX_OPERATION_BYTES` here)."""

ISSUE_NESTING = b"\x91" * 1010
"""The 1,010-deep nesting of the payload that ended every honest daemon."""

KV_SAMPLES = ([b"add", b"chips", 5], [b"put", b"pot", b"\x01\x02"], [b"get", b"table"],
              [b"add", b"bank", -(2**63)])


def kv_flood_operation(rng: Rng) -> bytes:
    """A plain, valid key-value operation (for the fresh-key flood)."""
    return pack([b"put", b"flood/%d" % rng.below(64), b"x"])


def kv_hostile_operation(rng: Rng) -> bytes:
    """A hostile operation for the key-value store."""
    choice = rng.below(4)
    if choice == 0:
        return hostile_msgpack(rng)
    if choice == 1:
        return mutate_msgpack(rng, pack(rng.choice(KV_SAMPLES)))
    if choice == 2:
        return encode([b"add", Raw(deep_nesting(rng)), 1])
    return encode([b"put", Raw(b"\x93" + ISSUE_NESTING + b"\x01\x01\x01"), b"v"])


@dataclass
class HostileSubmitter:
    """One key's hostile submissions; `signed` keeps them for the validity checker."""

    signer: Signer
    config: ReplicaConfig
    rng: Rng
    source: OperationSource
    probability: float = 0.05
    """Per tick (scenarios pass `HOSTILE_REQUESTS_PER_TICK`). Each key holds one place in a
    replica's queue, its newer requests taking it over (`consensus/_admission.py`), so a key
    that sends faster than it is served costs honest clients only its turn."""
    timestamp: int = 1 << 30
    submitted: int = 0
    signed: list[Envelope[Request]] = field(default_factory=list)

    @property
    def key(self) -> bytes:
        return self.signer.public_key

    def act(self) -> list[Envelope[Request]]:
        """This tick's hostile request, if any (signed, and also left in `signed`)."""
        if not self.rng.chance(self.probability):
            return []
        operation = self.source(self.rng)[:MAX_OPERATION_BYTES]
        self.timestamp += 1 + self.rng.below(3)
        envelope = self._sign(Request(self.timestamp, operation))
        self.submitted += 1
        self.signed.append(envelope)
        return [envelope]

    def mutated_frame(self) -> bytes | None:
        """Sometimes a mutation of a frame this key signed: for the envelope decoder."""
        if self.submitted == 0 or not self.rng.chance(self.probability / 2):
            return None
        return mutate_msgpack(self.rng, self._sign(Request(self.timestamp, b"\x90")).wire)

    def take_signed(self) -> list[Envelope[Request]]:
        signed, self.signed = self.signed, []
        return signed

    def _sign(self, message: Request) -> Envelope[Any]:
        table = self.config.table_id
        signature = self.signer.sign(signing_bytes(table, self.key, message))
        return Envelope(table, self.key, message, signature)


def describe_exception(exc: BaseException) -> str:
    """`Type: message` for a report, safe for any exception: `str` of one that carries an
    untrusted value (a KeyError's key) may itself raise (RecursionError on deep nesting)."""
    try:
        text = str(exc)
    except Exception:  # an unprintable message is still a fault to report, by its type
        text = "(message not printable)"
    return f"{type(exc).__name__}: {text[:200]}"
