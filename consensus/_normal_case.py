"""Requests, batching, and the three-phase agreement: pre-prepare, prepare, commit, execute."""

from __future__ import annotations

from typing import Any

from . import _admission, _checkpoint, _view_change
from ._app import ApplicationError, ExecutionContext
from ._clients import STALE, operation_digest
from ._durable import Committed, OwnMessage, Prepared
from ._errors import LocalProtocolError, RemoteProtocolError
from ._messages import (
    MAX_RESULT_BYTES,
    OUTCOME_EXECUTED,
    Commit,
    CommitCertificate,
    Envelope,
    Prepare,
    PreparedProof,
    PrePrepare,
    Request,
)
from ._ready import Executed, RequestCommitted
from ._state import ClientRecord, ReplicaState, RequestKey, Slot


def on_request(r: ReplicaState, envelope: Envelope[Request]) -> None:
    request = envelope.message
    client = envelope.sender
    record = r.clients.get(client)
    if record is not None and request.timestamp == record.timestamp:
        _resend_reply(r, client, record, request)
        return
    if not r.clients.fresh(client, request.timestamp):
        r.stats.requests_stale += 1
        return
    if request.horizon_seq <= r.last_executed:  # expired: never proposed, never timed
        r.stats.requests_expired += 1
        return
    if not _admission.admit(r, envelope):
        return
    _admission.note_arrival(r, (client, request.timestamp))
    if r.is_primary() and not r.changing:
        cut_batches(r)


def _resend_reply(r: ReplicaState, client: bytes, record: ClientRecord,
                  request: Request) -> None:
    """Answer a repeat of the client's last executed request with its cached result.

    Only for the very operation that executed: a different operation under the same
    timestamp never ran, and its f+1 "matching" replies would acknowledge it. At most once per
    `reply_resend_interval_ticks` per client: a flood of replayed copies costs one reply.
    """
    if record.operation_digest != operation_digest(request.operation):
        r.stats.requests_stale += 1
        return
    last = r.reply_ticks.get(client)
    if last is not None and r.now_ticks - last < r.config.reply_resend_interval_ticks:
        r.stats.replies_suppressed += 1
        return
    r.reply_ticks[client] = r.now_ticks
    r.stats.replies_resent += 1
    r.reply(client, record.timestamp, record.result, record.seq)


def cut_batches(r: ReplicaState) -> None:
    """Cut a batch when it is full, when its oldest request waited a tick, or when idle;
    never past the window's byte budget (one batch always goes into an empty window)."""
    config = r.config
    while r.waiting and not r.changing and r.is_primary():
        if r.drop_expired_pending(r.next_seq + 1) and not r.waiting:
            return  # the primary proposes no request that expired before its seq
        inflight = r.next_seq - r.last_executed
        if inflight >= config.max_inflight_batches:
            return
        if r.next_seq + 1 > r.stable_seq + config.log_window_seqs:
            return
        oldest_tick = r.waiting.oldest_tick()
        full = len(r.waiting) >= config.batch_max_requests
        due = oldest_tick is not None and r.now_ticks - oldest_tick >= config.batch_timeout_ticks
        if not (full or due or inflight == 0):
            return
        keys = _batch_in_budget(r)
        if keys is None:
            return
        for key in keys:
            r.waiting.pop(key)
        r.next_seq += 1
        envelope = r.sign(PrePrepare(r.view, r.next_seq, tuple(r.pending[k] for k in keys)))
        r.persist(OwnMessage(envelope))
        r.broadcast(envelope)
        accept_pre_prepare(r, envelope)


def window_bytes(r: ReplicaState) -> int:
    """Signed requests in this view's pre-prepares after the stable checkpoint: what a
    VIEW-CHANGE from here would carry once they prepare (`_frame_bounds`)."""
    total = 0
    for seq in range(r.stable_seq + 1, r.next_seq + 1):
        slot = r.log.get(seq)
        if slot is not None and slot.view == r.view and slot.pre_prepare is not None:
            total += batch_bytes(slot.pre_prepare.message)
    return total


