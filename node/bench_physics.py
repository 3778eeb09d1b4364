"""`bitcraps bench physics`: dice throws per second on each physics backend, and proof that
they agree bit for bit in the same run.

The same throws (seeds derived from their index) run on the pure-Python reference (the
first ``--python-throws`` of them: it is slow), on the numpy batch twin and, where an
OpenCL device passes its self-test, on the device. ``bit_identical`` is the comparison of
every output (final states, faces, step counts, step digests, frames) made here: numpy
against OpenCL on all throws, the reference against both on its share. Speed is reported,
never asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from typing import TYPE_CHECKING, Any

from bitcraps.node._cli_errors import CliError

if TYPE_CHECKING:
    import numpy as np

__all__ = ["add_target", "bench_physics"]

DEFAULT_THROWS = 2048
DEFAULT_PYTHON_THROWS = 32
SEED_DOMAIN = b"bitcraps/bench-physics/v1"


def add_target(targets: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = targets.add_parser(
        "physics", help="dice throws per second per physics backend, and whether they agree")
    parser.add_argument("--throws", type=int, default=DEFAULT_THROWS,
                        help=f"throws on numpy and OpenCL (default {DEFAULT_THROWS})")
    parser.add_argument("--python-throws", type=int, default=DEFAULT_PYTHON_THROWS,
                        help=f"throws on the pure-Python reference, the first of the same "
                             f"throws (default {DEFAULT_PYTHON_THROWS})")
    parser.add_argument("--device", default=None,
                        help="OpenCL device: a substring of its platform or device name")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    if not 1 <= args.throws <= 1_000_000:
        raise CliError("--throws must be between 1 and 1000000")
    if not 1 <= args.python_throws <= args.throws:
        raise CliError("--python-throws must be between 1 and --throws")
    result = bench_physics(args.throws, args.python_throws, device_hint=args.device)
    if args.json:
        print(json.dumps(result))
    else:
        _print_human(result)
    return 0


def bench_physics(throws: int, python_throws: int, *,
                  device_hint: str | None = None) -> dict[str, Any]:
    import numpy as np

    from bitcraps.accel._opencl_env import OpenCLUnavailable
    from bitcraps.accel.physics import (
        NumpyPhysics,
        PhysicsBackendError,
        PythonPhysics,
        initial_state,
        open_opencl_physics,
    )

    states = np.array([initial_state(_seed(i)) for i in range(throws)], dtype=np.int64)
    backends: dict[str, Any] = {}
    python_batch, backends["python"] = _timed(PythonPhysics(), states[:python_throws])
    numpy_batch, backends["numpy"] = _timed(NumpyPhysics(small_batch_throws=0), states)
    identical = python_batch.equals(numpy_batch.head(python_throws))
    compared = {"python_vs_numpy": python_throws}
    opencl_reason = None
    try:
        device = open_opencl_physics(device_hint=device_hint)
    except (OpenCLUnavailable, PhysicsBackendError) as exc:
        opencl_reason = str(exc)
    else:
        opencl_batch, backends["opencl"] = _timed(device, states)
        backends["opencl"]["device"] = device.description
        backends["opencl"]["fallback_batches"] = device.statistics()["fallback_batches"]
        identical = (identical and opencl_batch.equals(numpy_batch)
                     and python_batch.equals(opencl_batch.head(python_throws)))
        compared.update(numpy_vs_opencl=throws, python_vs_opencl=python_throws)
    python_rate = backends["python"]["throws_per_s"]
    result: dict[str, Any] = {
        "throws": throws,
        "python_throws": python_throws,
        "backends": backends,
        "speedup_vs_python": {name: round(entry["throws_per_s"] / python_rate, 1)
                              for name, entry in backends.items() if name != "python"},
        "bit_identical": identical,
        "compared_throws": compared,
        "cpus": os.cpu_count(),
    }
    if opencl_reason is not None:
        result["opencl_unavailable"] = opencl_reason
    return result


def _seed(index: int) -> bytes:
    return hashlib.sha256(SEED_DOMAIN + index.to_bytes(8, "big")).digest()


def _timed(backend: Any, states: np.ndarray) -> tuple[Any, dict[str, Any]]:
    """The batch, its throughput, and the time of one throw alone (the craps-roll case)."""
    started = time.perf_counter()
    batch = backend.simulate(states)
    elapsed = time.perf_counter() - started
    started = time.perf_counter()
    backend.simulate(states[:1])
    single = time.perf_counter() - started
    return batch, {
        "throws": len(states),
        "throws_per_s": round(len(states) / elapsed, 1),
        "ms_per_throw": round(elapsed / len(states) * 1000, 4),
        "single_throw_ms": round(single * 1000, 2),
        "mean_settle_steps": round(float(batch.settle_steps.mean()), 1),
    }


def _print_human(result: dict[str, Any]) -> None:
    print(f"physics bench: {result['throws']} throws ({result['python_throws']} on the "
          f"pure-Python reference), {result['cpus']} CPUs")
    for name, entry in result["backends"].items():
        where = f" on {entry['device']}" if "device" in entry else ""
        print(f"  {name:<7} {entry['throws_per_s']:>10.1f} throws/s, one throw alone "
              f"{entry['single_throw_ms']} ms{where}")
    for name, ratio in result["speedup_vs_python"].items():
        print(f"  {name} is {ratio}x the reference")
    if "opencl_unavailable" in result:
        print(f"  OpenCL: {result['opencl_unavailable']}")
    print(f"  bit-identical: {result['bit_identical']} ({result['compared_throws']})")
