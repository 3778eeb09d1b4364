"""Ed25519's prime-order subgroup on libsodium's core functions (PyNaCl): the `Group` of
`bitcraps.games`' threshold coin.

libsodium refuses some inputs and results; each refusal becomes either the mathematically
right answer or a `GroupError` that says what was wrong:

- `crypto_scalarmult_ed25519_noclamp` and `..._base_noclamp` refuse to return the identity,
  which they would for a scalar that is 0 modulo L or for the identity point. The group law
  gives the identity there, so that is what `mul` and `base_mul` return.
- They also refuse a point of small order, outside the prime-order subgroup, or
  non-canonical: a `GroupError` naming the point.
- `crypto_core_ed25519_add` / `_sub` check only that a point decodes onto the curve; they
  would compute with a small-order component or a non-canonical encoding. Every operand is
  therefore checked first: IDENTITY or `crypto_core_ed25519_is_valid_point`.
- `crypto_core_ed25519_from_uniform` (Elligator 2, then the cofactor cleared) maps 32 bytes
  to the subgroup; it maps some inputs to the identity. `map_to_point` adds the maps of both
  halves of 64 uniform bytes, the random-oracle construction of RFC 9380 (hash_to_curve is
  map(u0) + map(u1)), and refuses an identity result.
"""

from __future__ import annotations

import nacl.bindings as sodium
import nacl.exceptions

from bitcraps.games._coin_errors import GroupError
from bitcraps.games._coin_group import IDENTITY, ORDER, POINT_BYTES, SCALAR_BYTES, UNIFORM_BYTES

_SODIUM_ERRORS = (
    nacl.exceptions.RuntimeError,
    nacl.exceptions.TypeError,
    nacl.exceptions.ValueError,
)


def _describe(point: object) -> str:
    if not isinstance(point, bytes):
        return f"a {type(point).__name__}, not 32 bytes"
    if len(point) != POINT_BYTES:
        return f"{len(point)} bytes, not {POINT_BYTES}"
    return point.hex()


class SodiumEd25519Group:
    """The `Group` on libsodium. Stateless; safe to share between threads."""

    def __init__(self) -> None:
        if not sodium.has_crypto_core_ed25519 or not sodium.has_crypto_scalarmult_ed25519:
            raise GroupError("this libsodium build lacks the Ed25519 core functions")

    def is_valid_point(self, point: bytes) -> bool:
        if type(point) is not bytes or len(point) != POINT_BYTES:
            return False
        return bool(sodium.crypto_core_ed25519_is_valid_point(point))

    def _operand(self, point: bytes) -> bytes:
        if point == IDENTITY or self.is_valid_point(point):
            return point
        raise GroupError(f"not a point of the prime-order subgroup: {_describe(point)}")

    def add(self, p: bytes, q: bytes) -> bytes:
        self._operand(p)
        self._operand(q)
        result: bytes = sodium.crypto_core_ed25519_add(p, q)
        return result

    def sub(self, p: bytes, q: bytes) -> bytes:
        self._operand(p)
        self._operand(q)
        result: bytes = sodium.crypto_core_ed25519_sub(p, q)
        return result

    def mul(self, scalar: int, point: bytes) -> bytes:
        self._operand(point)
        reduced = _reduce(scalar)
        if reduced == 0 or point == IDENTITY:
            return IDENTITY
        try:
            result: bytes = sodium.crypto_scalarmult_ed25519_noclamp(
                reduced.to_bytes(SCALAR_BYTES, "little"), point
            )
        except _SODIUM_ERRORS as exc:
            raise GroupError(f"libsodium refused to multiply {_describe(point)}: {exc}") from None
        return result

    def base_mul(self, scalar: int) -> bytes:
        reduced = _reduce(scalar)
        if reduced == 0:
            return IDENTITY
        result: bytes = sodium.crypto_scalarmult_ed25519_base_noclamp(
            reduced.to_bytes(SCALAR_BYTES, "little")
        )
        return result

    def map_to_point(self, uniform: bytes) -> bytes:
        if type(uniform) is not bytes or len(uniform) != UNIFORM_BYTES:
            raise GroupError(f"map_to_point takes {UNIFORM_BYTES} bytes")
        half = UNIFORM_BYTES // 2
        first = sodium.crypto_core_ed25519_from_uniform(uniform[:half])
        second = sodium.crypto_core_ed25519_from_uniform(uniform[half:])
        point: bytes = sodium.crypto_core_ed25519_add(first, second)
        if point == IDENTITY:
            raise GroupError("the input maps to the identity; it has no usable hash point")
        return point


def _reduce(scalar: int) -> int:
    if type(scalar) is not int:
        raise GroupError(f"a scalar must be an int, got {type(scalar).__name__}")
    return scalar % ORDER
