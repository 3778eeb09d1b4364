"""This node's PBFT clients of one table: its own key and a pool of keys derived from it.

PBFT's client rule, kept through timeouts: a request that has not completed is still
outstanding and is retransmitted to every replica until it does. A caller that stops waiting
gets `OutcomeUnknown` (the request may still commit); its client is not used for another
request until that one completes. A new request waits, within its own deadline, for a free
client, and otherwise gets `ClientsBusy`: it was never sent. Timestamps only grow, across
restarts and clock steps too: each client numbers from the latest of the replica's record of
its last executed request + 1, the durable ceiling in `ClientStamps`, and the clock.

Each request may execute only up to its horizon: the seq our replica last executed when it
was signed, plus the table's `request_window_seqs`. Every tick each busy client observes our
replica (its executed seq and its record of the client); once the replica is past the
horizon without executing the request, the request ends as `RequestNotExecuted` (definite:
it never ran and never will), like the replicas' own refusals (client table full of active
players, a horizon they refuse). Only if our replica jumped far past the horizon by state
transfer before a quorum answered is the end `OutcomeLost`: it will not run from now on,
and whether it ran nobody can say any more.

Requests sent for the API are tracked (`tracked`, or an idempotency `key`) in the table's
`RequestLedger`: each gets a request id, an entry written before it leaves, and its outcome
once it ends. A key already in the ledger is answered from it (the same result or refusal,
or the same outstanding request) and nothing is sent. At start the clients resume the
ledger's pending requests, resending the very same signed bytes, before any new request.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import trio

from bitcraps.consensus import (
    OUTCOME_EXPIRED,
    OUTCOME_TABLE_FULL,
    Client,
    Completed,
    DecodeError,
    Ended,
    Envelope,
    Lapsed,
    NotExecuted,
    ReplicaConfig,
    Request,
    Send,
    Signer,
    decode_envelope,
)

from .client_stamps import STAMP_BLOCK, ClientStamps, MemoryStamps
from .request_ledger import KeyConflict, KeyInUse, LedgerEntry, RequestLedger

__all__ = ["ClientsBusy", "IdempotencyConflict", "OutcomeLost", "OutcomeUnknown",
           "PendingRequest", "RequestNotExecuted", "SubmitError", "TableClients",
           "wall_clock_us"]

Offload = Callable[..., Awaitable[Any]]


class SubmitError(Exception):
    """A request could not be committed in time. Unless it is `OutcomeUnknown` or
    `OutcomeLost`, it did not execute (`ClientsBusy`: it was never sent). `request_id`:
    the request's id in the ledger, if it was sent and tracked."""

    request_id: bytes | None = None


class ClientsBusy(SubmitError):
    """No client was free within the deadline; the request was never sent."""


class IdempotencyConflict(SubmitError):
    """The idempotency key names a request with another operation, or a call with the same
    key is still sending its request: nothing was sent."""


class OutcomeUnknown(SubmitError):
    """The request was sent but no quorum answered in time. It is still outstanding and
    retransmitted: it may yet commit. `pending.wait` can go on waiting for it."""

    def __init__(self, timeout_seconds: float, pending: PendingRequest) -> None:
        super().__init__(
            f"no quorum answered within {timeout_seconds:g} s; the request is still being "
            "retransmitted to the table's replicas and may yet commit (outcome unknown)")
        self.pending = pending


class RequestNotExecuted(SubmitError):
    """The request did not execute and never will (definite): it expired before the table
    ordered it, or the replicas refused it. Submitting it again is safe."""

    def __init__(self, ended: NotExecuted) -> None:
        super().__init__(_NOT_EXECUTED.get(ended.reason, "the table's replicas refused the "
                                           "request; it was not executed"))
        self.ended = ended


_NOT_EXECUTED = {
    OUTCOME_EXPIRED: "the request expired before the table ordered it; it was not executed "
                     "and never will be: submit it again",
    OUTCOME_TABLE_FULL: "the table is full of active players; the request was not executed: "
                        "retry later",
}


