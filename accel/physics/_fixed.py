"""Fixed-point primitives of the dice physics, on Python ints, with their range checks.

Each one is defined on magnitudes (sign-magnitude), so no implementation ever shifts or
divides a negative number, and each asserts the bound under which the C and numpy versions
cannot overflow an int64: a product of magnitudes below 2**62 (see docs/dice-physics.md,
"Ranges"). A violated bound is a bug in the specification, not a bad input, and raises
``FixedPointRangeError``.
"""

from __future__ import annotations

from bitcraps.accel.physics._constants import FRAC_BITS, ROUND_HALF

__all__ = ["FixedPointRangeError", "clamp", "div", "mul", "shr_round"]

PRODUCT_LIMIT = 1 << 62
DIVIDEND_LIMIT = 1 << (62 - FRAC_BITS)
INT64_LIMIT = 1 << 63


class FixedPointRangeError(ArithmeticError):
    """An operand left the range the specification proves for it."""


def mul(a: int, b: int) -> int:
    """(a * b) / 2**16, rounded half away from zero."""
    magnitude = abs(a) * abs(b)
    if magnitude >= PRODUCT_LIMIT:
        raise FixedPointRangeError(f"mul({a}, {b}): product of magnitudes exceeds 2**62")
    rounded = (magnitude + ROUND_HALF) >> FRAC_BITS
    return -rounded if (a < 0) != (b < 0) else rounded


def div(a: int, b: int) -> int:
    """(a * 2**16) / b for b > 0, rounded half away from zero."""
    if b <= 0:
        raise FixedPointRangeError(f"div({a}, {b}): divisor must be positive")
    magnitude = abs(a)
    if magnitude >= DIVIDEND_LIMIT or b >= PRODUCT_LIMIT:
        raise FixedPointRangeError(f"div({a}, {b}): dividend exceeds 2**46")
    rounded = ((magnitude << FRAC_BITS) + (b >> 1)) // b
    return -rounded if a < 0 else rounded


def shr_round(a: int, bits: int) -> int:
    """a / 2**bits, rounded half away from zero."""
    if abs(a) >= PRODUCT_LIMIT:
        raise FixedPointRangeError(f"shr_round({a}, {bits}): operand exceeds 2**62")
    rounded = (abs(a) + (1 << (bits - 1))) >> bits
    return -rounded if a < 0 else rounded


def clamp(a: int, limit: int) -> int:
    """a saturated to [-limit, limit]."""
    if abs(a) >= INT64_LIMIT:
        raise FixedPointRangeError(f"clamp({a}): not an int64")
    return -limit if a < -limit else limit if a > limit else a
