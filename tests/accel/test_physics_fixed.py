"""The fixed-point primitives of the dice physics: defined rounding, bounds, and the numpy
twins computing the same integers (the OpenCL twins are checked by the device self-test,
tests/accel/test_physics_backends.py)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitcraps.accel.physics import _numpy_sim as npsim
from bitcraps.accel.physics._constants import ONE
from bitcraps.accel.physics._fixed import FixedPointRangeError, clamp, div, mul, shr_round
from bitcraps.accel.physics._selftest import primitive_mismatch, primitive_operands

# Operands within the bounds the specification proves (products of magnitudes < 2**62).
OPERAND = st.integers(min_value=-(1 << 31) + 1, max_value=(1 << 31) - 1)
DIVIDEND = st.integers(min_value=-(1 << 46) + 1, max_value=(1 << 46) - 1)
DIVISOR = st.integers(min_value=1, max_value=(1 << 40))


def _round_half_away(value: Fraction) -> int:
    magnitude = abs(value)
    rounded = int(magnitude + Fraction(1, 2))  # floor(|x| + 1/2)
    return -rounded if value < 0 else rounded


@pytest.mark.parametrize(("a", "b", "expected"), [
    (3, 32768, 2),  # 1.5 ulp rounds away from zero
    (-3, 32768, -2),
    (1, 32768, 1),  # 0.5 ulp
    (-1, 32768, -1),
    (1, 32767, 0),  # just under half an ulp
    (-1, 32767, 0),
    (-ONE, ONE, -ONE),
    (-(3 * ONE) // 2, ONE // 2, -(3 * ONE) // 4),
    (0, -ONE, 0),
])
def test_mul_rounds_half_away_from_zero(a: int, b: int, expected: int) -> None:
    assert mul(a, b) == expected
    assert npsim.mul(np.array([a], dtype=np.int64), np.array([b], dtype=np.int64))[0] == expected


@pytest.mark.parametrize(("a", "b", "expected"), [
    (1, 2 * ONE, 1),  # 0.5 ulp away from zero
    (-1, 2 * ONE, -1),
    (-1, 2 * ONE + 1, 0),
    (-ONE, 3, -((ONE * ONE + 1) // 3)),
    (-7, 7, -ONE),
])
def test_div_rounds_half_away_from_zero(a: int, b: int, expected: int) -> None:
    assert div(a, b) == expected
    assert npsim.div(np.array([a], dtype=np.int64), np.array([b], dtype=np.int64))[0] == expected


@given(OPERAND, OPERAND)
def test_mul_is_the_exact_product_rounded(a: int, b: int) -> None:
    assert mul(a, b) == _round_half_away(Fraction(a * b, ONE))
    assert mul(-a, b) == -mul(a, b) == mul(a, -b)


@given(DIVIDEND, DIVISOR)
def test_div_is_the_exact_quotient_rounded(a: int, b: int) -> None:
    assert div(a, b) == _round_half_away(Fraction(a * ONE, b))
    assert div(-a, b) == -div(a, b)


@given(st.integers(min_value=-(1 << 61), max_value=1 << 61), st.integers(1, 20))
def test_shr_round_is_the_exact_quotient_rounded(a: int, bits: int) -> None:
    assert shr_round(a, bits) == _round_half_away(Fraction(a, 1 << bits))


def test_clamp_saturates_both_ways() -> None:
    assert clamp(10, 5) == 5
    assert clamp(-10, 5) == -5
    assert clamp(-5, 5) == -5
    assert clamp(4, 5) == 4


@pytest.mark.parametrize("call", [
    lambda: mul(1 << 31, 1 << 31),  # product of magnitudes reaches 2**62
    lambda: mul(-(1 << 40), 1 << 22),
    lambda: div(1 << 46, 1),  # the dividend shifted by 16 would pass 2**62
    lambda: div(1, 0),
    lambda: div(1, -5),
    lambda: shr_round(1 << 62, 3),
    lambda: clamp(1 << 63, 5),
])
def test_out_of_range_operands_are_refused(call: object) -> None:
    with pytest.raises(FixedPointRangeError):
        call()  # type: ignore[operator]


@given(st.lists(st.tuples(OPERAND, OPERAND, DIVIDEND, DIVISOR), min_size=1, max_size=64))
def test_numpy_primitives_equal_the_reference(rows: list[tuple[int, int, int, int]]) -> None:
    columns = zip(*rows, strict=True)
    a, b, dividend, divisor = (np.array(column, dtype=np.int64) for column in columns)
    products = [mul(x, y) for x, y in zip(a.tolist(), b.tolist(), strict=True)]
    assert npsim.mul(a, b).tolist() == products
    assert (npsim.div(dividend, divisor).tolist()
            == [div(x, y) for x, y in zip(dividend.tolist(), divisor.tolist(), strict=True)])
    for bits in (1, 3, 6):
        assert npsim.shr_round(a, bits).tolist() == [shr_round(x, bits) for x in a.tolist()]


def test_self_test_operands_respect_the_bounds_and_catch_a_wrong_value() -> None:
    a, b = primitive_operands()
    assert len(a) > 400 and (b > 0).all()
    expected = np.array([[mul(x, y), div(x, y), shr_round(x, 1), shr_round(x, 6), clamp(x, y)]
                         for x, y in zip(a.tolist(), b.tolist(), strict=True)], dtype=np.int64)
    assert primitive_mismatch(a, b, expected) is None
    wrong = expected.copy()
    wrong[17, 0] += 1
    message = primitive_mismatch(a, b, wrong)
    assert message is not None and message.startswith("mul(a, b)")