def batch_bytes(pre_prepare: PrePrepare) -> int:
    return sum(len(request.wire) for request in pre_prepare.requests)


def _batch_in_budget(r: ReplicaState) -> list[RequestKey] | None:
    """The next batch, within the window's byte budget; None: wait for a checkpoint.

    An empty window always takes a batch. When the next request does not fit, empty batches
    carry the seqs to the next checkpoint, whose stability empties the window: waiting
    instead would wait for a checkpoint that nothing moves towards."""
    used = window_bytes(r)
    room = r.config.window_budget_bytes - used
    keys = _admission.next_batch(r, min(r.config.batch_max_bytes, max(room, 1)))
    if not used or sum(len(r.pending[k].wire) for k in keys) <= room:
        return keys
    if r.next_seq % r.config.checkpoint_interval_seqs == 0:
        return None
    return []


def admit(r: ReplicaState, envelope: Envelope[Any], view: int, sender: int) -> bool:
    """True if a message of `view` may be processed now; buffers or answers the rest.

    A message we cannot use still shows how far its sender got: f+1 senders ahead of us is
    evidence that we fell behind, and state transfer catches us up whatever our view.
    """
    seq = getattr(envelope.message, "seq", 0)
    beyond_window = seq > r.stable_seq + r.config.log_window_seqs
    if seq > r.last_executed and (view != r.view or r.changing or beyond_window):
        r.ahead_seqs[sender] = max(seq, r.ahead_seqs.get(sender, 0))
    if view < r.view:
        _view_change.help_stale(r, sender)
        return False
    if view > r.view or r.changing:
        _view_change.buffer_future(r, view, envelope, sender)
        return False
    return True


def on_pre_prepare(r: ReplicaState, envelope: Envelope[PrePrepare], sender: int) -> None:
    pre_prepare = envelope.message
    if sender != r.primary_of(pre_prepare.view):
        raise RemoteProtocolError(f"pre-prepare from replica {sender}, not the primary")
    if len(pre_prepare.requests) > r.config.batch_max_requests:
        raise RemoteProtocolError("batch larger than batch_max_requests")
    limit = min(r.config.batch_max_bytes, r.config.window_budget_bytes)
    if len(pre_prepare.requests) > 1 and batch_bytes(pre_prepare) > limit:
        raise RemoteProtocolError("batch larger than a batch or a window may carry")
    if not admit(r, envelope, pre_prepare.view, sender) or not r.in_window(pre_prepare.seq):
        return
    accept_pre_prepare(r, envelope)


def accept_pre_prepare(r: ReplicaState, envelope: Envelope[PrePrepare]) -> None:
    pre_prepare = envelope.message
    slot = r.slot(pre_prepare.seq)
    digest = pre_prepare.digest
    if slot.pre_prepare is not None:
        if slot.digest != digest:
            primary = r.primary_of(pre_prepare.view)
            r.byzantine(primary, f"two pre-prepares for seq {pre_prepare.seq}")
        return
    if slot.own_prepare is not None and slot.own_prepare != digest:
        return
    slot.pre_prepare = envelope
    slot.digest = digest
    for request in pre_prepare.requests:
        r.waiting.served((request.sender, request.message.timestamp), r.now_ticks)
    if not r.is_primary() and slot.own_prepare is None:
        slot.own_prepare = digest
        own = r.vote(Prepare(r.view, pre_prepare.seq, digest))
        slot.prepares.setdefault(digest, {})[r.me] = own
    check_prepared(r, pre_prepare.seq, slot)


def _add_vote(r: ReplicaState, votes: dict[bytes, dict[int, Any]], digest: bytes, sender: int,
              envelope: Envelope[Any], kind: str, seq: int) -> None:
    for other_digest, voters in votes.items():
        if sender in voters:
            if other_digest != digest:
                r.byzantine(sender, f"two {kind}s for seq {seq} in view {r.view}")
            return
    votes.setdefault(digest, {})[sender] = envelope


