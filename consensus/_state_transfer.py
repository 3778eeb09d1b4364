"""State transfer: a replica that fell behind fetches a stable checkpoint and the log suffix.

Everything fetched is checked against signatures of a quorum: the snapshot against 2f+1
CHECKPOINT messages, each suffix batch against its commit certificate. One honest
responder is enough; a lying one is caught and ignored.
"""

from __future__ import annotations

from . import _checkpoint, _normal_case, _view_change
from ._config import ReplicaConfig
from ._errors import RemoteProtocolError
from ._messages import Checkpoint, CommitCertificate, Envelope, FetchState, StateReply
from ._quorum import check_certificate
from ._ready import StateTransferred
from ._state import ReplicaState, state_digest


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
    if r.last_executed < since or (r.last_executed == since and r.stable_seq == 0):
        if r.new_view_env is not None and sender != r.me:
            _view_change.help_stale(r, sender)
        return
    last = r.served_ticks.get(sender)
    if last is not None and r.now_ticks - last < max(1, r.config.fetch_timeout_ticks // 2):
        return
    r.served_ticks[sender] = r.now_ticks
    with_snapshot = r.stable_seq > since
    start = r.stable_seq if with_snapshot else since
    suffix = tuple(r.committed_certs[s] for s in range(start + 1, r.last_executed + 1)
                   if s in r.committed_certs)
    reply = StateReply(
        r.stable_seq,
        r.stable_snapshot if with_snapshot else b"",
        r.stable_proof,
        suffix,
        r.new_view_env,
    )
    r.send((r.config.replicas[sender],), r.sign(reply))


def check_commit_certificate(config: ReplicaConfig, certificate: CommitCertificate) -> None:
    check_certificate(config, certificate.pre_prepare, certificate.commits, config.quorum,
                      "commit certificate", primary_votes=True)


def on_state_reply(r: ReplicaState, envelope: Envelope[StateReply], sender: int) -> None:
    reply = envelope.message
    progressed = False
    if reply.snapshot and reply.checkpoint_seq > r.last_executed:
        _install_snapshot(r, reply)
        progressed = True
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
    if r.fetch_target is not None and r.fetch_target[0] <= r.last_executed:
        r.fetch_target = None
        r.fetch_deadline = None
    if reply.new_view is not None:
        _view_change.on_new_view(r, reply.new_view, None)
    _normal_case.execute_ready(r)


def _install_snapshot(r: ReplicaState, reply: StateReply) -> None:
    seq = reply.checkpoint_seq
    digest = _checkpoint.check_proof(r.config, seq, reply.checkpoint_proof)
    if digest is None or state_digest(reply.snapshot) != digest:
        raise RemoteProtocolError("snapshot does not match its checkpoint proof")
    r.restore_state(reply.snapshot)
    r.last_executed = seq
    r.next_seq = max(r.next_seq, seq)
    _normal_case.purge_executed_requests(r)
    _checkpoint.make_stable(r, seq, digest, reply.snapshot, reply.checkpoint_proof)
