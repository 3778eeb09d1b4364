"""A snapshot fetched in chunks: any number of bytes, never one large frame.

The asker holds one transfer at a time, for the newest checkpoint a quorum proved, and its
manifest checked against that proof. From the next tick on it asks for chunks a few at a time
per replica, spread over the replicas that offered the snapshot (then over all of them for a
retry), re-asks a chunk whose
answer did not come within `fetch_timeout_ticks`, and checks each chunk against the manifest.
Memory is bounded by the manifest: at most `MAX_SNAPSHOT_BYTES` of chunks for one transfer.
A replica answers a bounded number of chunk requests per asker per tick.
"""

from __future__ import annotations

from . import _checkpoint, _state_transfer
from ._chunks import chunk_digest, chunk_of, manifest_digest
from ._errors import RemoteProtocolError
from ._messages import Checkpoint, Envelope, FetchChunk, StateChunk, StateManifest
from ._state import ChunkTransfer, ReplicaState


def start(r: ReplicaState, seq: int, manifest: StateManifest,
          proof: tuple[Envelope[Checkpoint], ...], sender: int) -> None:
    """A replica offers the snapshot of a checkpoint we have not reached."""
    digest = _checkpoint.check_proof(r.config, seq, proof)
    if digest is None or manifest_digest(manifest) != digest:
        raise RemoteProtocolError("snapshot manifest does not match its checkpoint proof")
    current = r.transfer
    if current is not None and current.seq > seq:
        return
    if current is None or current.seq < seq:
        fresh = ChunkTransfer(seq, digest, proof, manifest)
        if current is not None:
            _reuse_unchanged(current, fresh)
        r.transfer = current = fresh
    if sender not in current.sources:
        current.sources.append(sender)
    if len(current.chunks) == len(manifest.chunk_digests):
        _finish_or_pump(r, current)
    # Otherwise the first chunks are asked for on the next tick, spread over every replica
    # whose offer arrived by then: one slow or lying replica holds up only its share.


def _reuse_unchanged(old: ChunkTransfer, new: ChunkTransfer) -> None:
    """Chunks the newer checkpoint did not change need not cross the network again."""
    wanted = new.manifest.chunk_digests
    for index, data in old.chunks.items():
        if index < len(wanted) and old.manifest.chunk_digests[index] == wanted[index]:
            new.chunks[index] = data


def on_tick(r: ReplicaState) -> None:
    transfer = r.transfer
    if transfer is None:
        return
    if transfer.seq <= r.last_executed:
        r.transfer = None
        return
    timeout = r.config.fetch_timeout_ticks
    for index, sent in list(transfer.inflight.items()):
        if r.now_ticks - sent >= timeout:
            del transfer.inflight[index]
            transfer.attempts[index] = transfer.attempts.get(index, 0) + 1
    pump(r, transfer)


def pump(r: ReplicaState, transfer: ChunkTransfer) -> None:
    """Ask for missing chunks, a bounded number per replica per tick."""
    if transfer.issued_tick != r.now_ticks:
        transfer.issued_tick, transfer.issued = r.now_ticks, {}
    per_source = max(1, r.config.max_chunks_served_per_tick // 2)
    everyone = transfer.sources + [i for i in range(r.config.n)
                                   if i != r.me and i not in transfer.sources]
    for index in range(len(transfer.manifest.chunk_digests)):
        if index in transfer.chunks or index in transfer.inflight:
            continue
        attempts = transfer.attempts.get(index, 0)
        candidates = transfer.sources if attempts == 0 else everyone
        source = candidates[(index + attempts) % len(candidates)]
        if transfer.issued.get(source, 0) >= per_source:
            continue
        transfer.issued[source] = transfer.issued.get(source, 0) + 1
        transfer.inflight[index] = r.now_ticks
        r.send((r.config.replicas[source],), r.sign(FetchChunk(transfer.seq, index)))


def on_fetch_chunk(r: ReplicaState, envelope: Envelope[FetchChunk], sender: int) -> None:
    request = envelope.message
    if sender == r.me or request.checkpoint_seq != r.stable_seq or r.stable_seq == 0:
        return  # not the checkpoint we hold: the asker tries another replica
    manifest = r.stable_manifest()
    if request.index >= len(manifest.chunk_digests):
        raise RemoteProtocolError("chunk index beyond the snapshot")
    tick, count = r.served_chunks.get(sender, (-1, 0))
    if tick != r.now_ticks:
        count = 0
    if count >= r.config.max_chunks_served_per_tick:
        return
    r.served_chunks[sender] = (r.now_ticks, count + 1)
    r.stats.chunks_served += 1
    data = chunk_of(r.stable_snapshot, request.index)
    r.send((r.config.replicas[sender],), r.sign(StateChunk(r.stable_seq, request.index, data)))


def on_state_chunk(r: ReplicaState, envelope: Envelope[StateChunk], sender: int) -> None:
    chunk = envelope.message
    transfer = r.transfer
    if transfer is None or chunk.checkpoint_seq != transfer.seq or chunk.index in transfer.chunks:
        return
    manifest = transfer.manifest
    if chunk.index >= len(manifest.chunk_digests):
        raise RemoteProtocolError("chunk index beyond the snapshot")
    if len(chunk.data) != manifest.chunk_bytes(chunk.index) \
            or chunk_digest(chunk.data) != manifest.chunk_digests[chunk.index]:
        transfer.inflight.pop(chunk.index, None)
        transfer.attempts[chunk.index] = transfer.attempts.get(chunk.index, 0) + 1
        r.byzantine(sender, f"state chunk {chunk.index} does not match its checkpoint")
        return
    transfer.chunks[chunk.index] = chunk.data
    transfer.inflight.pop(chunk.index, None)
    r.stats.chunks_fetched += 1
    _finish_or_pump(r, transfer)


def _finish_or_pump(r: ReplicaState, transfer: ChunkTransfer) -> None:
    count = len(transfer.manifest.chunk_digests)
    if len(transfer.chunks) < count:
        pump(r, transfer)
        return
    r.transfer = None
    if transfer.seq <= r.last_executed:
        return
    snapshot = b"".join(transfer.chunks[i] for i in range(count))
    _state_transfer.install_snapshot(r, transfer.seq, transfer.digest, snapshot, transfer.proof)
