"""Choose the physics backend at start, and say why in one line for the node's log."""

from __future__ import annotations

import math

from bitcraps.accel._opencl_env import OpenCLUnavailable, open_opencl
from bitcraps.accel.physics._backends import (
    NumpyPhysics,
    PhysicsBackend,
    PhysicsBackendError,
    PythonPhysics,
)
from bitcraps.accel.physics._opencl_sim import OpenCLPhysics
from bitcraps.accel.physics._selftest import PhysicsSelfTestError

__all__ = ["PREFERENCES", "open_opencl_physics", "select_physics_backend"]

PREFERENCES = ("auto", "opencl", "numpy", "python")


def select_physics_backend(preference: str = "auto", *, device_hint: str | None = None,
                           source: str | None = None) -> tuple[PhysicsBackend, str]:
    """The backend to use and the reason, e.g. for the log line the node writes once.

    ``auto`` takes an OpenCL device that passes its self-test, else the CPU twin; ``opencl``
    raises PhysicsBackendError instead of falling back; ``numpy`` and ``python`` force those.
    ``source`` replaces the kernel's source (tests use it to corrupt the device's answers).
    """
    if preference not in PREFERENCES:
        raise ValueError(f"physics backend must be one of {', '.join(PREFERENCES)}, "
                         f"not {preference!r}")
    if preference == "python":
        return PythonPhysics(), "dice physics on the pure-Python reference (configured)"
    if preference == "numpy":
        cpu = NumpyPhysics()
        return cpu, f"dice physics on the CPU: {cpu.description} (configured)"
    try:
        backend = open_opencl_physics(device_hint=device_hint, source=source)
    except (OpenCLUnavailable, PhysicsBackendError) as exc:
        if preference == "opencl":
            raise PhysicsBackendError(f"OpenCL dice physics was configured but: {exc}") from exc
        cpu = NumpyPhysics()
        return cpu, f"dice physics on the CPU ({cpu.description}): {exc}"
    return backend, (f"dice physics on OpenCL, {backend.description}: self-test passed; "
                     f"batches of {backend.min_device_batch} or more throws run on the device")


def open_opencl_physics(*, device_hint: str | None = None,
                        source: str | None = None) -> OpenCLPhysics:
    """An OpenCL backend that passed its self-test, its device threshold measured.

    The threshold is the smallest batch the device finishes sooner than the reference
    would: one warm device run of the self-test throw against the reference's time for it
    (the device runs a small batch in about the time of one throw).
    """
    environment = open_opencl(device_hint)
    backend = OpenCLPhysics(environment, source=source)
    try:
        report = backend.self_test()
    except PhysicsSelfTestError as exc:
        raise PhysicsBackendError(f"device refused: {exc}") from exc
    backend.min_device_batch = max(
        1, math.ceil(report.device_throw_s / max(report.reference_throw_s, 1e-9)))
    return backend
