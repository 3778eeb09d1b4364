"""A simulated replica's own client: it posts what the replica's `CrapsDuties` say is due.

What a node's table task does, minus I/O: tick the duties on the node's ticks, queue what
`due()` returns (each operation comes back once, so the queue is the node's memory of what
is not yet in the log), and submit the queue's head through the replica's client, signed
with the replica's key, one request at a time. The queue lives in memory: after a crash the
node gets a fresh client and fresh duties over its recovered table, whose `due()` returns
everything still wanted (a repeat is refused by the table, never harmful). Its client's
timestamps start from the tick it started at, as a real node's start from its clock, so
they never go back across a restart.

A replica faulty at the table (`TableFaults`) filters its coin shares here: it drops them,
or replaces each with a share of another value. A replica with the hostile-payload fault
also posts, between its duties, hostile operations signed with its replica key
(`_sim_craps_hostile`); their results count as neither posted nor refused duties.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from bitcraps.consensus import Client, Completed, Envelope, ReplicaConfig, Request, Signer
from bitcraps.consensus.sim import Rng

from . import _coin as coin
from ._sim_craps_scenario import TableFaults
from ._table_ops import (
    MAX_OPERATION_BYTES,
    SHARE,
    decode_operation,
    decode_result,
    encode_operation,
)
from .craps_app import CrapsApp
from .craps_duties import CrapsDuties

__all__ = ["DutyCounts", "Hostile", "ReplicaClient", "TIMESTAMPS_PER_TICK"]

TIMESTAMPS_PER_TICK = 1000
"""A client submits at most one request per tick, so a restarted client that starts at
`now * TIMESTAMPS_PER_TICK` is past every timestamp its earlier incarnations used."""


@dataclass
class DutyCounts:
    posted: int = 0
    refused: int = 0
    withheld: int = 0
    corrupted: int = 0
    dropped_stale: int = 0
    hostile: int = 0


HOSTILE_CHANCE = 0.1
"""How often a free hostile replica client posts a hostile operation instead of a duty."""


@dataclass
class Hostile:
    """Where a hostile replica's client draws its hostile operations from."""

    rng: Rng
    source: Callable[[Rng], bytes]


class ReplicaClient:
    """One incarnation of replica `index`'s client and duty queue."""

    def __init__(self, index: int, table: CrapsApp, duties: CrapsDuties, signer: Signer,
                 config: ReplicaConfig, faults: TableFaults | None, now: int,
                 retransmit_timeout_ticks: int, counts: DutyCounts,
                 hostile: Hostile | None = None) -> None:
        self.index = index
        self.table = table
        self.duties = duties
        self.faults = faults
        self.counts = counts
        self.client = Client(config, signer, first_timestamp=now * TIMESTAMPS_PER_TICK + 1,
                             retransmit_timeout_ticks=retransmit_timeout_ticks)
        self.queue: deque[bytes] = deque()
        self.outstanding: int | None = None
        self.hostile = hostile
        self._hostile_outstanding = False

    @property
    def key(self) -> bytes:
        return self.client.signer.public_key

    @property
    def idle(self) -> bool:
        return self.outstanding is None and not self.queue

    def take_completed(self) -> list[Completed]:
        done = self.client.take_completed()
        for item in done:
            self.outstanding = None
            if self._hostile_outstanding:
                self._hostile_outstanding = False
            elif decode_result(item.result).ok:
                self.counts.posted += 1
            else:
                self.counts.refused += 1
        return done

    def next_request(self) -> Envelope[Request] | None:
        """Tick the duties, queue what is due, and submit the head if the client is free."""
        self.duties.tick()
        for operation in self.duties.due():
            kept = self._filter(operation)
            if kept is not None:
                self.queue.append(kept)
        self._drop_stale_shares()
        if self.client.busy:
            return None
        hostile = self.hostile
        if hostile is not None and hostile.rng.chance(HOSTILE_CHANCE):
            self.counts.hostile += 1
            self._hostile_outstanding = True
            operation = hostile.source(hostile.rng)[:MAX_OPERATION_BYTES]
        elif self.queue:
            operation = self.queue.popleft()
        else:
            return None
        envelope = self.client.submit(operation)
        self.outstanding = envelope.message.timestamp
        return envelope

    def _drop_stale_shares(self) -> None:
        """A share for a roll that is no longer pending here is no use to anyone."""
        while self.queue and self._share_roll(self.queue[0]) not in (None,
                                                                    self.table.pending_roll):
            self.queue.popleft()
            self.counts.dropped_stale += 1

    @staticmethod
    def _share_roll(operation: bytes) -> int | None:
        op = decode_operation(operation)
        return coin.decode_coin_share(op.body).roll if op.verb == SHARE else None

    def _filter(self, operation: bytes) -> bytes | None:
        faults = self.faults
        roll = self._share_roll(operation)
        if faults is None or roll is None:
            return operation
        withhold = faults.withhold_shares and not (faults.corrupt_shares and roll % 2)
        if withhold:
            self.counts.withheld += 1
            return None
        if faults.corrupt_shares:
            self.counts.corrupted += 1
            return self._corrupt(operation)
        return operation

    def _corrupt(self, operation: bytes) -> bytes:
        """The same share message with the share point moved: well formed, proof and all,
        but not x_i * H(table, roll), so its proof cannot verify."""
        share = coin.decode_coin_share(decode_operation(operation).body)
        wrong = coin.CoinShare(share.replica, share.roll,
                               self.table.group.add(share.share, coin.BASE), share.proof)
        return encode_operation(SHARE, coin.encode_coin_share(wrong))
