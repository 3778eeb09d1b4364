"""A snapshot as numbered chunks, and the state digest that commits to every one of them.

The digest a checkpoint quorum signs is the hash of the snapshot's manifest: its size and the
digest of each `STATE_CHUNK_BYTES` chunk, in order. A replica catching up checks a manifest
against that digest once, then each chunk against the manifest as it arrives, from whichever
replica sent it: a lying replica cannot slip in one bad byte, and no frame of the transfer
grows with the state.
"""

from __future__ import annotations

import hashlib

from ._messages import MAX_SNAPSHOT_BYTES, STATE_CHUNK_BYTES, StateManifest

STATE_DOMAIN = b"bitcraps/v1/state\x00"
CHUNK_DOMAIN = b"bitcraps/v1/state-chunk\x00"


def chunk_digest(data: bytes) -> bytes:
    return hashlib.sha256(CHUNK_DOMAIN + data).digest()


def chunk_of(snapshot: bytes, index: int) -> bytes:
    return snapshot[index * STATE_CHUNK_BYTES:(index + 1) * STATE_CHUNK_BYTES]


def manifest_of(snapshot: bytes) -> StateManifest:
    """The manifest of a snapshot built here (LocalProtocolError-free: sizes are ours)."""
    if len(snapshot) > MAX_SNAPSHOT_BYTES:
        raise ValueError(f"a snapshot of {len(snapshot)} bytes exceeds {MAX_SNAPSHOT_BYTES}")
    count = -(-len(snapshot) // STATE_CHUNK_BYTES)
    digests = tuple(chunk_digest(chunk_of(snapshot, i)) for i in range(count))
    return StateManifest(len(snapshot), digests)


def manifest_digest(manifest: StateManifest) -> bytes:
    """The state digest a manifest stands for."""
    hasher = hashlib.sha256(STATE_DOMAIN)
    hasher.update(manifest.snapshot_bytes.to_bytes(8, "big"))
    for digest in manifest.chunk_digests:
        hasher.update(digest)
    return hasher.digest()


def state_digest(snapshot: bytes) -> bytes:
    return manifest_digest(manifest_of(snapshot))
