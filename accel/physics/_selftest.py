"""What a device must reproduce before it may simulate throws: the fixed-point primitives on
edge operands, and one whole throw replayed against the pure-Python reference."""

from __future__ import annotations

import hashlib
from dataclasses import fields

import numpy as np

from bitcraps.accel.physics._fixed import clamp, div, mul, shr_round
from bitcraps.accel.physics._reference import ThrowOutcome, simulate_throw
from bitcraps.accel.physics._seed import initial_state

__all__ = [
    "PhysicsSelfTestError",
    "SELFTEST_SEED",
    "outcome_mismatch",
    "primitive_mismatch",
    "primitive_operands",
    "reference_outcome",
]

SELFTEST_SEED = hashlib.sha256(b"bitcraps/dice-selftest/v1").digest()

# Around every rounding boundary of Q16 (half an ulp, one ulp, 1.5 ulps), both signs, and
# the largest magnitudes the specification allows (|a| < 2**46, |a * b| < 2**62).
_A_MAGNITUDES = (0, 1, 2, 3, 31, 32, 33, 32767, 32768, 32769, 65535, 65536, 65537, 98303,
                 98304, 98305, (1 << 30) + 12345, (1 << 40) - 1, (1 << 45) + 7, (1 << 46) - 1)
_B_VALUES = (1, 2, 3, 7, 32767, 32768, 32769, 65535, 65536, 65537, 98304, 1 << 15 | 1)


class PhysicsSelfTestError(RuntimeError):
    """A device that computed something the reference does not; the message says what."""


def primitive_operands() -> tuple[np.ndarray, np.ndarray]:
    """Pairs (a, b), b > 0, covering the primitives' rounding cases within their bounds."""
    pairs = [(sign * a, b) for a in _A_MAGNITUDES for sign in (1, -1) for b in _B_VALUES
             if a * b < 1 << 62]
    return (np.array([a for a, _ in pairs], dtype=np.int64),
            np.array([b for _, b in pairs], dtype=np.int64))


def primitive_mismatch(a: np.ndarray, b: np.ndarray, device: np.ndarray) -> str | None:
    """The first primitive the device got wrong, described; None if all agree."""
    names = ("mul(a, b)", "div(a, b)", "shr_round(a, 1)", "shr_round(a, 6)", "clamp(a, b)")
    for index, (x, y) in enumerate(zip(a.tolist(), b.tolist(), strict=True)):
        expected = (mul(x, y), div(x, y), shr_round(x, 1), shr_round(x, 6), clamp(x, y))
        for name, want, got in zip(names, expected, device[index].tolist(), strict=True):
            if want != got:
                return f"{name} with a={x}, b={y}: device {got}, reference {want}"
    return None


def reference_outcome() -> ThrowOutcome:
    """The self-test throw as the reference computes it."""
    return simulate_throw(initial_state(SELFTEST_SEED))


def outcome_mismatch(device: ThrowOutcome, reference: ThrowOutcome) -> str | None:
    """The first field of a replayed throw that differs, described; None if bit-identical."""
    for field in fields(ThrowOutcome):
        if getattr(device, field.name) != getattr(reference, field.name):
            return f"replayed throw differs in {field.name}"
    return None