class OutcomeLost(SubmitError):
    """The request can never execute from now on, but whether it did cannot be learnt: our
    replica caught up by state transfer far past its horizon before a quorum answered."""

    def __init__(self, ended: Lapsed) -> None:
        super().__init__("this node fell far behind the table; the request can no longer "
                         "execute, but whether it did before is unknown (outcome lost)")
        self.ended = ended


def wall_clock_us() -> int:
    return time.time_ns() // 1000


class PendingRequest:
    """One sent request, until f+1 (or the quorum asked for) replicas agree on its result.
    `request_id`: its id in the table's ledger, if it is tracked there."""

    def __init__(self, timestamp: int, request_id: bytes | None = None) -> None:
        self.timestamp = timestamp
        self.request_id = request_id
        self.completed: Completed | None = None
        self.ended: Ended | None = None
        self._done = trio.Event()

    def finish(self, completed: Completed) -> None:
        self.completed = completed
        self._done.set()

    def end(self, ended: Ended) -> None:
        self.ended = ended
        self._done.set()

    async def wait(self, timeout_seconds: float) -> Completed:
        """The agreed result; `RequestNotExecuted` or `OutcomeLost` if it ended without
        one; `OutcomeUnknown` after `timeout_seconds` (call again to keep waiting: the
        request is still being retransmitted)."""
        with trio.move_on_after(max(0.0, timeout_seconds)):
            await self._done.wait()
        if self.completed is not None:
            return self.completed
        error: SubmitError
        if isinstance(self.ended, NotExecuted):
            error = RequestNotExecuted(self.ended)
        elif isinstance(self.ended, Lapsed):
            error = OutcomeLost(self.ended)
        else:
            error = OutcomeUnknown(timeout_seconds, self)
        error.request_id = self.request_id
        raise error


@dataclass(slots=True, eq=False)
class LocalClient:
    """One client key, and the request it is working on."""

    client: Client
    pooled: bool
    lock: trio.Lock = field(default_factory=trio.Lock)
    idle: trio.Event = field(default_factory=trio.Event)
    pending: PendingRequest | None = None


