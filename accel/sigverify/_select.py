"""Choosing the signature backend at start: find devices, test them, measure them.

`select_verifier(preference)`:

- "cpu": the CPU verifier only.
- "opencl": the first OpenCL device (GPUs first) that passes its self-test takes every
  batch; `BackendUnavailable` when none does.
- "auto": every device that passes its self-test is calibrated; the one with the smallest
  crossover takes batches from that size up, the CPU keeps smaller ones. No device, or
  none that ever beats the CPU: the CPU takes everything.

The reason string says what was chosen and why, in one line, for the node's log.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._opencl_env import build_problem
from ._errors import BackendUnavailable, OpenClFailure
from ._routing import BatchVerifier, SignatureBatchVerifier

if TYPE_CHECKING:
    from ._opencl import OpenClEd25519

__all__ = ["BACKENDS", "BackendUnavailable", "opencl_devices", "select_verifier"]

BACKENDS = ("auto", "opencl", "cpu")
DEFAULT_CALIBRATION_BUDGET_S = 2.0


def opencl_devices() -> tuple[list[Any], str]:
    """Every OpenCL device that builds kernels, GPUs first; with none, an empty list and the
    reasons."""
    try:
        import pyopencl as cl
    except ImportError as exc:  # pyopencl is a dependency, but its native part may be absent
        return [], f"pyopencl cannot be loaded ({exc})"
    try:
        platforms = cl.get_platforms()
    except cl.Error as exc:
        return [], f"no OpenCL platform ({exc})"
    devices: list[Any] = []
    problems: list[str] = []
    for platform in platforms:
        try:
            found = platform.get_devices()
        except cl.Error as exc:
            problems.append(f"{platform.name.strip()}: {exc}")
            continue
        for device in found:
            problem = build_problem(device)
            if problem is None:
                devices.append(device)
            else:
                problems.append(problem)
    if not devices:
        detail = "; ".join(problems) if problems else f"{len(platforms)} platform(s), no device"
        return [], f"no OpenCL device ({detail})"
    rank = {cl.device_type.GPU: 0, cl.device_type.ACCELERATOR: 1}
    devices.sort(key=lambda device: min((r for t, r in rank.items() if device.type & t),
                                        default=2))
    return devices, ""


def _trusted_devices(devices: Sequence[Any]) -> tuple[list[OpenClEd25519], list[str]]:
    """Build and self-test each device: the ones that pass, and why the others did not."""
    from ._opencl import OpenClEd25519
    from ._selftest import self_test

    trusted: list[OpenClEd25519] = []
    refused: list[str] = []
    for device in devices:
        try:
            verifier = OpenClEd25519(device)
        except OpenClFailure as exc:
            refused.append(_one_line(f"refused: the kernel does not build or load: {exc}"))
            continue
        report = self_test(verifier)
        if report.passed:
            trusted.append(verifier)
        else:
            verifier.close()
            refused.append(_one_line(f"refused: {report.reason}"))
    return trusted, refused


def _one_line(text: str, limit: int = 400) -> str:
    """A compiler's log can run to pages: the reason goes in one log line."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[:limit - 3] + "..."


def _auto(cpu: BatchVerifier, trusted: list[OpenClEd25519], budget_s: float,
          refused: list[str]) -> tuple[SignatureBatchVerifier, str]:
    from ._calibrate import calibrate

    best: tuple[int, OpenClEd25519, str] | None = None
    notes = list(refused)
    for device in trusted:
        try:
            calibration = calibrate(device, cpu, budget_s=budget_s / len(trusted))
        except OpenClFailure as exc:
            notes.append(_one_line(f"refused: OpenCL error during calibration: {exc}"))
            continue
        notes.append(f"{device.label}: {calibration.describe()}")
        if calibration.crossover is not None and (best is None
                                                  or calibration.crossover < best[0]):
            best = (calibration.crossover, device, calibration.describe())
    for device in trusted:
        if best is None or device is not best[1]:
            device.close()
    if best is None:
        reason = f"cpu: {'; '.join(notes)}"
        return SignatureBatchVerifier(cpu, reason=reason), reason
    crossover, device, description = best
    reason = f"opencl: {device.label} passed its self-test; {description}"
    return SignatureBatchVerifier(cpu, device, crossover, reason=reason), reason


def select_verifier(preference: str = "auto", *, cpu: BatchVerifier | None = None,
                    calibration_budget_s: float = DEFAULT_CALIBRATION_BUDGET_S,
                    devices: Sequence[Any] | None = None) -> tuple[SignatureBatchVerifier, str]:
    """The node's batch verifier and a one-line reason for the log.

    `cpu` is the CPU verifier for small batches and fallbacks (default: a thread pool,
    `CpuBatchVerifier`); the returned verifier owns and closes it (after
    `BackendUnavailable` it is still the caller's). `devices` restricts the OpenCL
    devices considered (default: all of them, from `opencl_devices()`)."""
    if preference not in BACKENDS:
        raise ValueError(f"unknown signature backend {preference!r}: "
                         f"choose one of {', '.join(BACKENDS)}")
    if calibration_budget_s <= 0:
        raise ValueError("calibration_budget_s must be positive")
    own_cpu = cpu is None
    if cpu is None:
        from .._ed25519_cpu import CpuBatchVerifier

        cpu = CpuBatchVerifier()
    if preference == "cpu":
        reason = "cpu: forced by configuration"
        return SignatureBatchVerifier(cpu, reason=reason), reason
    if devices is None:
        devices, why_none = opencl_devices()
    else:
        why_none = "no OpenCL device was offered"
    trusted, refused = _trusted_devices(devices) if devices else ([], [why_none])
    if preference == "opencl":
        for device in trusted[1:]:
            device.close()
        if not trusted:
            if own_cpu:
                cpu.close()
            raise BackendUnavailable("signature backend opencl: " + "; ".join(refused))
        reason = f"opencl: forced by configuration; {trusted[0].label} passed its self-test"
        return SignatureBatchVerifier(cpu, trusted[0], 1, reason=reason), reason
    if not trusted:
        reason = f"cpu: {'; '.join(refused)}"
        return SignatureBatchVerifier(cpu, reason=reason), reason
    return _auto(cpu, trusted, calibration_budget_s, refused)
