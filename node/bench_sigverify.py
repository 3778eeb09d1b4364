"""`bitcraps bench sigverify`: Ed25519 verifications per second per backend and batch size.

Backends: PyNaCl on this one thread (the baseline), the CPU thread pool
(`CpuBatchVerifier`), the worker-process pool (`ProcessBatchVerifier`, what the daemon
uses) and, where an OpenCL device passes its self-test, the OpenCL kernel. Every backend
verifies the same batches (one signature in eight corrupted) and their verdicts are
compared: `verdicts_agree` must be true. The crossover is computed from these figures
(the OpenCL kernel against the thread pool) and, separately, `selection` is what
`select_verifier("auto")` measured and chose in this run. Speed is reported, never
asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from bitcraps.node._cli_errors import CliError

__all__ = ["add_target", "bench_sigverify"]

DEFAULT_SIZES = (16, 64, 256, 1024, 4096)
DEFAULT_SECONDS = 0.3
DEFAULT_CALIBRATION_S = 2.0
MESSAGE_BYTES = 128
SEED = 0x5167

Check = tuple[bytes, bytes, bytes]


def add_target(targets: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = targets.add_parser(
        "sigverify", help="Ed25519 verifies per second per backend and batch size")
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)),
                        help="comma-separated batch sizes (default "
                             f"{','.join(map(str, DEFAULT_SIZES))})")
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS,
                        help=f"time spent per backend and size (default {DEFAULT_SECONDS})")
    parser.add_argument("--workers", type=int, default=None,
                        help="threads and processes of the CPU pools (default: one per CPU)")
    parser.add_argument("--calibration-seconds", type=float, default=DEFAULT_CALIBRATION_S,
                        help="budget of the start-up selection's calibration, reported as "
                             f"`selection` (default {DEFAULT_CALIBRATION_S})")
    parser.add_argument("--device", default=None,
                        help="OpenCL device: a substring of its platform or device name")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=_run)


def _parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise CliError(f"--sizes must be comma-separated integers, not {text!r}") from None
    if not sizes or any(not 1 <= size <= 1 << 20 for size in sizes):
        raise CliError("--sizes needs at least one batch size, each between 1 and 1048576")
    return sorted(set(sizes))


def _run(args: argparse.Namespace) -> int:
    sizes = _parse_sizes(args.sizes)
    if not 0.01 <= args.seconds <= 60:
        raise CliError("--seconds must be between 0.01 and 60")
    if args.workers is not None and not 1 <= args.workers <= 256:
        raise CliError("--workers must be between 1 and 256")
    if not 0.01 <= args.calibration_seconds <= 60:
        raise CliError("--calibration-seconds must be between 0.01 and 60")
    result = bench_sigverify(sizes, args.seconds, workers=args.workers,
                             device_hint=args.device,
                             calibration_s=args.calibration_seconds)
    if args.json:
        print(json.dumps(result))
    else:
        _print_human(result)
    return 0


def _checks(count: int) -> list[Check]:
    from bitcraps.accel.sigverify._cases import random_valid

    rng = random.Random(SEED)
    checks = [random_valid(rng, MESSAGE_BYTES).check for _ in range(count)]
    for i in range(0, count, 8):  # one in eight rejected, so verdicts can be compared
        key, message, signature = checks[i]
        checks[i] = (key, message, signature[:40] + bytes([signature[40] ^ 1]) + signature[41:])
    return checks


def _rate(verify: Callable[[Sequence[Check]], list[bool]], batch: Sequence[Check],
          seconds: float) -> tuple[float, list[bool]]:
    """Signatures per second over repeated calls for at least `seconds` (and twice)."""
    verdicts = verify(batch)  # warm: pools started, device code built for this size
    calls = 0
    started = time.perf_counter()
    while calls < 2 or time.perf_counter() - started < seconds:
        verify(batch)
        calls += 1
    return calls * len(batch) / (time.perf_counter() - started), verdicts


def _single_thread(checks: Sequence[Check], seconds: float) -> float:
    from bitcraps.accel._ed25519_cpu import verify_one

    def one_by_one(batch: Sequence[Check]) -> list[bool]:
        return [verify_one(*check) for check in batch]

    return _rate(one_by_one, checks[:256], seconds)[0]


def _opencl_device(hint: str | None) -> tuple[Any, str | None]:
    """A self-tested device, or None and the reason."""
    from bitcraps.accel.sigverify import opencl_devices
    from bitcraps.accel.sigverify._errors import OpenClFailure
    from bitcraps.accel.sigverify._opencl import OpenClEd25519
    from bitcraps.accel.sigverify._selftest import self_test

    devices, why_none = opencl_devices()
    if hint:
        devices = [d for d in devices
                   if hint.lower() in f"{d.platform.name} {d.name}".lower()]
        why_none = why_none or f"no OpenCL device matches {hint!r}"
    if not devices:
        return None, why_none
    try:
        device = OpenClEd25519(devices[0])
    except OpenClFailure as exc:
        return None, f"the kernel does not build or load: {exc}"
    report = self_test(device)
    if not report.passed:
        device.close()
        return None, report.reason
    return device, None


def bench_sigverify(sizes: Sequence[int], seconds: float, *, workers: int | None = None,
                    device_hint: str | None = None,
                    calibration_s: float = DEFAULT_CALIBRATION_S) -> dict[str, Any]:
    from bitcraps.accel._ed25519_cpu import CpuBatchVerifier
    from bitcraps.accel._ed25519_procs import ProcessBatchVerifier
    from bitcraps.accel.sigverify._calibrate import CalibrationPoint, crossover_batch

    checks = _checks(max(sizes))
    single = _single_thread(checks, seconds)
    # The worker processes first: forked before any OpenCL driver starts threads here.
    pools: list[tuple[str, Any]] = [("cpu_processes", ProcessBatchVerifier(workers)),
                                    ("cpu_threads", CpuBatchVerifier(workers))]
    device, opencl_reason = _opencl_device(device_hint)
    backends: dict[str, Any] = {}
    verdicts: dict[str, list[bool]] = {}
    if device is not None:
        pools.append(("opencl", device.verdict_codes))
    try:
        for name, verify in pools:
            rates: dict[str, float] = {}
            for size in sizes:
                rate, answer = _rate(verify, checks[:size], seconds)
                rates[str(size)] = round(rate, 1)
                verdicts.setdefault(f"{name}/{size}", [v == 0 if name == "opencl" else v
                                                       for v in answer])
            backends[name] = rates
    finally:
        for name, verify in pools:
            if name != "opencl":
                verify.close()
    expected = [not (i % 8 == 0) for i in range(max(sizes))]
    agree = all(answer == expected[:len(answer)] for answer in verdicts.values())
    crossover = None
    if device is not None:
        points = [CalibrationPoint(size, backends["cpu_threads"][str(size)],
                                   backends["opencl"][str(size)]) for size in sizes]
        crossover = crossover_batch(points)
    selection = _selection(device, workers, calibration_s)
    threads = backends["cpu_threads"]
    processes = backends["cpu_processes"]
    return {
        "cores": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "batch_sizes": list(sizes),
        "single_thread_per_s": round(single, 1),
        "backends": backends,
        "cpu_threads_speedup": round(max(threads.values()) / single, 2),
        "cpu_processes_speedup": round(max(processes.values()) / single, 2),
        "opencl_device": device.label if device is not None else None,
        "opencl_unavailable": opencl_reason,
        "measured_crossover_batch": crossover,
        "selection": selection,
        "verdicts_agree": agree,
    }


def _selection(device: Any, workers: int | None, calibration_s: float) -> str:
    """What the node's start-up selection decides here (it calibrates again, itself)."""
    from bitcraps.accel._ed25519_cpu import CpuBatchVerifier
    from bitcraps.accel.sigverify import select_verifier

    devices = [device.device] if device is not None else []
    if device is not None:
        device.close()
    verifier, reason = select_verifier("auto", cpu=CpuBatchVerifier(workers), devices=devices,
                                       calibration_budget_s=calibration_s)
    verifier.close()
    return reason


def _print_human(result: dict[str, Any]) -> None:
    print(f"sigverify bench: {result['cores']} cores, load {result['load_average_1m']}")
    print(f"  PyNaCl, one thread: {result['single_thread_per_s']:.0f} verifies/s")
    for name, rates in result["backends"].items():
        row = ", ".join(f"{size}: {rate:.0f}/s" for size, rate in rates.items())
        print(f"  {name}: {row}")
    print(f"  thread pool {result['cpu_threads_speedup']}x, process pool "
          f"{result['cpu_processes_speedup']}x the single thread")
    if result["opencl_device"]:
        crossover = result["measured_crossover_batch"]
        print(f"  OpenCL on {result['opencl_device']}: "
              + (f"beats the thread pool from batches of {crossover}" if crossover
                 else "slower than the thread pool at every size measured"))
    else:
        print(f"  no OpenCL: {result['opencl_unavailable']}")
    print(f"  selection at start: {result['selection']}")
    print(f"  verdicts agree across backends: {result['verdicts_agree']}")
