"""Latency percentiles for the benches, in milliseconds (nearest-rank)."""

from __future__ import annotations

import math


def percentiles_ms(samples_s: list[float]) -> dict[str, float]:
    if not samples_s:
        return {"p50": 0.0, "p99": 0.0}
    ordered = sorted(samples_s)

    def at(fraction: float) -> float:
        index = min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))
        return round(ordered[index] * 1000, 3)

    return {"p50": at(0.50), "p99": at(0.99)}
