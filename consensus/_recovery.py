"""Rebuilding a replica from what it persisted before it crashed."""

from __future__ import annotations

from collections.abc import Iterable

from . import _normal_case
from ._durable import (
    Committed,
    LatestNewView,
    OwnMessage,
    Prepared,
    Record,
    StableCheckpoint,
    ViewState,
)
from ._messages import Commit, Prepare, PrePrepare, ViewChange
from ._state import ReplicaState, state_digest


def recover(r: ReplicaState, records: Iterable[Record]) -> None:
    """Replay durable records silently, then send again our own votes still in flight."""
    records = list(records)
    r.silent = True
    try:
        _restore_checkpoint(r, records)
        committed = [x for x in records if isinstance(x, Committed)]
        for entry in sorted(committed, key=lambda x: x.seq):
            if entry.seq == r.last_executed + 1:
                _normal_case.execute_certificate(r, entry.certificate)
        for record in records:
            if isinstance(record, ViewState):
                r.view, r.changing = record.view, bool(record.changing)
            elif isinstance(record, LatestNewView):
                r.new_view_env = record.envelope
            elif isinstance(record, Prepared) and record.seq > r.stable_seq:
                r.prepared_certs[record.seq] = record.proof
        for record in records:
            if isinstance(record, OwnMessage):
                _restore_vote(r, record)
    finally:
        r.silent = False
    r.next_seq = max(r.next_seq, r.last_executed)
    r.gap_since = r.now_ticks
    r.fetch_deadline = None
    # The group may have moved on while we were down and gone quiet since: nothing would
    # ever show us the gap, so ask on the first tick; replicas that are ahead answer.
    r.fetch_on_tick = True
    # Peers lost what they heard from us before the cut: repeat our votes for the batches in
    # flight, so they commit in this view once a quorum is back (not after a view change).
    _normal_case.resend_own_votes(r, r.others, r.last_executed)
    if r.changing:
        own = r.view_changes.get(r.view, {}).get(r.me)
        if own is not None:
            r.broadcast(own)
        r.view_change_deadline = r.now_ticks + r.config.view_change_timeout_ticks


def _restore_checkpoint(r: ReplicaState, records: list[Record]) -> None:
    for record in records:
        if isinstance(record, StableCheckpoint):
            r.restore_state(record.snapshot)
            digest = state_digest(record.snapshot)
            r.last_executed = record.seq
            r.stable_seq = record.seq
            r.stable_digest = digest
            r.stable_snapshot = record.snapshot
            r.stable_proof = record.proof


def _restore_vote(r: ReplicaState, record: OwnMessage) -> None:
    envelope = record.envelope
    message = envelope.message
    if isinstance(message, ViewChange):
        if message.new_view == r.view:
            r.view_changes.setdefault(r.view, {})[r.me] = envelope
        return
    if not isinstance(message, (PrePrepare, Prepare, Commit)):
        return
    if message.view != r.view or message.seq <= r.stable_seq:
        return
    slot = r.slot(message.seq)
    if isinstance(message, PrePrepare):
        slot.pre_prepare = envelope
        slot.digest = message.digest
        r.next_seq = max(r.next_seq, message.seq)
    elif isinstance(message, Prepare):
        slot.own_prepare = message.digest
        slot.prepares.setdefault(message.digest, {})[r.me] = envelope
    else:
        slot.own_commit = message.digest
        slot.commits.setdefault(message.digest, {})[r.me] = envelope