class TableClients:
    def __init__(self, config: ReplicaConfig, own: Signer, pool: Sequence[Signer], *,
                 last_executed: Callable[[bytes], int], offload: Offload,
                 executed_seq: Callable[[], int] = lambda: 0,
                 stamps: ClientStamps | None = None,
                 clock_us: Callable[[], int] = wall_clock_us,
                 ledger: RequestLedger | None = None) -> None:
        """`last_executed(key)`: our replica's record of a client key's last executed
        timestamp; `executed_seq()`: our replica's last executed seq (horizons, expiry);
        `ledger`: where tracked requests are kept (in memory only if None)."""
        self._config = config
        self._offload = offload
        self._stamps: ClientStamps = stamps if stamps is not None else MemoryStamps()
        self._stamp_lock = trio.Lock()
        self._clock_us = clock_us
        self._last_executed = last_executed
        self._executed_seq = executed_seq
        self.ledger = ledger if ledger is not None else RequestLedger()
        self._live: dict[bytes, PendingRequest] = {}  # tracked requests still outstanding
        self._outcomes = trio.Event()  # set when a tracked request ends
        self.ledger_write_failures = 0
        self.own = self._make(own, pooled=False)
        self.by_key = {own.public_key: self.own}
        self._idle_send, self._idle = trio.open_memory_channel[LocalClient](len(pool))
        for signer in pool:
            self.by_key[signer.public_key] = self._make(signer, pooled=True)
        self._resumed_outcomes = self._resume(self.ledger.pending())
        for local in self.by_key.values():
            if local.pooled and not local.client.busy:
                self._idle_send.send_nowait(local)

    def _make(self, signer: Signer, *, pooled: bool) -> LocalClient:
        client = Client(self._config, signer, first_timestamp=self._stamps.ceiling,
                        retransmit_timeout_ticks=self._config.view_change_timeout_ticks)
        local = LocalClient(client, pooled)
        local.idle.set()
        return local

    def _resume(self, entries: list[LedgerEntry]) -> bool:
        """Make each pending request of the ledger outstanding again on its client, the same
        signed bytes. One the replicas can no longer tell us about (its client executed a
        later request, or it is not ours) ends as lost: True if any did."""
        lost = False
        for entry in sorted(entries, key=lambda e: e.timestamp, reverse=True):
            local = self.by_key.get(entry.client)
            envelope = self._own_request(entry)
            if (local is None or envelope is None or local.client.busy
                    or self._last_executed(entry.client) > entry.timestamp):
                self.ledger.finish(entry.request_id, Lapsed(
                    entry.timestamp, 0 if envelope is None else envelope.message.horizon_seq,
                    self._executed_seq(), 0))
                lost = True
                continue
            local.client.adopt(envelope, quorum=entry.quorum)
            local.pending = self._live[entry.request_id] = PendingRequest(
                entry.timestamp, entry.request_id)
            local.idle = trio.Event()
        return lost

    def _own_request(self, entry: LedgerEntry) -> Envelope[Request] | None:
        """The stored signed request, if it is one of this table's, as the entry says."""
        try:
            envelope = decode_envelope(entry.envelope or b"")
        except DecodeError:
            return None
        message = envelope.message
        if (type(message) is not Request or envelope.sender != entry.client
                or envelope.table_id != self._config.table_id
                or message.timestamp != entry.timestamp
                or not self._config.weak_quorum <= entry.quorum <= self._config.n):
            return None
        return envelope

    @property
    def pool_size(self) -> int:
        return len(self.by_key) - 1

    def __iter__(self) -> Iterator[LocalClient]:
        return iter(self.by_key.values())

    async def send(self, operation: bytes, quorum: int | None, deadline: float, *,
                   pooled: bool, key: str | None = None,
                   tracked: bool = False) -> PendingRequest:
        """Sign and queue `operation` on a free client (a pooled one if asked and there
        are any); `ClientsBusy` if none is free by `deadline`. `tracked`: kept in the
        ledger (a request id, an outcome to look up). With an idempotency `key` it is
        tracked, and a key the ledger knows is answered from it: nothing is sent."""
        if key is None:
            return await self._send(operation, quorum, deadline, pooled, None, tracked)
        try:
            found = await self.ledger.claim(key, operation, deadline)
        except (KeyConflict, KeyInUse) as exc:
            raise IdempotencyConflict(f"{exc}; nothing was sent") from None
        if found is not None:
            return self.pending_of(found)
        try:
            return await self._send(operation, quorum, deadline, pooled, key, True)
        finally:
            self.ledger.release(key)

    def pending_of(self, entry: LedgerEntry) -> PendingRequest:
        """The request an entry names: the outstanding one, or one ended as it did."""
        live = self._live.get(entry.request_id)
        if live is not None:
            return live
        pending = PendingRequest(entry.timestamp, entry.request_id)
        outcome = entry.outcome()
        if isinstance(outcome, Completed):
            pending.finish(outcome)
        else:  # a pending entry is always live (`_resume`); lost if it were not
            pending.end(outcome or Lapsed(entry.timestamp, 0, self._executed_seq(), 0))
        return pending

    async def _send(self, operation: bytes, quorum: int | None, deadline: float,
                    pooled: bool, key: str | None, tracked: bool) -> PendingRequest:
        if pooled and self.pool_size:
            return await self._send_pooled(operation, quorum, deadline, key, tracked)
        own = self.own
        with trio.move_on_at(deadline):
            async with own.lock:  # first come, first served
                while own.client.busy:
                    await own.idle.wait()
                return await self._send_on(own, operation, quorum, key, tracked)
        waiting = own.pending.request_id if own.pending is not None else None
        raise ClientsBusy("this node's client of the table is still retransmitting an earlier "
                          "request whose outcome is unknown" +
                          (f" (request {waiting.hex()})" if waiting else "") +
                          "; this one was not sent: try again later")

    async def _send_pooled(self, operation: bytes, quorum: int | None, deadline: float,
                           key: str | None, tracked: bool) -> PendingRequest:
        local: LocalClient | None = None
        with trio.move_on_at(deadline):
            local = await self._idle.receive()
        if local is None:
            raise ClientsBusy(f"all {self.pool_size} of this node's client keys for the table "
                              "are retransmitting earlier requests; this one was not sent: "
                              "try again later")
        try:
            return await self._send_on(local, operation, quorum, key, tracked)
        finally:
            if not local.client.busy:  # not sent after all: free again at once
                self._idle_send.send_nowait(local)

    async def _send_on(self, local: LocalClient, operation: bytes, quorum: int | None,
                       key: str | None, tracked: bool) -> PendingRequest:
        client = local.client
        # Above what the replica last executed for this key (or the floor it keeps for keys
        # it evicted), as of now, not only at start; the clock where it is later.
        client.advance_timestamp(max(self._last_executed(client.signer.public_key) + 1,
                                     self._clock_us()))
        client.observe(self._executed_seq())  # the horizon: from what our replica executed
        while client.next_timestamp >= self._stamps.ceiling:
            await self._reserve(client.next_timestamp + STAMP_BLOCK)
        envelope = client.sign(operation)  # no await since the check
        entry = None
        if tracked or key is not None:
            entry = self.ledger.add(envelope, quorum or self._config.weak_quorum, key)
        with trio.CancelScope(shield=True):  # recorded, then sent: never one without the other
            await self._record(envelope.sender, entry)
        client.adopt(envelope, quorum=quorum)
        pending = local.pending = PendingRequest(envelope.message.timestamp,
                                                 None if entry is None else entry.request_id)
        if entry is not None:
            self._live[entry.request_id] = pending
        local.idle = trio.Event()
        return pending

    async def _record(self, client: bytes, entry: LedgerEntry | None) -> None:
        """Durably, before a request of `client` leaves: its entry (if tracked) and the
        outcome of the client's previous one (the replicas keep only the latest reply)."""
        if entry is None and not self.ledger.needs_flush(client):
            return
        try:
            await self.ledger.flush(self._offload)
        except OSError as exc:
            if entry is not None:
                self.ledger.forget(entry)
            raise SubmitError(f"this node cannot record the request, so it was not sent: "
                              f"{exc}") from None

    async def persist_outcomes(self) -> None:
        """Write tracked requests' outcomes soon after they end (a task of the shell's), so
        a lookup after a restart finds them without resending. A write that fails is
        counted; the client's next request writes it first, or is refused."""
        if self._resumed_outcomes:
            self._outcomes.set()
        while True:
            await self._outcomes.wait()
            self._outcomes = trio.Event()
            try:
                await self.ledger.flush(self._offload)
            except OSError:
                self.ledger_write_failures += 1

    async def _reserve(self, ceiling: int) -> None:
        """Durably raise the ceiling before a request at or above it leaves."""
        async with self._stamp_lock:
            if ceiling > self._stamps.ceiling:
                try:
                    await self._offload(self._stamps.reserve, ceiling)
                except OSError as exc:
                    raise SubmitError("cannot record this node's request timestamps: "
                                      f"{exc.strerror}") from None

    def take_sends(self, local: LocalClient) -> list[Send]:
        return local.client.take_sends()

    def collect(self, local: LocalClient) -> None:
        """Hand completed (or ended) requests to whoever waits (or waited) on them, and to
        the ledger; free the client."""
        done: list[Completed | Ended] = [*local.client.take_completed(),
                                          *local.client.take_ended()]
        for item in done:
            pending = local.pending
            if pending is None or pending.timestamp != item.timestamp:
                continue
            local.pending = None
            if pending.request_id is not None:
                self._live.pop(pending.request_id, None)
                self.ledger.finish(pending.request_id, item)
                self._outcomes.set()
            if isinstance(item, Completed):
                pending.finish(item)
            else:
                pending.end(item)
            local.idle.set()
            if local.pooled:
                self._idle_send.send_nowait(local)

    def tick(self) -> None:
        """Retransmit, and end requests our replica executed past without them."""
        executed_seq = self._executed_seq()
        for local in self.by_key.values():
            client = local.client
            if client.busy:
                client.tick()
                client.observe(executed_seq, self._last_executed(client.signer.public_key))
