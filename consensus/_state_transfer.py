"""State transfer: a replica that fell behind fetches a stable checkpoint and the log suffix.

Everything fetched is checked against signatures of a quorum: the snapshot's manifest against
2f+1 CHECKPOINT messages (and each chunk against the manifest, in `_snapshot_fetch`), each
suffix batch against its commit certificate. One honest responder is enough; a lying one is
caught and ignored. Every reply is bounded in bytes whatever the state: the snapshot travels
in chunks, the suffix stops at a budget and the asker asks again.
"""

from __future__ import annotations

from . import _checkpoint, _normal_case, _snapshot_fetch, _view_change
from ._config import ReplicaConfig
from ._errors import LocalProtocolError
from ._frame_bounds import FRAME_LIMIT_BYTES
from ._messages import Checkpoint, CommitCertificate, Envelope, FetchState, StateReply
from ._quorum import check_certificate
from ._ready import StateTransferred
from ._state import ReplicaState, state_digest

SUFFIX_BUDGET_BYTES = 512 * 1024
"""A state reply's committed suffix stops growing here, so the reply fits a 1 MiB frame."""
NEW_VIEW_INLINE_BYTES = FRAME_LIMIT_BYTES - 32 * 1024
"""A StateReply carries the latest NEW-VIEW only if it and the suffix fit one frame with room
for the proof and manifest; otherwise the NEW-VIEW is sent right after it, on its own."""


def note_target(r: ReplicaState, seq: int, digest: bytes,
                proof: tuple[Envelope[Checkpoint], ...]) -> None:
    """A quorum vouches for a checkpoint we have not reached: fetch it."""
    if seq <= r.last_executed:
        return
    if r.fetch_target is None or seq > r.fetch_target[0]:
        r.fetch_target = (seq, digest, proof)
    request_state(r)


def request_state(r: ReplicaState) -> None:
    if r.fetch_deadline is not None and r.now_ticks < r.fetch_deadline:
        return
    r.fetch_deadline = r.now_ticks + r.config.fetch_timeout_ticks
    r.stats.state_fetches += 1
    r.broadcast(r.sign(FetchState(r.last_executed)))


def lagging(r: ReplicaState) -> bool:
    """Evidence that others executed past us: a quorum's commits beyond our next seq."""
    if r.fetch_target is not None and r.fetch_target[0] > r.last_executed:
        return True
    following = r.log.get(r.last_executed + 1)
    if following is not None and following.certificate is not None:
        return False
    # A replica changing view alone takes no part in the next seq: f+1 others working on it
    # (in a view it is not in) will have executed it, and only state transfer brings it here.
    nearest = r.last_executed + (0 if r.changing else 1)
    ahead = sum(1 for seq in r.ahead_seqs.values() if seq > nearest)
    if ahead >= r.config.weak_quorum:
        return True
    quorum, weak = r.config.quorum, r.config.weak_quorum
    for seq, slot in r.log.items():
        if seq <= r.last_executed:
            continue
        # f+1 commits mean an honest replica prepared the batch; if its pre-prepare never
        # reached us, we cannot commit it ourselves and only state transfer brings it.
        needed = weak if slot.pre_prepare is None else quorum
        if any(len(v) >= needed for v in slot.commits.values()):
            return True
    return False


def on_tick(r: ReplicaState) -> None:
    if r.fetch_on_tick:
        r.fetch_on_tick = False
        request_state(r)
    if r.fetch_target is not None and r.fetch_target[0] <= r.last_executed:
        r.fetch_target = None
    _snapshot_fetch.on_tick(r)
    if r.fetch_target is not None:
        request_state(r)
        return
    if _checkpoint_overdue(r):
        request_state(r)
    if not (lagging(r) or _stalled(r)):
        r.gap_since = None
    elif r.gap_since is None:
        r.gap_since = r.now_ticks
    elif r.now_ticks - r.gap_since >= r.config.fetch_timeout_ticks:
        r.gap_since = r.now_ticks
        request_state(r)


def _stalled(r: ReplicaState) -> bool:
    """A batch after our last executed one is in our log and nothing executes.

    Others may have executed it without us (a partition cut us off half-way) and then gone
    quiet, so no message will ever show us the gap: ask, after the fetch timeout.
    """
    return any(seq > r.last_executed and slot.pre_prepare is not None
               for seq, slot in r.log.items())


def _checkpoint_overdue(r: ReplicaState) -> bool:
    """A checkpoint we took long ago is still not stable: its CHECKPOINT quorum was lost.

    An idle group would never repeat those messages and our window would stay stuck; any
    replica's state reply carries the proof.
    """
    deadline = r.now_ticks - r.config.fetch_timeout_ticks
    return any(seq > r.stable_seq and tick <= deadline
               for seq, tick in r.checkpoint_taken_ticks.items())


