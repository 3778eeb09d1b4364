"""Byzantine payloads at a simulated craps table: hostile DKG messages, coin shares, actions.

The simulator's hostile-payload fault has a client sign hostile operations with its own
key, and a Byzantine replica sign them with its replica key (posted by that replica's own
client, between its duties). What they sign is drawn here from the valid operations seen in
the run (`OperationSamples`: replicas' DKG messages and coin shares, players' actions), so
mutations start from real encodings:

- the issue's payload itself, `[b"dkg", b"\\x93" + b"\\x91" * 1010 + b"\\x01\\x01\\x01"]`;
- a valid operation with its body mutated (tree or byte mutations, deep subtrees, boundary
  integers, huge declared lengths), or its whole encoding mutated;
- a verb with a body made from scratch (deep nesting, list bombs, forbidden types).

A mutated action carries its player's key, not the signer's, so the table refuses it
(`not_your_seat`) however well it decodes: no hostile key ever sits down or holds the dice.
"""

from __future__ import annotations

from collections import deque

from bitcraps.consensus.sim import Rng, hostile_msgpack, mutate_msgpack

from ._api import GameDecodeError
from ._table_ops import ACT, DKG, SHARE, VERBS, decode_operation, encode_operation

__all__ = ["ISSUE_PAYLOAD", "OperationSamples", "craps_hostile_operation"]

ISSUE_PAYLOAD = encode_operation(DKG, b"\x93" + b"\x91" * 1010 + b"\x01\x01\x01")
SAMPLES_PER_VERB = 16


class OperationSamples:
    """The last few valid operations of each verb seen in the run."""

    def __init__(self) -> None:
        self._by_verb: dict[bytes, deque[bytes]] = {
            verb: deque(maxlen=SAMPLES_PER_VERB) for verb in VERBS}

    def add(self, operation: bytes) -> None:
        try:
            verb = decode_operation(operation).verb
        except GameDecodeError:
            return
        self._by_verb[verb].append(operation)

    def pick(self, rng: Rng) -> bytes | None:
        pools = [pool for pool in self._by_verb.values() if pool]
        return rng.choice(rng.choice(pools)) if pools else None


def craps_hostile_operation(rng: Rng, samples: OperationSamples) -> bytes:
    """One hostile table operation."""
    sample = samples.pick(rng)
    choice = rng.below(6)
    if choice == 0:
        return ISSUE_PAYLOAD
    if choice == 1 and sample is not None:
        return mutate_msgpack(rng, sample)
    if choice in (2, 3) and sample is not None:
        op = decode_operation(sample)
        return encode_operation(op.verb, mutate_msgpack(rng, op.body))
    if choice == 4:
        return hostile_msgpack(rng)
    return encode_operation(rng.choice((ACT, DKG, SHARE)), hostile_msgpack(rng))
