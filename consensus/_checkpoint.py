"""Checkpoints every K sequence numbers, stable at a quorum, and log garbage collection."""

from __future__ import annotations

from typing import Any

from . import _normal_case, _state_transfer
from ._config import ReplicaConfig
from ._durable import StableCheckpoint
from ._errors import LocalProtocolError, RemoteProtocolError
from ._messages import Checkpoint, Envelope
from ._ready import CheckpointStable
from ._state import ReplicaState, state_digest


def check_proof(
    config: ReplicaConfig, seq: int, proof: tuple[Envelope[Checkpoint], ...]
) -> bytes | None:
    """The state digest a checkpoint proof establishes; None for the genesis (seq 0, no proof)."""
    if seq == 0:
        if proof:
            raise RemoteProtocolError("the genesis checkpoint takes no proof")
        return None
    if seq % config.checkpoint_interval_seqs:
        raise RemoteProtocolError(f"seq {seq} is not a checkpoint boundary")
    digests = {envelope.message.state_digest for envelope in proof}
    senders = {envelope.sender for envelope in proof}
    if len(digests) != 1 or any(envelope.message.seq != seq for envelope in proof):
        raise RemoteProtocolError("checkpoint proof entries disagree")
    if len(senders) != len(proof) or len(proof) < config.quorum:
        raise RemoteProtocolError("checkpoint proof lacks a quorum of distinct replicas")
    if any(config.index_of(sender) is None for sender in senders):
        raise RemoteProtocolError("checkpoint proof signed by a non-replica")
    return digests.pop()


def after_execute(r: ReplicaState, seq: int) -> None:
    if seq % r.config.checkpoint_interval_seqs:
        return
    snapshot = r.state_snapshot()
    digest = state_digest(snapshot)
    r.own_checkpoints[seq] = (digest, snapshot)
    r.checkpoint_taken_ticks[seq] = r.now_ticks
    envelope = r.sign(Checkpoint(seq, digest))
    r.broadcast(envelope)
    add_vote(r, envelope, r.me)


def on_checkpoint(r: ReplicaState, envelope: Envelope[Checkpoint], sender: int) -> None:
    checkpoint = envelope.message
    if checkpoint.seq % r.config.checkpoint_interval_seqs or checkpoint.seq == 0:
        raise RemoteProtocolError(f"checkpoint at seq {checkpoint.seq}, not a boundary")
    if checkpoint.seq <= r.stable_seq:
        return
    add_vote(r, envelope, sender)


def add_vote(r: ReplicaState, envelope: Envelope[Checkpoint], sender: int) -> None:
    checkpoint = envelope.message
    by_digest = r.checkpoint_votes.setdefault(checkpoint.seq, {})
    for digest, voters in by_digest.items():
        if sender in voters:
            if digest != checkpoint.state_digest:
                r.byzantine(sender, f"two checkpoint digests for seq {checkpoint.seq}")
            return
    _evict_excess_votes(r, sender)
    voters = by_digest.setdefault(checkpoint.state_digest, {})
    voters[sender] = envelope
    if len(voters) >= r.config.quorum:
        proof = tuple(voters[i] for i in sorted(voters)[: r.config.quorum])
        _quorum_reached(r, checkpoint.seq, checkpoint.state_digest, proof)


def _evict_excess_votes(r: ReplicaState, sender: int) -> None:
    """Each replica may hold votes for only a window's worth of future checkpoints."""
    limit = r.config.log_window_seqs // r.config.checkpoint_interval_seqs + 2
    held = sorted(seq for seq, by_digest in r.checkpoint_votes.items()
                  if any(sender in voters for voters in by_digest.values()))
    for seq in held[: max(0, len(held) - limit + 1)]:
        for voters in r.checkpoint_votes[seq].values():
            voters.pop(sender, None)


def adopt_proof(r: ReplicaState, seq: int, digest: bytes,
                proof: tuple[Envelope[Checkpoint], ...]) -> None:
    """A checked proof that a quorum holds `digest` at `seq`, learned from another message."""
    if seq > r.stable_seq:
        _quorum_reached(r, seq, digest, proof)


def _quorum_reached(r: ReplicaState, seq: int, digest: bytes,
                    proof: tuple[Envelope[Checkpoint], ...]) -> None:
    own = r.own_checkpoints.get(seq)
    if own is not None:
        if own[0] != digest:
            raise LocalProtocolError(
                f"state diverged at seq {seq}: a quorum agrees on another digest "
                "(the application is not deterministic)"
            )
        make_stable(r, seq, digest, own[1], proof)
    elif seq > r.last_executed:
        _state_transfer.note_target(r, seq, digest, proof)


def make_stable(r: ReplicaState, seq: int, digest: bytes, snapshot: bytes,
                proof: tuple[Envelope[Checkpoint], ...]) -> None:
    if seq <= r.stable_seq:
        return
    r.stable_seq = seq
    r.stable_digest = digest
    r.stable_snapshot = snapshot
    r.stable_proof = proof
    r.persist(StableCheckpoint(seq, snapshot, proof))
    collect_garbage(r, seq)
    r.stats.checkpoints_stable += 1
    r.event(CheckpointStable(seq, digest))
    _normal_case.cut_batches(r)


def collect_garbage(r: ReplicaState, seq: int) -> None:
    tables: tuple[dict[int, Any], ...] = (
        r.log, r.prepared_certs, r.committed_certs, r.checkpoint_votes, r.own_checkpoints,
        r.checkpoint_taken_ticks,
    )
    for table in tables:
        for old in [s for s in table if s <= seq]:
            del table[old]
    r.keep_future([item for item in r.future if _future_seq(item[1]) > seq])


def _future_seq(envelope: Envelope[Any]) -> int:
    seq = getattr(envelope.message, "seq", None)
    return seq if isinstance(seq, int) else 1 << 62
