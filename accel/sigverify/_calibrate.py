"""The batch size from which a device beats the CPU, measured at start within a time budget.

Batches of 16, 32, 64, ... valid signatures are timed on the CPU verifier and on the
device, each size measured twice and the faster run kept, until the budget would be
exceeded (estimated from the last size; no repeat starts past the deadline, so the
overrun is at most one run of the last size on each side). The crossover is the smallest
measured size from which the device was faster at every larger measured size too; None
when the device lost at the largest size measured (it never pays, as far as the budget
could tell).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ._cases import random_valid
from ._opencl import OpenClEd25519

__all__ = ["Calibration", "CalibrationPoint", "calibrate", "crossover_batch"]

SignatureCheck = tuple[bytes, bytes, bytes]

CALIBRATION_SIZES = (16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192)
DISTINCT_SIGNATURES = 256
MESSAGE_BYTES = 160
REPEATS = 2


@dataclass(frozen=True)
class CalibrationPoint:
    batch: int
    cpu_per_s: float
    device_per_s: float


@dataclass(frozen=True)
class Calibration:
    crossover: int | None
    points: tuple[CalibrationPoint, ...]
    seconds: float

    def describe(self) -> str:
        if not self.points:
            return "no batch size could be measured within the calibration budget"
        largest = self.points[-1]
        rates = (f"at {largest.batch}: device {largest.device_per_s:.0f}/s, "
                 f"CPU {largest.cpu_per_s:.0f}/s")
        if self.crossover is None:
            return (f"the device was slower than the CPU up to batches of {largest.batch} "
                    f"({rates}; measured in {self.seconds:.1f} s)")
        return (f"the device beats the CPU from batches of {self.crossover} "
                f"({rates}; measured in {self.seconds:.1f} s)")


def crossover_batch(points: Sequence[CalibrationPoint]) -> int | None:
    """The smallest batch from which the device won at every measured size."""
    crossover: int | None = None
    for point in reversed(points):
        if point.device_per_s <= point.cpu_per_s:
            break
        crossover = point.batch
    return crossover


def calibration_checks(seed: int) -> list[SignatureCheck]:
    rng = random.Random(seed)
    return [random_valid(rng, MESSAGE_BYTES).check for _ in range(DISTINCT_SIGNATURES)]


def _best_rate(run: Callable[[Sequence[SignatureCheck]], object],
               checks: Sequence[SignatureCheck], deadline: float) -> tuple[float, float]:
    """(best signatures per second, seconds spent) over up to REPEATS runs; a repeat
    only starts before the deadline."""
    best = 0.0
    spent = 0.0
    for repeat in range(REPEATS):
        started = time.perf_counter()
        if repeat and started >= deadline:
            break
        run(checks)
        elapsed = time.perf_counter() - started
        spent += elapsed
        best = max(best, len(checks) / max(elapsed, 1e-9))
    return best, spent


def calibrate(device: OpenClEd25519, cpu: Callable[[Sequence[SignatureCheck]], list[bool]],
              *, budget_s: float = 2.0, sizes: Sequence[int] = CALIBRATION_SIZES,
              seed: int = 0xCA11B) -> Calibration:
    started = time.perf_counter()
    deadline = started + budget_s
    base = calibration_checks(seed)
    device.verdict_codes(base[:sizes[0]])  # the first launch may build the work-group code
    points: list[CalibrationPoint] = []
    last_cost = 0.0
    for size in sizes:
        # The next size costs about twice the last one: stop before the budget runs out.
        if points and time.perf_counter() + 2 * last_cost > deadline:
            break
        checks = (base * (size // len(base) + 1))[:size]
        cpu_rate, cpu_spent = _best_rate(cpu, checks, deadline)
        device_rate, device_spent = _best_rate(device.verdict_codes, checks, deadline)
        points.append(CalibrationPoint(size, cpu_rate, device_rate))
        last_cost = cpu_spent + device_spent
    elapsed = time.perf_counter() - started
    return Calibration(crossover_batch(points), tuple(points), elapsed)
