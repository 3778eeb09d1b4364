"""The trio shell around one table's replica: the only task that touches it.

It waits on its inbox or its next tick deadline (never polls), verifies what arrived in one
batch off the trio thread, steps the replica, and obeys the Ready rule: records are durable
before any message of that Ready is handed to the per-peer senders. A local client lets the
node's API commit requests on the table.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import trio

from bitcraps.consensus import (
    Completed,
    DecodeError,
    Envelope,
    Event,
    Executed,
    Record,
    Replica,
    ReplicaConfig,
    Reply,
    SignatureCheck,
    Signer,
    decode_envelope,
)

from .client_stamps import ClientStamps
from .request_ledger import LedgerEntry, RequestLedger
from .table_clients import (
    ClientsBusy,
    LocalClient,
    OutcomeUnknown,
    PendingRequest,
    SubmitError,
    TableClients,
    wall_clock_us,
)
from .table_inbox import TableInbox
from .verification import VerificationCache, apply_verdicts, plan_batch, plan_outer

if TYPE_CHECKING:
    from trio_typing import TaskStatus

__all__ = ["ClientsBusy", "OutcomeUnknown", "PendingRequest", "SubmitError", "TableShell",
           "inline_offload", "thread_offload", "ticks_for"]

INLINE_VERIFY_MAX = 4
OUTBOX_FRAMES = 4096
STEP_BATCH_MAX = 512

FrameSender = Callable[[bytes, bytes], Awaitable[None]]
BatchVerify = Callable[[Sequence[SignatureCheck]], list[bool]]
Offload = Callable[..., Awaitable[Any]]
"""Runs a blocking call off the trio thread: `await offload(fn, *args)`."""


def thread_offload(limiter: trio.CapacityLimiter) -> Offload:
    async def offload(fn: Callable[..., Any], *args: Any) -> Any:
        return await trio.to_thread.run_sync(fn, *args, limiter=limiter)
    return offload


async def inline_offload(fn: Callable[..., Any], *args: Any) -> Any:
    """Blocking calls on the trio thread: deterministic under a virtual clock, for tests."""
    return fn(*args)


class Storage(Protocol):
    def write(self, records: Sequence[Record], sync: bool = True) -> None: ...


@dataclass(slots=True)
class TableStatistics:
    frames_in: int = 0
    inbox_dropped: int = 0
    not_replica: int = 0     # replica messages signed by a key that is no replica: dropped
    throttled: int = 0       # requests refused: their peer had too many in flight
    duplicates: int = 0      # envelopes already verified once: retransmitted or replayed
    decode_errors: int = 0
    bad_signatures: int = 0
    stepped: int = 0
    ticks: int = 0
    persisted_batches: int = 0
    frames_out: int = 0
    outbox_dropped: int = 0
    send_failures: int = 0


class TableShell:
    def __init__(self, *, config: ReplicaConfig, replica: Replica, storage: Storage,
                 signer: Signer, verify_batch: BatchVerify, send_frame: FrameSender,
                 tick_seconds: float, offload: Offload | None = None,
                 on_event: Callable[[Event], None] | None = None,
                 on_executed: Callable[[Executed], None] | None = None,
                 verify_inline: BatchVerify | None = None,
                 client_pool: Sequence[Signer] = (),
                 client_stamps: ClientStamps | None = None,
                 clock_us: Callable[[], int] = wall_clock_us,
                 request_ledger: RequestLedger | None = None) -> None:
        """`client_stamps` keeps our clients' request timestamps increasing across restarts
        (in memory if None); `clock_us` is the wall clock they follow, in microseconds;
        `request_ledger` keeps the requests `submit` sends (in memory if None)."""
        self.config = config
        self.replica = replica
        self.stats = TableStatistics()
        self._storage = storage
        self._me = signer.public_key
        self._verify_batch = verify_batch
        # Small batches are verified on the trio thread: with a verifier that hands them to
        # worker processes, that would block the event loop on IPC (ms on a busy machine).
        self._verify_inline = verify_inline or verify_batch
        self._send_frame = send_frame
        self._tick_seconds = tick_seconds
        self._offload = offload or thread_offload(trio.CapacityLimiter(1))
        self.on_event = on_event
        self._on_executed = on_executed
        self._cache = VerificationCache()
        self._inbox = TableInbox(config, replica.client_timestamp)
        self._outboxes: dict[bytes, trio.MemorySendChannel[bytes]] = {}
        self._nursery: trio.Nursery | None = None
        self._clients = TableClients(config, signer, client_pool,
                                     last_executed=replica.client_timestamp,
                                     executed_seq=lambda: replica.last_executed_seq,
                                     offload=self._offload, stamps=client_stamps,
                                     clock_us=clock_us, ledger=request_ledger)
        self._progress = trio.Event()
        self._executed_seq = replica.last_executed_seq
        self._proposals: list[Envelope[Any]] = []  # our clients' requests to our replica

    # --- inputs from the node ------------------------------------------------------------

    def deliver(self, peer: bytes, envelope: Envelope[Any]) -> bool:
        """Queue a decoded envelope from a peer, in that peer's queue (`TableInbox`); False
        (and counted) when it is dropped: a replica message from a key that is no replica,
        or the peer's queue is full."""
        self.stats.frames_in += 1
        refused = self._inbox.put(peer, envelope)
        if refused is None:
            return True
        if refused == "not_replica":
            self.stats.not_replica += 1
        else:
            self.stats.inbox_dropped += 1
        return False

    def deliver_frame(self, peer: bytes, frame: bytes) -> bool:
        try:
            envelope = decode_envelope(frame)
        except DecodeError:
            self.stats.decode_errors += 1
            return False
        return self.deliver(peer, envelope)

    async def submit(self, operation: bytes, timeout_seconds: float = 30.0, *,
                     pooled: bool = False, key: str | None = None) -> tuple[int, bytes]:
        """Commit one request through the table; returns (timestamp, agreed result).

        The request is signed by this node's key, one at a time; with `pooled`, by the
        next idle key of the client pool, so that many can be in flight at once (for
        requests whose signer does not matter to the application). `SubmitError` after
        `timeout_seconds`: `ClientsBusy` (never sent) or `OutcomeUnknown` (sent, and still
        retransmitted until it completes). The request is tracked in the request ledger;
        with an idempotency `key` the ledger knows, its first outcome is the answer."""
        completed = await self.submit_with_quorum(operation, None, timeout_seconds,
                                                  pooled=pooled, key=key)
        return completed.timestamp, completed.result

    async def submit_with_quorum(self, operation: bytes, quorum: int | None,
                                 timeout_seconds: float = 30.0, *,
                                 pooled: bool = False, key: str | None = None) -> Completed:
        """Commit one request and wait for `quorum` matching replies (default f+1): with
        2f+1, `Completed.replies` is a certificate of the result anyone can check."""
        deadline = trio.current_time() + timeout_seconds
        pending = await self.send_request(operation, quorum, deadline, pooled=pooled,
                                          key=key, tracked=True)
        return await pending.wait(deadline - trio.current_time())

    async def send_request(self, operation: bytes, quorum: int | None, deadline: float, *,
                           pooled: bool = False, key: str | None = None,
                           tracked: bool = False) -> PendingRequest:
        """Send one request as soon as a client is free (`ClientsBusy` if none is by
        `deadline`); its `PendingRequest` completes once `quorum` replicas agree, however
        long after any caller stopped waiting. `tracked`/`key`: see `TableClients.send`."""
        pending = await self._clients.send(operation, quorum, deadline, pooled=pooled,
                                           key=key, tracked=tracked)
        self._flush_clients()
        self._wake_loop()
        return pending

    async def wait_progress(self) -> None:
        """Return after the replica next executes something (for health and watchdog)."""
        await self._progress.wait()

    # --- the loop ------------------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            self._outboxes = {}  # a run after a failed one: the old senders are gone
            nursery.start_soon(self._clients.persist_outcomes)
            task_status.started()
            next_tick = trio.current_time() + self._tick_seconds
            while True:
                batch = await self._receive_until(next_tick)
                if batch:
                    await self._verify_and_step(batch)
                now = trio.current_time()
                if now >= next_tick:
                    self._tick()
                    next_tick = max(next_tick + self._tick_seconds, now)
                self._propose_local()
                await self._drain_ready()

    async def _receive_until(self, deadline: float) -> list[tuple[bytes, Envelope[Any]]]:
        """Peers' envelopes, in turn per peer; each client request admitted (`TableInbox`)."""
        batch = await self._inbox.receive_until(deadline, STEP_BATCH_MAX)
        now_ticks = self.replica.now_ticks
        admitted = [(peer, e) for peer, e in batch if self._inbox.admit(peer, e, now_ticks)]
        self.stats.throttled += len(batch) - len(admitted)
        return admitted

    def _wake_loop(self) -> None:
        """A request for our own replica from outside the loop: have the loop propose it
        and drain its Ready now rather than at the next tick or frame."""
        self._inbox.wake()

    def _propose_local(self) -> None:
        """Hand our clients' requests to our replica, in the loop's task: what it raises
        (in a one-replica table the request executes right here) is the table's fault, for
        its supervisor, never the API caller's."""
        proposals, self._proposals = self._proposals, []
        for proposal in proposals:
            self.replica.propose(proposal)

    def _tick(self) -> None:
        self.stats.ticks += 1
        self.replica.tick()
        self._clients.tick()
        self._flush_clients()

    async def _verify(self, checks: list[SignatureCheck]) -> list[bool]:
        if not checks:
            return []
        if len(checks) <= INLINE_VERIFY_MAX:
            return self._verify_inline(checks)
        verdicts: list[bool] = await self._offload(self._verify_batch, checks)
        return verdicts

    async def _verify_and_step(self, batch: list[tuple[bytes, Envelope[Any]]]) -> None:
        envelopes = [envelope for _, envelope in batch]
        self.stats.duplicates += sum(1 for e in envelopes if e.digest in self._cache)
        outer = plan_outer(envelopes, self._cache)  # carriers first: nested ones only after
        if outer.checks:
            verdicts = await self._verify(outer.checks)
            forged = {id(e) for e, ok in zip(outer.envelopes, apply_verdicts(
                outer, verdicts, self._cache), strict=True) if not ok}
            self.stats.bad_signatures += len(forged)
            envelopes = [e for e in envelopes if id(e) not in forged]
        plan = plan_batch(envelopes, self._cache)
        verdicts = await self._verify(plan.checks)
        for envelope, valid in zip(plan.envelopes, apply_verdicts(plan, verdicts, self._cache),
                                   strict=True):
            if not valid:
                self.stats.bad_signatures += 1
            elif type(envelope.message) is Reply:
                self._take_reply(envelope)
            else:
                self.stats.stepped += 1
                self.replica.step(envelope)

    async def _drain_ready(self) -> None:
        replica = self.replica
        while replica.has_ready():
            ready = replica.ready()
            if ready.persist:
                await self._offload(self._storage.write, ready.persist, ready.must_sync)
                self.stats.persisted_batches += 1
                replica.persisted(ready.token)
            for send in ready.send:
                for peer in send.recipients:
                    self._route(peer, send.envelope)
            for executed in ready.execute:
                if self._on_executed is not None:
                    self._on_executed(executed)
            if replica.last_executed_seq != self._executed_seq:
                self._executed_seq = replica.last_executed_seq
                self._progress.set()
                self._progress = trio.Event()
            for event in ready.events:
                if self.on_event is not None:
                    self.on_event(event)
            replica.advance(ready)

    # --- routing -------------------------------------------------------------------------

    def _route(self, peer: bytes, envelope: Envelope[Any]) -> None:
        # A reply to one of our own clients (our key or the pool's) is taken here: nothing
        # routes a pool key's replies back to us (they are not a peer), and in a one-replica
        # table our own replica's reply is the only one.
        if type(envelope.message) is Reply and (peer == self._me or
                                                peer in self._clients.by_key):
            self._take_reply(envelope)
            return
        if peer == self._me:
            self.replica.step(envelope)
            return
        self._enqueue(peer, envelope.wire)

    def _take_reply(self, envelope: Envelope[Any]) -> None:
        local = self._clients.by_key.get(envelope.message.client)
        if local is not None:
            local.client.step(envelope)
            self._clients.collect(local)

    def _flush_clients(self) -> None:
        for local in self._clients:
            for send in self._clients.take_sends(local):
                for peer in send.recipients:
                    if peer == self._me:
                        self._proposals.append(send.envelope)
                    else:
                        self._enqueue(peer, send.envelope.wire)
            self._clients.collect(local)

    def request(self, request_id: bytes) -> tuple[LedgerEntry, PendingRequest] | None:
        """A tracked request by its id (while the ledger keeps it), and its outcome."""
        entry = self._clients.ledger.get(request_id)
        return None if entry is None else (entry, self._clients.pending_of(entry))

    def client_of(self, key: bytes) -> LocalClient | None:
        """This node's client with public key `key` (its own, or one of the pool)."""
        return self._clients.by_key.get(key)

    def _enqueue(self, peer: bytes, frame: bytes) -> None:
        outbox = self._outboxes.get(peer)
        if outbox is None:
            if self._nursery is None:
                return
            outbox, receive = trio.open_memory_channel[bytes](OUTBOX_FRAMES)
            self._outboxes[peer] = outbox
            self._nursery.start_soon(self._sender, peer, receive)
        try:
            outbox.send_nowait(frame)
        except trio.WouldBlock:
            self.stats.outbox_dropped += 1

    async def _sender(self, peer: bytes, frames: trio.MemoryReceiveChannel[bytes]) -> None:
        """One task per peer: a slow or unreachable peer delays only its own frames.

        The protocol tolerates loss (view change, state transfer), so a frame that cannot
        be sent is counted and dropped rather than retried here.
        """
        async for frame in frames:
            try:
                await self._send_frame(peer, frame)
                self.stats.frames_out += 1
            except Exception:  # any link failure is the link's business, never the table's
                self.stats.send_failures += 1


def ticks_for(seconds: float, tick_seconds: float) -> int:
    return max(1, math.ceil(seconds / tick_seconds))