def on_prepare(r: ReplicaState, envelope: Envelope[Prepare], sender: int) -> None:
    prepare = envelope.message
    if sender == r.primary_of(prepare.view):
        raise RemoteProtocolError("the primary does not send prepares")
    if not admit(r, envelope, prepare.view, sender) or not r.in_window(prepare.seq):
        return
    slot = r.slot(prepare.seq)
    _add_vote(r, slot.prepares, prepare.digest, sender, envelope, "prepare", prepare.seq)
    check_prepared(r, prepare.seq, slot)


def on_commit(r: ReplicaState, envelope: Envelope[Commit], sender: int) -> None:
    commit = envelope.message
    if not admit(r, envelope, commit.view, sender) or not r.in_window(commit.seq):
        return
    slot = r.slot(commit.seq)
    _add_vote(r, slot.commits, commit.digest, sender, envelope, "commit", commit.seq)
    check_committed(r, commit.seq, slot)


def check_prepared(r: ReplicaState, seq: int, slot: Slot) -> None:
    if slot.prepared or slot.pre_prepare is None or slot.digest is None:
        return
    votes = slot.prepares.get(slot.digest, {})
    needed = r.config.quorum - 1
    if len(votes) < needed:
        return
    slot.prepared = True
    proof = PreparedProof(slot.pre_prepare, tuple(votes[i] for i in sorted(votes)[:needed]))
    r.prepared_certs[seq] = proof
    r.persist(Prepared(proof))
    if slot.own_commit is None:
        slot.own_commit = slot.digest
        own = r.vote(Commit(r.view, seq, slot.digest))
        slot.commits.setdefault(slot.digest, {})[r.me] = own
    check_committed(r, seq, slot)


def check_committed(r: ReplicaState, seq: int, slot: Slot) -> None:
    """2f+1 matching commits prove the batch committed, even if we missed its prepares."""
    if slot.certificate is not None or slot.pre_prepare is None or slot.digest is None:
        return
    votes = slot.commits.get(slot.digest, {})
    quorum = r.config.quorum
    if len(votes) < quorum:
        return
    slot.certificate = CommitCertificate(
        slot.pre_prepare, tuple(votes[i] for i in sorted(votes)[:quorum])
    )
    execute_ready(r)


def execute_ready(r: ReplicaState) -> None:
    progressed = False
    while True:
        slot = r.log.get(r.last_executed + 1)
        if slot is None or slot.certificate is None:
            break
        execute_certificate(r, slot.certificate)
        progressed = True
    if progressed:
        on_progress(r)


def execute_certificate(r: ReplicaState, certificate: CommitCertificate) -> None:
    pre_prepare = certificate.pre_prepare.message
    seq = pre_prepare.seq
    if seq != r.last_executed + 1:
        raise LocalProtocolError(f"executing seq {seq} after {r.last_executed}")
    _admission.note_executed(r, pre_prepare.requests)
    for request in pre_prepare.requests:
        _execute_request(r, seq, request)
    r.stats.clients_evicted += r.clients.take_evicted()
    r.last_executed = seq
    r.next_seq = max(r.next_seq, seq)
    r.committed_certs[seq] = certificate
    r.persist(Committed(certificate))
    r.stats.batches_executed += 1
    _checkpoint.after_execute(r, seq)