def on_fetch_state(r: ReplicaState, envelope: Envelope[FetchState], sender: int) -> None:
    since = envelope.message.last_executed_seq
    if sender == r.me:
        return
    _resend_votes_to(r, sender, since)
    if r.last_executed < since or (r.last_executed == since and r.stable_seq == 0):
        if r.new_view_env is not None and sender != r.me:
            _view_change.help_stale(r, sender)
        return
    last = r.served_ticks.get(sender)
    if last is not None and since <= last[1] \
            and r.now_ticks - last[0] < max(1, r.config.fetch_timeout_ticks // 2):
        return  # the same question again, soon: its answer is on its way
    r.served_ticks[sender] = (r.now_ticks, since)
    with_snapshot = r.stable_seq > since
    start = r.stable_seq if with_snapshot else since
    suffix = _bounded_suffix(r, start)
    new_view = r.new_view_env
    if new_view is not None and len(new_view.wire) + suffix_bytes(suffix) > NEW_VIEW_INLINE_BYTES:
        new_view = None  # too big to ride along: it follows in a frame of its own
    reply = StateReply(
        r.stable_seq,
        r.stable_manifest() if with_snapshot else None,
        r.stable_proof,
        suffix,
        new_view,
    )
    r.send((r.config.replicas[sender],), r.sign(reply))
    if new_view is None and r.new_view_env is not None:
        r.send((r.config.replicas[sender],), r.new_view_env)


def _resend_votes_to(r: ReplicaState, sender: int, since: int) -> None:
    """A replica asking for state may have just restarted and lost our votes for the
    batches in flight (a whole-table cut: it was down when we repeated them): repeat them
    to it, at most once per half fetch timeout."""
    last = r.votes_resent_ticks.get(sender)
    if last is not None and r.now_ticks - last < max(1, r.config.fetch_timeout_ticks // 2):
        return
    r.votes_resent_ticks[sender] = r.now_ticks
    _normal_case.resend_own_votes(r, (r.config.replicas[sender],), since)


def _bounded_suffix(r: ReplicaState, start: int) -> tuple[CommitCertificate, ...]:
    """Commit certificates after `start`, in order, while they fit SUFFIX_BUDGET_BYTES (at
    least one): the asker executes them and asks again for the rest."""
    suffix: list[CommitCertificate] = []
    size = 0
    for seq in range(start + 1, r.last_executed + 1):
        certificate = r.committed_certs.get(seq)
        if certificate is None:
            continue
        size += suffix_bytes((certificate,))
        if suffix and size > SUFFIX_BUDGET_BYTES:
            break
        suffix.append(certificate)
    return tuple(suffix)


def suffix_bytes(suffix: tuple[CommitCertificate, ...]) -> int:
    return sum(len(c.pre_prepare.wire) + sum(len(v.wire) for v in c.commits) for c in suffix)


def check_commit_certificate(config: ReplicaConfig, certificate: CommitCertificate) -> None:
    check_certificate(config, certificate.pre_prepare, certificate.commits, config.quorum,
                      "commit certificate", primary_votes=True)


def on_state_reply(r: ReplicaState, envelope: Envelope[StateReply], sender: int) -> None:
    reply = envelope.message
    progressed = False
    if reply.manifest is not None and reply.checkpoint_seq > r.last_executed:
        _snapshot_fetch.start(r, reply.checkpoint_seq, reply.manifest, reply.checkpoint_proof,
                              sender)
    elif r.stable_seq < reply.checkpoint_seq <= r.last_executed:
        digest = _checkpoint.check_proof(r.config, reply.checkpoint_seq, reply.checkpoint_proof)
        if digest is not None:
            _checkpoint.adopt_proof(r, reply.checkpoint_seq, digest, reply.checkpoint_proof)
    for certificate in sorted(reply.suffix, key=lambda c: c.pre_prepare.message.seq):
        if certificate.pre_prepare.message.seq != r.last_executed + 1:
            continue
        check_commit_certificate(r.config, certificate)
        _normal_case.execute_certificate(r, certificate)
        progressed = True
    if progressed:
        r.stats.state_transfers += 1
        r.event(StateTransferred(reply.checkpoint_seq, r.last_executed))
        _normal_case.on_progress(r)
        if suffix_bytes(reply.suffix) > SUFFIX_BUDGET_BYTES // 2:
            r.fetch_on_tick = True  # the suffix may have been cut at the budget: ask again
    caught_up(r)
    if reply.new_view is not None:
        _view_change.on_new_view(r, reply.new_view, None)
    _normal_case.execute_ready(r)


def caught_up(r: ReplicaState) -> None:
    if r.fetch_target is not None and r.fetch_target[0] <= r.last_executed:
        r.fetch_target = None
        r.fetch_deadline = None


def install_snapshot(r: ReplicaState, seq: int, digest: bytes, snapshot: bytes,
                     proof: tuple[Envelope[Checkpoint], ...]) -> None:
    """A snapshot whose every chunk matched a manifest that matched a quorum's proof."""
    if state_digest(snapshot) != digest:
        raise LocalProtocolError("an assembled snapshot does not match its checked manifest")
    r.restore_state(snapshot)
    r.last_executed = seq
    r.next_seq = max(r.next_seq, seq)
    _normal_case.purge_executed_requests(r)
    _checkpoint.make_stable(r, seq, digest, snapshot, proof)
    r.stats.state_transfers += 1
    r.event(StateTransferred(seq, r.last_executed))
    _normal_case.on_progress(r)
    caught_up(r)
    # The log suffix after the checkpoint comes with the next state reply: ask now.
    r.fetch_deadline = None
    request_state(r)
    _normal_case.execute_ready(r)
