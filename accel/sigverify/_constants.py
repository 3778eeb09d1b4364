"""The kernel's constants, computed from their definitions and written out as OpenCL C.

Nothing here is a transcribed table: the curve constants come from `_curve`, SHA-512's
round constants and initial hash from the integer roots of the first primes (FIPS 180-4,
4.2.3 and 5.3.5), the small-order encodings from the torsion points.
"""

from __future__ import annotations

from functools import cache

from . import _curve
from ._rule import SMALL_ORDER_ENCODINGS


def _first_primes(count: int) -> list[int]:
    primes: list[int] = []
    candidate = 2
    while len(primes) < count:
        if all(candidate % p for p in primes if p * p <= candidate):
            primes.append(candidate)
        candidate += 1
    return primes


def _integer_root(value: int, degree: int) -> int:
    """floor(value ** (1/degree)) by Newton's method on integers."""
    root = 1 << (value.bit_length() // degree + 1)
    while True:
        better = ((degree - 1) * root + value // root ** (degree - 1)) // degree
        if better >= root:
            return root
        root = better


def sha512_round_constants() -> list[int]:
    """The first 64 bits of the fractional parts of the cube roots of the first 80 primes."""
    return [_integer_root(p << 192, 3) & (2**64 - 1) for p in _first_primes(80)]


def sha512_initial_hash() -> list[int]:
    """The first 64 bits of the fractional parts of the square roots of the first 8 primes."""
    return [_integer_root(p << 128, 2) & (2**64 - 1) for p in _first_primes(8)]


def barrett_factor() -> int:
    """floor(2^512 / L): the scalar reduction's Barrett constant."""
    return 2**512 // _curve.L


def _words32(value: int, count: int) -> list[int]:
    return [(value >> (32 * i)) & 0xFFFFFFFF for i in range(count)]


def _c_array(kind: str, name: str, values: list[int], suffix: str = "u") -> str:
    body = ", ".join(f"0x{v:x}{suffix}" for v in values)
    return f"__constant {kind} {name}[{len(values)}] = {{{body}}};"


@cache
def constants_source() -> str:
    encodings = [byte for encoding in SMALL_ORDER_ENCODINGS for byte in encoding]
    lines = [
        f"#define SMALL_ORDER_COUNT {len(SMALL_ORDER_ENCODINGS)}",
        _c_array("uint", "FE_D", _curve.to_limbs(_curve.D)),
        _c_array("uint", "FE_D2", _curve.to_limbs(2 * _curve.D % _curve.P)),
        _c_array("uint", "FE_SQRT_M1", _curve.to_limbs(_curve.SQRT_M1)),
        _c_array("uchar", "SC_L_BYTES", list(_curve.L.to_bytes(32, "little"))),
        _c_array("uint", "SC_L", _words32(_curve.L, 8)),
        _c_array("uint", "SC_MU", _words32(barrett_factor(), 9)),
        _c_array("uchar", "SMALL_ORDER", encodings),
        _c_array("ulong", "SHA512_K", sha512_round_constants(), "ul"),
        _c_array("ulong", "SHA512_IV", sha512_initial_hash(), "ul"),
    ]
    return "\n".join(lines) + "\n"
