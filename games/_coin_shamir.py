"""Shamir sharing modulo L, in the scalars and in the exponent.

Replica i (0-based, the consensus index) holds the share at x = i + 1; the secret sits at
x = 0. A degree-(t-1) polynomial is fixed by any t of its values, and t-1 values say nothing
about its value at 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ._coin_group import IDENTITY, ORDER, Group


def share_point(replica: int) -> int:
    """Where replica `replica`'s share sits on the polynomial."""
    return replica + 1


def evaluate(coefficients: Sequence[int], x: int) -> int:
    """a_0 + a_1 x + ... + a_{t-1} x^{t-1} modulo L (Horner)."""
    value = 0
    for coefficient in reversed(coefficients):
        value = (value * x + coefficient) % ORDER
    return value


def evaluate_in_exponent(group: Group, commitments: Sequence[bytes], x: int) -> bytes:
    """sum_k x^k * C_k: the point a share at x must equal when C_k = a_k * G (Feldman)."""
    value = IDENTITY
    for commitment in reversed(commitments):
        value = group.add(group.mul(x, value), commitment)
    return value


def lagrange_at_zero(replicas: Sequence[int]) -> dict[int, int]:
    """lambda_i with f(0) = sum_i lambda_i f(x_i) for any polynomial of degree < len(replicas)."""
    if len(set(replicas)) != len(replicas):
        raise ValueError("interpolation needs distinct replicas")
    xs = {replica: share_point(replica) for replica in replicas}
    coefficients = {}
    for replica, x_i in xs.items():
        numerator, denominator = 1, 1
        for other, x_j in xs.items():
            if other != replica:
                numerator = numerator * x_j % ORDER
                denominator = denominator * (x_j - x_i) % ORDER
        coefficients[replica] = numerator * pow(denominator, -1, ORDER) % ORDER
    return coefficients


def interpolate_scalars(shares: Mapping[int, int]) -> int:
    """f(0) from f's values at the given replicas' share points."""
    weights = lagrange_at_zero(sorted(shares))
    return sum(weights[replica] * value for replica, value in shares.items()) % ORDER


def interpolate_in_exponent(group: Group, shares: Mapping[int, bytes]) -> bytes:
    """f(0) * P from the points f(x_i) * P at the given replicas."""
    weights = lagrange_at_zero(sorted(shares))
    value = IDENTITY
    for replica in sorted(shares):
        value = group.add(value, group.mul(weights[replica], shares[replica]))
    return value
