"""A flood of fresh keys: a client that signs each request with a key never used before.

Keys cost nothing to mint, so a flood of them is the cheapest way to fill a replica's
pending requests: each key holds a valid, correctly signed request the replicas must order
or drop. The replicas' admission control (`consensus/_admission.py`) keeps these to the
places reserved for keys the table does not know, and draws batches alternately from them and
from known clients, so honest players keep their pace. Part of the hostile-payload fault.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from .._config import ReplicaConfig
from .._crypto import Signer
from .._messages import MAX_OPERATION_BYTES, Envelope, Request, signing_bytes
from ._rng import Rng

FLOOD_PROBABILITY = 0.1
"""Fresh-key requests per tick, without end, unless given (scenarios draw theirs from
`FRESH_KEYS_PER_TICK`, 0.2-0.5): more than the slowest drawn tunables give new clients (half
the batches at most), so the new clients' places fill and admission decides."""


@dataclass
class FreshKeyFlood:
    """Each tick, with `probability`, one request signed by a brand-new key, sent to all."""

    make_signer: Callable[[bytes], Signer]
    config: ReplicaConfig
    rng: Rng
    operation: Callable[[Rng], bytes]
    label: str
    probability: float = FLOOD_PROBABILITY
    until_tick: int | None = None
    """The last tick it floods (None: the whole run)."""
    submitted: int = 0

    def act(self, now: int) -> list[Envelope[Request]]:
        if self.until_tick is not None and now > self.until_tick:
            return []
        if not self.rng.chance(self.probability):
            return []
        seed = hashlib.sha256(f"{self.label}/{self.submitted}".encode()).digest()
        signer = self.make_signer(seed)
        request = Request(1 + self.rng.below(1 << 20), self.operation(self.rng)[
            :MAX_OPERATION_BYTES])
        table = self.config.table_id
        signature = signer.sign(signing_bytes(table, signer.public_key, request))
        self.submitted += 1
        return [Envelope(table, signer.public_key, request, signature)]
