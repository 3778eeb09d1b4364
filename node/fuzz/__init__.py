"""bitcraps.node.fuzz: a structure-aware fuzzer over every decoder of untrusted bytes.

    report = run_target(get_target("envelope"), inputs=10_000, seed=1)
    report.failures  # each with its seed, index and input; `bitcraps fuzz` prints them

The oracle: only the decoder's typed error (or a value that re-encodes to the same bytes),
under `TIME_LIMIT_MS`, with tracemalloc's peak under `memory_bound(len(input))`. The hostile
inputs come from `bitcraps.consensus.sim`'s pure engine, seeded from the project's encoders.
"""

from ._runner import (
    MEMORY_BASE_BYTES,
    MEMORY_PER_INPUT_BYTE,
    TIME_LIMIT_MS,
    Finding,
    TargetReport,
    check_input,
    make_input,
    memory_bound,
    run_target,
)
from ._targets import TARGET_NAMES, FuzzTarget, get_target

__all__ = [
    "MEMORY_BASE_BYTES", "MEMORY_PER_INPUT_BYTE", "TARGET_NAMES", "TIME_LIMIT_MS",
    "Finding", "FuzzTarget", "TargetReport",
    "check_input", "get_target", "make_input", "memory_bound", "run_target",
]
