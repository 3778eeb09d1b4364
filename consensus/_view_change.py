"""View change: timers with capped exponential backoff, VIEW-CHANGE, NEW-VIEW."""

from __future__ import annotations

from typing import Any

from . import _admission, _checkpoint, _normal_case, _state_transfer
from ._config import ReplicaConfig
from ._durable import LatestNewView, OwnMessage, ViewState
from ._errors import RemoteProtocolError
from ._messages import Envelope, NewView, PrePrepare, Request, ViewChange, batch_digest
from ._quorum import check_certificate
from ._ready import ViewChanged, ViewChangeStarted
from ._state import ReplicaState

Batch = tuple[Envelope[Request], ...]


def timeout_ticks(r: ReplicaState) -> int:
    return r.config.view_change_timeout_ticks << r.backoff_exponent


def on_tick(r: ReplicaState) -> None:
    if r.changing:
        if r.now_ticks >= r.view_change_deadline:
            _view_change_timeout(r)
        return
    if r.request_timer_start is None or r.is_primary():
        return
    if not r.pending:
        r.request_timer_start = r.request_timer_key = None
        return
    age = r.now_ticks - r.request_timer_start
    if age >= timeout_ticks(r):
        # Lag may be a gap no replica can fill (a batch that never committed anywhere, with
        # later ones committed): fetch state once per stall, then blame the primary.
        if _state_transfer.lagging(r) and r.lag_deferred_tick != r.request_timer_start:
            _state_transfer.request_state(r)
            r.request_timer_start = r.lag_deferred_tick = r.now_ticks
        else:
            start_view_change(r, r.view + 1)
    elif age >= timeout_ticks(r) // 2:
        _forward_pending(r)


def _view_change_timeout(r: ReplicaState) -> None:
    """Move on to the next view only once a quorum asked for this one (or a later one).

    Castro and Liskov run the timer for view v only after 2f+1 VIEW-CHANGEs for v arrived.
    A replica that asked alone waits in v, re-sending its VIEW-CHANGE (it may have been
    lost), instead of running ahead through views the others never reach in step with it.
    """
    supporters = {s for v, votes in r.view_changes.items() if v >= r.view for s in votes}
    if len(supporters) >= r.config.quorum:
        start_view_change(r, r.view + 1)
        return
    own = r.view_changes.get(r.view, {}).get(r.me)
    if own is not None:
        r.broadcast(own)
    r.view_change_deadline = r.now_ticks + timeout_ticks(r)


def _forward_pending(r: ReplicaState) -> None:
    """Hand requests the primary may never have seen to it, once per view, before blaming it
    (known clients' first, a bounded number at a time: see `_admission`)."""
    primary_key = r.config.replicas[r.primary_of(r.view)]
    for key in _admission.to_forward(r):
        r.forwarded.add(key)
        r.send((primary_key,), r.pending[key])