def _execute_request(r: ReplicaState, seq: int, envelope: Envelope[Request]) -> None:
    """Execute one ordered request: the boundary between the protocol and the application.

    The operation is whatever bytes a correctly signed client (or a Byzantine replica
    with its own key) chose, so the application must answer any bytes at all with a
    result, the same on every replica: its typed `ApplicationError` becomes an
    `error: ...` result. Anything else it raises is a bug in the application, never the
    sender's fault, and need not be deterministic (a `RecursionError` depends on the stack
    depth it strikes at): it is not turned into a result, which could split the replicas.
    It becomes a `LocalProtocolError`, which stops this replica (and so this table on this
    node) loudly; the node's shell contains it to the table and carries on.
    """
    client = envelope.sender
    timestamp = envelope.message.timestamp
    r.drop_pending_through(client, timestamp)
    horizon = envelope.message.horizon_seq
    verdict = r.clients.verdict(client, timestamp, horizon, seq)
    if verdict == STALE:
        return
    if verdict != OUTCOME_EXECUTED:  # refused, the same on every replica: the table unchanged
        r.stats.requests_refused += 1
        r.reply(client, timestamp, b"", seq, verdict)
        return
    context = ExecutionContext(seq, client, timestamp)
    try:
        result = r.app.execute(envelope.message.operation, context)
    except ApplicationError as exc:
        result = b"error: " + str(exc).encode()[: MAX_RESULT_BYTES - 7]
    except Exception as exc:  # the application's bug: stop this table, never guess a result
        raise LocalProtocolError(
            f"the application raised {type(exc).__name__} executing a request at seq {seq}"
        ) from exc
    if type(result) is not bytes or len(result) > MAX_RESULT_BYTES:
        raise LocalProtocolError("the application returned a result that is not bytes or too long")
    digest = operation_digest(envelope.message.operation)
    r.clients.record(client, ClientRecord(timestamp, result, digest, seq, horizon))
    r.reply_ticks[client] = r.now_ticks
    r.stats.requests_executed += 1
    r.executed(Executed(seq, envelope, result))
    r.event(RequestCommitted(seq, client, timestamp))
    r.reply(client, timestamp, result, seq)


def resend_own_votes(r: ReplicaState, recipients: tuple[bytes, ...], after: int) -> None:
    """Send again, unchanged, the votes we already sent (and persisted) in this view for
    every seq past `after` and our last executed one: our pre-prepare, prepare and commit.

    After a whole-table cut each replica comes back holding only its own votes; nobody would
    repeat them, and the batch in flight would wait for a view change. Re-sending persisted
    votes contradicts nothing, and a peer treats a vote it already holds as a no-op.
    """
    if r.changing:
        return
    for seq in sorted(r.log):
        slot = r.log[seq]
        if seq <= max(after, r.last_executed) or slot.view != r.view:
            continue
        own: list[Envelope[Any] | None] = [
            slot.pre_prepare if r.is_primary() else None,
            slot.prepares.get(slot.own_prepare or b"", {}).get(r.me),
            slot.commits.get(slot.own_commit or b"", {}).get(r.me),
        ]
        for envelope in own:
            if envelope is not None:
                r.send(recipients, envelope)


def purge_executed_requests(r: ReplicaState) -> None:
    """Drop pending requests the client table shows as already executed (after a transfer)."""
    for client in list(r.pending_by_client):
        r.drop_pending_through(client, r.clients.last_timestamp(client))
    r.drop_expired_pending(r.last_executed + 1)


def on_progress(r: ReplicaState) -> None:
    """Progress resets the view-change backoff. The request timer restarts only once the
    request it times has executed (Castro and Liskov): other clients' requests executing
    must not keep a starved one from ever being forwarded or blamed on the primary."""
    r.backoff_exponent = 0
    r.gap_since = None
    r.ahead_seqs = {s: seq for s, seq in r.ahead_seqs.items() if seq > r.last_executed}
    r.drop_expired_pending(r.last_executed + 1)
    if r.request_timer_key not in r.pending:
        _admission.restart_timer(r)
    if r.is_primary() and not r.changing:
        cut_batches(r)


def on_tick(r: ReplicaState) -> None:
    interval = r.config.reply_resend_interval_ticks
    if r.now_ticks % interval == 0 and r.reply_ticks:
        r.reply_ticks = {c: t for c, t in r.reply_ticks.items() if r.now_ticks - t < interval}
    if r.is_primary() and not r.changing and r.waiting:
        cut_batches(r)
