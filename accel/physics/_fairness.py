"""Pearson's chi-square test of landed-face counts against a fair die, without scipy.

The p-value is the chi-square survival function, the regularized upper incomplete gamma
function Q(k/2, x/2), which has a closed form for integer k: for even k a finite Poisson
sum, for odd k erfc plus a finite sum (Abramowitz & Stegun 26.4.4 and 26.4.5). For the
six faces k = 5: Q = erfc(sqrt(x/2)) + sqrt(2x/pi) * exp(-x/2) * (1 + x/3).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["FaceFairness", "chi2_survival", "face_fairness"]


@dataclass(frozen=True)
class FaceFairness:
    counts: tuple[int, ...]
    chi2: float
    p_value: float


def face_fairness(counts: Sequence[int]) -> FaceFairness:
    """The chi-square statistic of ``counts`` (one per face) against equal frequencies."""
    if len(counts) < 2 or any(c < 0 for c in counts) or sum(counts) == 0:
        raise ValueError("need non-negative counts for at least two faces, not all zero")
    expected = sum(counts) / len(counts)
    chi2 = sum((c - expected) ** 2 / expected for c in counts)
    return FaceFairness(tuple(counts), chi2, chi2_survival(chi2, len(counts) - 1))


def chi2_survival(x: float, dof: int) -> float:
    """P(X >= x) for X chi-square distributed with ``dof`` degrees of freedom."""
    if dof < 1:
        raise ValueError("degrees of freedom must be >= 1")
    if x <= 0:
        return 1.0
    half = x / 2
    if dof % 2 == 0:
        term = total = 1.0
        for j in range(1, dof // 2):
            term *= half / j
            total += term
        return min(1.0, math.exp(-half) * total)
    term = total = 1.0
    for j in range(1, (dof - 1) // 2):
        term *= x / (2 * j + 1)
        total += term
    tail = math.sqrt(2 * x / math.pi) * math.exp(-half) * total if dof > 1 else 0.0
    return min(1.0, math.erfc(math.sqrt(half)) + tail)
