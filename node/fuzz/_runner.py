"""Run a fuzz target: deterministic hostile inputs and the oracle every decoder must pass.

Input `index` of a run with `seed` is a pure function of (target, seed, index), so any
finding replays alone (`bitcraps fuzz TARGET --seed S --index I`). The inputs: mutations of
the target's valid encodings (msgpack tree mutations, wider encodings, byte mutations; one to
three rounds) and hostile blobs from scratch (deep nesting, huge declared lengths, list
bombs up to 1 MiB, forbidden types). The oracle, per input:

- the decoder returns a value or raises its one typed error: anything else is a finding;
- a value it returns re-encodes to the same bytes (exactly one encoding per value);
- it takes under `TIME_LIMIT_MS` (the fastest of a few untraced runs, if the first is over);
- the memory it allocates (tracemalloc's peak) stays under `memory_bound(len(input))`.
"""

from __future__ import annotations

import random
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from bitcraps.consensus.sim import hostile_msgpack, mutate_bytes, mutate_msgpack

from ._targets import FuzzTarget

TIME_LIMIT_MS = 100.0
RETIMES = 3  # an input over the limit is timed again, untraced; the fastest run counts
MEMORY_BASE_BYTES = 8 * 1024 * 1024
MEMORY_PER_INPUT_BYTE = 64
MAX_HEX_CHARS = 16_384


def memory_bound(size: int) -> int:
    """The most a decoder may allocate at once for an input of `size` bytes."""
    return MEMORY_BASE_BYTES + MEMORY_PER_INPUT_BYTE * size


@dataclass(frozen=True, slots=True)
class Finding:
    target: str
    seed: int
    index: int
    kind: str  # "raised", "non-canonical", "slow", "memory"
    detail: str
    input_bytes: int
    input_hex: str  # the whole input unless it is long: then replay it by seed and index

    @property
    def replay(self) -> str:
        return f"bitcraps fuzz {self.target} --seed {self.seed} --index {self.index}"


@dataclass(slots=True)
class TargetReport:
    target: str
    seed: int
    inputs: int = 0
    max_ms: float = 0.0
    peak_bytes: int = 0
    failures: list[Finding] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        report = asdict(self)
        report["max_ms"] = round(self.max_ms, 3)
        report["failures"] = [asdict(f) | {"replay": f.replay} for f in self.failures]
        return report


def make_input(target: FuzzTarget, seed: int, index: int) -> bytes:
    """Input `index` of a run of `target` with `seed`: the same bytes on every machine."""
    rng = random.Random(f"bitcraps/fuzz/{target.name}/{seed}/{index}")
    seeds = target.seeds()
    roll = rng.random()
    if roll < 0.65:
        data = seeds[rng.randrange(len(seeds))]
        for _ in range(rng.choice((1, 1, 2, 3))):
            data = mutate_msgpack(rng, data)
        return data
    if roll < 0.9:
        return hostile_msgpack(rng)
    return mutate_bytes(rng, seeds[rng.randrange(len(seeds))])


def _outcome(target: FuzzTarget, data: bytes) -> tuple[str, str] | None:
    """None if the decoder behaved; else (kind, detail)."""
    try:
        value = target.decode(data)
    except target.errors:
        return None
    except Exception as exc:  # the finding itself: any other exception escapes the decoder
        return "raised", type(exc).__name__
    if target.encode is not None:
        try:
            again = target.encode(value)
        except Exception as exc:  # a value the decoder returned must encode
            return "raised", f"re-encoding the decoded value: {type(exc).__name__}"
        if again != data:
            return "non-canonical", "a value decoded from bytes that are not its encoding"
    return None


def _timed(call: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = call()
    return result, (time.perf_counter() - start) * 1000


def check_input(target: FuzzTarget, data: bytes, time_limit_ms: float = TIME_LIMIT_MS,
                ) -> tuple[tuple[str, str] | None, float, int]:
    """Run one input under the oracle: (finding or None, milliseconds, peak bytes)."""
    tracing = tracemalloc.is_tracing()
    if tracing:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
    outcome, elapsed_ms = _timed(lambda: _outcome(target, data))
    peak = tracemalloc.get_traced_memory()[1] - base if tracing else 0
    if elapsed_ms > time_limit_ms:  # tracing slows allocation, a busy box pauses: retime bare
        if tracing:
            tracemalloc.stop()
        try:
            for _ in range(RETIMES):
                outcome, again_ms = _timed(lambda: _outcome(target, data))
                elapsed_ms = min(elapsed_ms, again_ms)
        finally:
            if tracing:
                tracemalloc.start()
    if outcome is None and elapsed_ms > time_limit_ms:
        outcome = ("slow", f"{elapsed_ms:.1f} ms (limit {time_limit_ms:.0f} ms)")
    if outcome is None and peak > memory_bound(len(data)):
        outcome = ("memory", f"{peak} bytes at peak (limit {memory_bound(len(data))})")
    return outcome, elapsed_ms, peak


def run_target(target: FuzzTarget, inputs: int, seed: int = 0,
               indices: range | list[int] | None = None,
               time_limit_ms: float = TIME_LIMIT_MS) -> TargetReport:
    """Fuzz `target` with `inputs` inputs (or exactly `indices`) under the oracle."""
    report = TargetReport(target.name, seed)
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        for index in indices if indices is not None else range(inputs):
            data = make_input(target, seed, index)
            outcome, elapsed_ms, peak = check_input(target, data, time_limit_ms)
            report.inputs += 1
            report.max_ms = max(report.max_ms, elapsed_ms)
            report.peak_bytes = max(report.peak_bytes, peak)
            if outcome is None:
                continue
            hex_text = data[: MAX_HEX_CHARS // 2].hex()
            report.failures.append(Finding(target.name, seed, index, outcome[0], outcome[1],
                                           len(data), hex_text))
    finally:
        if started:
            tracemalloc.stop()
    return report
