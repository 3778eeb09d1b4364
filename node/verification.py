"""Signature verification for one node: a cache of what it already checked, and batching.

The shell plans a batch on the trio thread (which signatures of these envelopes has this
node not seen yet), verifies the batch off it (worker processes or threads), and applies
the verdicts back on the trio thread. An envelope is stepped only if every signature in
its tree is valid.

Outer signatures first: an envelope that carries signed envelopes this node has not
verified (a PrePrepare's requests, a NewView's view changes) has its own signature checked
before any of them (`plan_outer`), and the nested ones are checked only if it holds. A
forged PrePrepare with 4,096 forged requests then costs one verification, not 4,097.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bitcraps.consensus import Envelope, SignatureCheck, iter_envelopes

CacheKey = bytes


class VerificationCache:
    """Signatures one node already verified, keyed by the envelope's digest.

    The digest is SHA-256 over the envelope's canonical bytes, which hold the signer's key,
    the signed message and the signature: the same key as (public key, signature, message
    hash), and it is the digest the replica needs anyway (a batch's digest is built from
    its requests' digests).

    Bounded: the oldest entries go first. Only valid signatures are remembered.
    """

    def __init__(self, max_entries: int = 200_000) -> None:
        self.max_entries = max_entries
        self._valid: dict[CacheKey, None] = {}
        self.hits = 0
        self.misses = 0

    def __contains__(self, key: CacheKey) -> bool:
        return key in self._valid

    def add(self, key: CacheKey) -> None:
        valid = self._valid
        valid[key] = None
        if len(valid) > self.max_entries:
            for old in list(valid)[: len(valid) - self.max_entries // 2]:
                del valid[old]

    def __len__(self) -> int:
        return len(self._valid)


@dataclass(slots=True)
class VerificationPlan:
    """The envelopes of one batch and the signatures among them this node must still check."""

    envelopes: list[Envelope[Any]]
    needed: list[list[CacheKey]]
    batch: list[CacheKey]
    checks: list[SignatureCheck]


def plan_batch(envelopes: Sequence[Envelope[Any]], cache: VerificationCache) -> VerificationPlan:
    needed: list[list[CacheKey]] = []
    batch: dict[CacheKey, SignatureCheck] = {}
    for envelope in envelopes:
        keys: list[CacheKey] = []
        for signed in iter_envelopes(envelope):
            key = signed.digest
            if key in cache:
                cache.hits += 1
                continue
            cache.misses += 1
            keys.append(key)
            if key not in batch:
                batch[key] = (signed.sender, signed.signing_bytes, signed.signature)
        needed.append(keys)
    return VerificationPlan(list(envelopes), needed, list(batch), list(batch.values()))


def plan_outer(envelopes: Sequence[Envelope[Any]],
               cache: VerificationCache) -> VerificationPlan:
    """The outer signatures to check before anything nested in them: those of the envelopes
    that carry nested signatures not in the cache and whose own signature is not in it."""
    chosen: list[Envelope[Any]] = []
    for envelope in envelopes:
        nested = list(iter_envelopes(envelope))[1:]
        if nested and envelope.digest not in cache and any(
                inner.digest not in cache for inner in nested):
            chosen.append(envelope)
    batch = {envelope.digest: (envelope.sender, envelope.signing_bytes, envelope.signature)
             for envelope in chosen}
    return VerificationPlan(chosen, [[envelope.digest] for envelope in chosen], list(batch),
                            list(batch.values()))


def apply_verdicts(plan: VerificationPlan, verdicts: Sequence[bool],
                   cache: VerificationCache) -> list[bool]:
    """Remember the valid signatures; say for each envelope whether its whole tree is valid."""
    if len(verdicts) != len(plan.batch):
        raise ValueError("one verdict per planned signature is required")
    invalid: set[CacheKey] = set()
    for key, ok in zip(plan.batch, verdicts, strict=True):
        if ok:
            cache.add(key)
        else:
            invalid.add(key)
    if not invalid:
        return [True] * len(plan.envelopes)
    return [invalid.isdisjoint(keys) for keys in plan.needed]