def start_view_change(r: ReplicaState, new_view: int) -> None:
    if new_view <= r.view and r.changing:
        return
    r.view = new_view
    r.changing = True
    r.persist(ViewState(new_view, 1))
    prepared = tuple(r.prepared_certs[s] for s in sorted(r.prepared_certs) if s > r.stable_seq)
    envelope = r.vote(ViewChange(new_view, r.stable_seq, r.stable_proof, prepared))
    r.view_changes = {v: votes for v, votes in r.view_changes.items() if v >= new_view}
    r.view_changes.setdefault(new_view, {})[r.me] = envelope
    jitter = r.random.below(r.config.view_change_timeout_ticks // 4 + 1)
    r.view_change_deadline = r.now_ticks + timeout_ticks(r) + jitter
    r.backoff_exponent = min(r.backoff_exponent + 1, r.config.max_backoff_exponent)
    r.forwarded.clear()
    r.stats.view_changes_started += 1
    r.event(ViewChangeStarted(new_view))
    try_new_view(r)


def on_view_change(r: ReplicaState, envelope: Envelope[ViewChange], sender: int) -> None:
    view_change = envelope.message
    if view_change.new_view < r.view or (view_change.new_view == r.view and not r.changing):
        help_stale(r, sender)
        return
    check_view_change(r.config, envelope)
    for view, votes in list(r.view_changes.items()):
        if sender in votes:
            if view >= view_change.new_view:
                return
            del votes[sender]
    r.view_changes.setdefault(view_change.new_view, {})[sender] = envelope
    _join_if_weak_quorum(r)
    try_new_view(r)


def _join_if_weak_quorum(r: ReplicaState) -> None:
    """f+1 replicas asking for higher views include an honest one: join the smallest."""
    higher = {sender: view for view, votes in r.view_changes.items() if view > r.view
              for sender in votes}
    if len(higher) >= r.config.weak_quorum:
        start_view_change(r, min(higher.values()))


def check_view_change(config: ReplicaConfig, envelope: Envelope[ViewChange]) -> None:
    view_change = envelope.message
    _checkpoint.check_proof(config, view_change.stable_seq, view_change.checkpoint_proof)
    window = config.log_window_seqs
    seen: set[int] = set()
    for proof in view_change.prepared:
        pre_prepare = proof.pre_prepare.message
        seq = pre_prepare.seq
        if pre_prepare.view >= view_change.new_view:
            raise RemoteProtocolError("prepared certificate from a view not before the new one")
        if not view_change.stable_seq < seq <= view_change.stable_seq + window or seq in seen:
            raise RemoteProtocolError(f"prepared certificate for seq {seq} out of place")
        seen.add(seq)
        check_certificate(config, proof.pre_prepare, proof.prepares, config.quorum - 1,
                          "prepared certificate", primary_votes=False)


def new_view_batches(view_changes: list[ViewChange]) -> tuple[int, list[tuple[int, Batch]]]:
    """The stable seq and, per seq after it, the batch the new primary must re-propose."""
    min_seq = max(vc.stable_seq for vc in view_changes)
    best: dict[int, tuple[int, Batch]] = {}
    for view_change in view_changes:
        for proof in view_change.prepared:
            pre_prepare = proof.pre_prepare.message
            if pre_prepare.seq <= min_seq:
                continue
            current = best.get(pre_prepare.seq)
            if current is None or pre_prepare.view > current[0]:
                best[pre_prepare.seq] = (pre_prepare.view, pre_prepare.requests)
    max_seq = max(best, default=min_seq)
    batches = [
        (seq, best[seq][1] if seq in best else ()) for seq in range(min_seq + 1, max_seq + 1)
    ]
    return min_seq, batches


def try_new_view(r: ReplicaState) -> None:
    votes = r.view_changes.get(r.view, {})
    if not r.changing or not r.is_primary() or len(votes) < r.config.quorum:
        return
    chosen = tuple(votes[i] for i in sorted(votes)[: r.config.quorum])
    _, batches = new_view_batches([envelope.message for envelope in chosen])
    pre_prepares = []
    for seq, requests in batches:
        pre_prepare = r.sign(PrePrepare(r.view, seq, requests))
        r.persist(OwnMessage(pre_prepare))
        pre_prepares.append(pre_prepare)
    envelope = r.vote(NewView(r.view, chosen, tuple(pre_prepares)))
    install_new_view(r, envelope)


def on_new_view(r: ReplicaState, envelope: Envelope[NewView], sender: int | None) -> None:
    new_view = envelope.message
    if new_view.view < r.view or (new_view.view == r.view and not r.changing):
        return
    check_new_view(r.config, envelope)
    install_new_view(r, envelope)


def check_new_view(config: ReplicaConfig, envelope: Envelope[NewView]) -> None:
    new_view = envelope.message
    primary_key = config.replicas[config.primary(new_view.view)]
    if envelope.sender != primary_key:
        raise RemoteProtocolError("NEW-VIEW not from the new view's primary")
    senders = set()
    for view_change in new_view.view_changes:
        index = config.index_of(view_change.sender)
        if index is None or index in senders or view_change.message.new_view != new_view.view:
            raise RemoteProtocolError("NEW-VIEW carries a bad VIEW-CHANGE")
        senders.add(index)
        check_view_change(config, view_change)
    if len(senders) < config.quorum:
        raise RemoteProtocolError("NEW-VIEW lacks a quorum of VIEW-CHANGEs")
    _, batches = new_view_batches([vc.message for vc in new_view.view_changes])
    if len(batches) != len(new_view.pre_prepares):
        raise RemoteProtocolError("NEW-VIEW re-proposes the wrong set of sequence numbers")
    for pre_prepare, (seq, requests) in zip(new_view.pre_prepares, batches, strict=True):
        message = pre_prepare.message
        if pre_prepare.sender != primary_key or message.view != new_view.view or message.seq != seq:
            raise RemoteProtocolError(f"NEW-VIEW pre-prepare for seq {seq} is malformed")
        if message.digest != batch_digest(requests):
            raise RemoteProtocolError(f"NEW-VIEW re-proposes the wrong batch at seq {seq}")


def install_new_view(r: ReplicaState, envelope: Envelope[NewView]) -> None:
    new_view = envelope.message
    r.view = new_view.view
    r.changing = False
    r.new_view_env = envelope
    r.persist(ViewState(new_view.view, 0))
    r.persist(LatestNewView(envelope))
    r.view_changes = {v: votes for v, votes in r.view_changes.items() if v > new_view.view}
    r.forwarded.clear()
    _admission.requeue(r)
    _admission.restart_timer(r)
    r.stats.views_installed += 1
    r.event(ViewChanged(new_view.view, r.primary_of(new_view.view)))
    last_seq = max((pp.message.seq for pp in new_view.pre_prepares), default=0)
    if r.is_primary():
        # Number on from the NEW-VIEW, as Castro and Liskov do, not from a counter left over
        # from an older view: seqs we proposed then but the NEW-VIEW does not carry would be
        # holes that never fill, and nothing after them could ever execute.
        r.next_seq = max(r.last_executed, last_seq, _min_seq(new_view))
    _catch_up_to_new_view_checkpoint(r, new_view)  # may cut batches: after the numbering
    for pre_prepare in new_view.pre_prepares:
        if r.in_window(pre_prepare.message.seq):
            _normal_case.accept_pre_prepare(r, pre_prepare)
    _replay_future(r)
    _normal_case.cut_batches(r)


def _min_seq(new_view: NewView) -> int:
    return max(vc.message.stable_seq for vc in new_view.view_changes)


def _catch_up_to_new_view_checkpoint(r: ReplicaState, new_view: NewView) -> None:
    min_seq = _min_seq(new_view)
    if min_seq <= r.stable_seq:
        return
    for view_change in new_view.view_changes:
        message = view_change.message
        if message.stable_seq == min_seq:
            digest = _checkpoint.check_proof(r.config, min_seq, message.checkpoint_proof)
            if digest is not None:
                # Behind it: fetch it. Past it with our own checkpoint there (whose quorum of
                # CHECKPOINTs we missed): it is stable for us too, and the window moves on.
                _checkpoint.adopt_proof(r, min_seq, digest, message.checkpoint_proof)
            return


def help_stale(r: ReplicaState, sender: int) -> None:
    """Show a replica still in an older view the NEW-VIEW that moved us on (rate-limited)."""
    if r.changing or r.new_view_env is None or sender == r.me:
        return
    key = (sender, r.view)
    last = r.stale_help_ticks.get(key)
    if last is not None and r.now_ticks - last < r.config.fetch_timeout_ticks:
        return
    r.stale_help_ticks = {k: v for k, v in r.stale_help_ticks.items() if k[1] == r.view}
    r.stale_help_ticks[key] = r.now_ticks
    r.send((r.config.replicas[sender],), r.new_view_env)


FUTURE_LIMIT_PER_REPLICA = 4096


def buffer_future(r: ReplicaState, view: int, envelope: Envelope[Any], sender: int) -> None:
    """Keep messages for a view we have not installed yet; bounded per sender."""
    if r.future_counts.get(sender, 0) >= FUTURE_LIMIT_PER_REPLICA:
        for i, item in enumerate(r.future):
            if item[2] == sender:
                del r.future[i]
                r.future_counts[sender] -= 1
                break
    r.future.append((view, envelope, sender))
    r.future_counts[sender] = r.future_counts.get(sender, 0) + 1


def _replay_future(r: ReplicaState) -> None:
    from . import _dispatch

    ready = [item for item in r.future if item[0] == r.view]
    r.keep_future([item for item in r.future if item[0] > r.view])
    for _, envelope, sender in ready:
        _dispatch.handle_replica_message(r, envelope, sender)
