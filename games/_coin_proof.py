"""Non-interactive proofs that points share one discrete log (Schnorr, Chaum-Pedersen).

The statement is a list of (base B_j, point P_j) pairs with P_j = x * B_j for one secret x.
One pair is a Schnorr proof of knowledge of x; two pairs are a Chaum-Pedersen DLEQ proof.
Fiat-Shamir over SHA-512:

    k = H(PROOF_NONCE, x, domain, context, B..., P...) mod L      (deterministic, RFC 8032 style)
    A_j = k * B_j
    c = H(PROOF_CHALLENGE, domain, context, B..., P..., A...) mod L
    z = k + c * x mod L                                           proof = c || z (64 bytes)

A verifier recomputes A_j = z * B_j - c * P_j and accepts when the challenge matches. The
nonce depends on everything the proof states, so one secret never signs two statements
with one nonce. The caller checks that every B_j and P_j is a valid point first.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from ._coin_group import ORDER, SCALAR_BYTES, Group, hash_to_scalar, parse_scalar, scalar_bytes
from ._coin_hash import PROOF_CHALLENGE, PROOF_NONCE

PROOF_BYTES = 2 * SCALAR_BYTES


class ProofCheck(enum.Enum):
    VALID = "valid"
    NOT_CANONICAL = "a proof scalar is not canonical"
    MISMATCH = "the challenge does not match"


def _challenge(
    domain: bytes,
    context: bytes,
    bases: Sequence[bytes],
    points: Sequence[bytes],
    commitments: Sequence[bytes],
) -> int:
    return hash_to_scalar(PROOF_CHALLENGE, domain, context, *bases, *points, *commitments)


def _check_statement(bases: Sequence[bytes], points: Sequence[bytes]) -> None:
    if not bases or len(bases) != len(points):
        raise ValueError("a proof states one or more (base, point) pairs")


def prove_equal_logs(
    group: Group,
    domain: bytes,
    context: bytes,
    secret: int,
    bases: Sequence[bytes],
    points: Sequence[bytes],
) -> bytes:
    """Prove that points[j] = secret * bases[j] for every j."""
    _check_statement(bases, points)
    secret_encoding = scalar_bytes(secret)
    nonce = hash_to_scalar(PROOF_NONCE, secret_encoding, domain, context, *bases, *points)
    commitments = [group.mul(nonce, base) for base in bases]
    challenge = _challenge(domain, context, bases, points, commitments)
    response = (nonce + challenge * secret) % ORDER
    return scalar_bytes(challenge) + scalar_bytes(response)


def verify_equal_logs(
    group: Group,
    domain: bytes,
    context: bytes,
    bases: Sequence[bytes],
    points: Sequence[bytes],
    proof: bytes,
) -> ProofCheck:
    _check_statement(bases, points)
    if len(proof) != PROOF_BYTES:
        return ProofCheck.NOT_CANONICAL
    challenge = parse_scalar(proof[:SCALAR_BYTES])
    response = parse_scalar(proof[SCALAR_BYTES:])
    if challenge is None or response is None:
        return ProofCheck.NOT_CANONICAL
    commitments = [
        group.sub(group.mul(response, base), group.mul(challenge, point))
        for base, point in zip(bases, points, strict=True)
    ]
    if _challenge(domain, context, bases, points, commitments) != challenge:
        return ProofCheck.MISMATCH
    return ProofCheck.VALID

