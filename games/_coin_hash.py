"""Domain-separated hashing: every hash the fair-dice protocol takes, and its domain string.

`tagged_hash(domain, *parts)` is SHA-512 over the domain string followed by each part
prefixed with its length as a 4-byte big-endian integer. Domain strings end in a NUL byte
and contain no other, so no two (domain, parts) inputs share an encoding. Integers inside
parts use fixed widths: replica indices 2 bytes, roll numbers 8 bytes, big-endian.
"""

from __future__ import annotations

import hashlib

DKG_KEY_PROOF = b"bitcraps/v1/dkg/key-proof\x00"
DKG_EPHEMERAL_PROOF = b"bitcraps/v1/dkg/ephemeral-proof\x00"
DKG_SHARE_PAD = b"bitcraps/v1/dkg/share-pad\x00"
DKG_COMPLAINT_PROOF = b"bitcraps/v1/dkg/complaint-proof\x00"
DKG_SECRET = b"bitcraps/v1/dkg/secret\x00"
COIN_BASE = b"bitcraps/v1/coin/base\x00"
COIN_SHARE_PROOF = b"bitcraps/v1/coin/share-proof\x00"
COIN_SEED = b"bitcraps/v1/coin/seed\x00"
DICE_STREAM = b"bitcraps/v1/dice\x00"
PROOF_NONCE = b"bitcraps/v1/proof/nonce\x00"
PROOF_CHALLENGE = b"bitcraps/v1/proof/challenge\x00"
SIMULATION = b"bitcraps/v1/simulation\x00"  # the DKG simulator's orderings and garbage

DIGEST_BYTES = 64
MAX_PART_BYTES = 2**32 - 1


def tagged_hash(domain: bytes, *parts: bytes) -> bytes:
    """SHA-512(domain || len(p1) || p1 || len(p2) || p2 ...), lengths as u32 big-endian."""
    if not domain.endswith(b"\x00") or domain.count(b"\x00") != 1:
        raise ValueError("a domain string must end in its only NUL byte")
    digest = hashlib.sha512(domain)
    for part in parts:
        if len(part) > MAX_PART_BYTES:
            raise ValueError("a hashed part is longer than 2**32 - 1 bytes")
        digest.update(len(part).to_bytes(4, "big"))
        digest.update(part)
    return digest.digest()


def replica_bytes(replica: int) -> bytes:
    return replica.to_bytes(2, "big")


def roll_bytes(roll: int) -> bytes:
    return roll.to_bytes(8, "big")
