"""libsodium's Ed25519 acceptance rule, step by step, with the reason for each rejection.

libsodium 1.0.20's `crypto_sign_ed25519_verify_detached` (the function behind
`crypto_sign_open`) accepts a signature (R, S) on message M under key A when all of
these hold, checked in this order:

1. S < L, the group order (`sc25519_is_canonical`).
2. R's encoding is not one of the seven small-order encodings (`ge25519_has_small_order`
   compares bytes, ignoring the sign bit: y = 0, 1, p-1, p, p+1 and the two y of the
   points of order 8).
3. A's encoding is canonical: y < p (`ge25519_is_canonical`; the sign bit is not looked at).
4. A's encoding is not a small-order one (the same list as for R).
5. A decodes to a curve point (x^2 = (y^2 - 1)/(d y^2 + 1) has a root).
6. With k = SHA-512(R || A || M) mod L, the canonical encoding of S*B - k*A equals R's
   32 bytes exactly (cofactorless; R itself is never decoded, so a non-canonical or
   off-curve R simply fails this comparison).

This module is the rule in plain Python: the kernel returns the same `Verdict` codes and
the tests compare both with libsodium itself.
"""

from __future__ import annotations

import hashlib
from enum import IntEnum

from . import _curve

__all__ = ["Verdict", "SMALL_ORDER_ENCODINGS", "libsodium_verdict", "is_small_order_encoding"]


class Verdict(IntEnum):
    """Why a signature was accepted or rejected; the kernel writes these codes."""

    ACCEPT = 0
    S_NOT_CANONICAL = 1
    R_SMALL_ORDER = 2
    A_NOT_CANONICAL = 3
    A_SMALL_ORDER = 4
    A_NOT_ON_CURVE = 5
    EQUATION_FAILS = 6
    BAD_LENGTH = 7


def _small_order_encodings() -> tuple[bytes, ...]:
    """Every y (canonical or not, below 2^255) of a point of order dividing 8, as bytes."""
    ys = sorted({_curve.affine(point)[1] for point in _curve.torsion_points()})
    values = ys + [y + _curve.P for y in ys if y + _curve.P < 2**255]
    return tuple(value.to_bytes(32, "little") for value in values)


SMALL_ORDER_ENCODINGS = _small_order_encodings()


def is_small_order_encoding(encoding: bytes) -> bool:
    masked = encoding[:31] + bytes([encoding[31] & 0x7F])
    return masked in SMALL_ORDER_ENCODINGS


def _decode_negated(encoding: bytes) -> _curve.Point | None:
    """-A, as libsodium's `ge25519_frombytes_negate_vartime` computes it (y taken below 2^255)."""
    value = int.from_bytes(encoding, "little")
    y = value & (2**255 - 1)
    u = (y * y - 1) % _curve.P
    v = (_curve.D * y * y + 1) % _curve.P
    x = (u * pow(v, 3, _curve.P) * pow(u * pow(v, 7, _curve.P), (_curve.P - 5) // 8, _curve.P))
    x %= _curve.P
    if (v * x * x - u) % _curve.P != 0:
        if (v * x * x + u) % _curve.P != 0:
            return None
        x = x * _curve.SQRT_M1 % _curve.P
    if x & 1 == value >> 255:
        x = (-x) % _curve.P
    y %= _curve.P
    return (x, y, 1, x * y % _curve.P)


def libsodium_verdict(public_key: bytes, message: bytes, signature: bytes) -> Verdict:
    if len(signature) != 64 or len(public_key) != 32:
        return Verdict.BAD_LENGTH
    r_bytes = signature[:32]
    s = int.from_bytes(signature[32:], "little")
    if s >= _curve.L:
        return Verdict.S_NOT_CANONICAL
    if is_small_order_encoding(r_bytes):
        return Verdict.R_SMALL_ORDER
    if int.from_bytes(public_key, "little") & (2**255 - 1) >= _curve.P:
        return Verdict.A_NOT_CANONICAL
    if is_small_order_encoding(public_key):
        return Verdict.A_SMALL_ORDER
    negated_a = _decode_negated(public_key)
    if negated_a is None:
        return Verdict.A_NOT_ON_CURVE
    digest = hashlib.sha512(r_bytes + public_key + message).digest()
    k = int.from_bytes(digest, "little") % _curve.L
    check = _curve.add(_curve.multiply(s, _curve.BASE), _curve.multiply(k, negated_a))
    if _curve.encode(check) != r_bytes:
        return Verdict.EQUATION_FAILS
    return Verdict.ACCEPT
