"""Choosing the physics backend: the device self-test refuses a wrong device, any OpenCL error
mid-run sends that batch to the CPU twin (whose answer is the one returned) and is counted,
and configuration can force a backend.

Failures are real: a kernel whose source was changed computes different numbers on the
device, and a command queue from another OpenCL context makes every launch fail in the
driver (CL_INVALID_CONTEXT). Nothing stands in for the device's answer.
"""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pytest

from bitcraps.accel._opencl_env import OpenCLEnvironment, OpenCLUnavailable, open_opencl
from bitcraps.accel.physics import (
    NumpyPhysics,
    OpenCLPhysics,
    PhysicsBackendError,
    PhysicsSelfTestError,
    PythonPhysics,
    initial_state,
    select_physics_backend,
)
from bitcraps.accel.physics._kernel_source import kernel_source


def _states(count: int) -> np.ndarray:
    seeds = [hashlib.sha256(b"bitcraps/test-physics-backends" + bytes([i])).digest()
             for i in range(count)]
    return np.array([initial_state(seed) for seed in seeds], dtype=np.int64)


def _corrupted(old: str, new: str) -> str:
    source = kernel_source()
    assert source.count(old) == 1, old
    return source.replace(old, new)


# One step of gravity a hair stronger: every throw differs, nothing crashes.
WRONG_GRAVITY = _corrupted("#define GRAVITY (9810L)", "#define GRAVITY (9811L)")
# Multiplication truncating instead of rounding: a primitive the self-test checks first.
WRONG_ROUNDING = _corrupted("long r = (long)((m + (ulong)ROUND_HALF) >> FRAC_BITS);",
                            "long r = (long)(m >> FRAC_BITS);")
# A device that reports face 0: a result no correct run can give.
IMPOSSIBLE_FACE = _corrupted("info[gid * 4 + 2] = landed_face(s);", "info[gid * 4 + 2] = 0;")


@pytest.fixture(scope="module")
def environment() -> OpenCLEnvironment:
    return open_opencl()


def test_auto_selects_a_device_that_passes_its_self_test() -> None:
    backend, reason = select_physics_backend("auto")
    assert isinstance(backend, OpenCLPhysics)
    assert "self-test passed" in reason and backend.description in reason
    assert backend.min_device_batch >= 1
    before = backend.statistics()
    backend.simulate(_states(2))
    after = backend.statistics()
    assert after["batches"] == before["batches"] + 1


def test_configuration_forces_a_cpu_backend() -> None:
    backend, reason = select_physics_backend("numpy")
    assert isinstance(backend, NumpyPhysics) and "configured" in reason
    backend, reason = select_physics_backend("python")
    assert isinstance(backend, PythonPhysics) and "configured" in reason
    with pytest.raises(ValueError, match="must be one of"):
        select_physics_backend("gpu")


@pytest.mark.parametrize(("source", "complaint"), [
    (WRONG_GRAVITY, "replayed throw differs in final_state"),
    (WRONG_ROUNDING, "mul(a, b) with a="),
    (IMPOSSIBLE_FACE, "impossible step count, flag or face"),
])
def test_a_device_that_fails_its_self_test_is_refused(source: str, complaint: str) -> None:
    backend, reason = select_physics_backend("auto", source=source)
    assert isinstance(backend, NumpyPhysics), reason
    assert "device refused" in reason and complaint in reason
    with pytest.raises(PhysicsBackendError, match="configured but: device refused"):
        select_physics_backend("opencl", source=source)


def test_the_self_test_error_names_the_difference(environment: OpenCLEnvironment) -> None:
    with pytest.raises(PhysicsSelfTestError, match="failed the self-test: replayed throw"):
        OpenCLPhysics(environment, source=WRONG_GRAVITY).self_test()


def test_a_kernel_that_does_not_build_is_refused(environment: OpenCLEnvironment) -> None:
    broken = _corrupted("inline long fx_abs(long a)", "inline long fx_abs(long a) syntax error")
    with pytest.raises(PhysicsBackendError, match="does not build"):
        OpenCLPhysics(environment, source=broken)
    backend, reason = select_physics_backend("auto", source=broken)
    assert isinstance(backend, NumpyPhysics) and "does not build" in reason


def test_an_opencl_error_mid_run_falls_back_to_the_cpu_and_is_counted(
        environment: OpenCLEnvironment) -> None:
    other = open_opencl()  # a second context on the same device
    failing = dataclasses.replace(environment, queue=other.queue)
    backend = OpenCLPhysics(failing)
    states = _states(5)
    batch = backend.simulate(states)
    assert batch.equals(PythonPhysics().simulate(states))
    stats = backend.statistics()
    assert stats["fallback_batches"] == 1 and stats["fallback_throws"] == 5
    assert stats["device_batches"] == 0
    assert backend.last_error is not None and "INVALID_CONTEXT" in backend.last_error
    backend.simulate(states[:2])
    assert backend.statistics()["fallback_batches"] == 2


def test_an_impossible_device_result_falls_back_and_is_counted(
        environment: OpenCLEnvironment) -> None:
    backend = OpenCLPhysics(environment, source=IMPOSSIBLE_FACE)
    states = _states(3)
    assert backend.simulate(states).equals(NumpyPhysics().simulate(states))
    assert backend.statistics()["fallback_batches"] == 1
    assert backend.last_error is not None and "DeviceResultError" in backend.last_error


def test_batches_below_the_device_threshold_stay_on_the_cpu(
        environment: OpenCLEnvironment) -> None:
    backend = OpenCLPhysics(environment, min_device_batch=4)
    states = _states(4)
    small = backend.simulate(states[:3])
    large = backend.simulate(states)
    stats = backend.statistics()
    assert stats["cpu_batches"] == 1 and stats["device_batches"] == 1
    assert stats["batches"] == 2 and stats["throws"] == 7
    assert small.equals(large.head(3))
    empty = backend.simulate(states[:0])
    assert len(empty) == 0


def test_cpu_backends_count_their_work() -> None:
    states = _states(3)
    cpu = NumpyPhysics(small_batch_throws=2)
    cpu.simulate(states[:1])
    cpu.simulate(states)
    assert cpu.statistics() == {"batches": 2, "throws": 4, "numpy_batches": 1,
                                "python_batches": 1}
    with pytest.raises(ValueError):
        NumpyPhysics(small_batch_throws=-1)


def test_no_matching_device_is_reported_in_one_line() -> None:
    with pytest.raises(OpenCLUnavailable, match="no OpenCL device matches"):
        open_opencl("no-such-device-anywhere")
    backend, reason = select_physics_backend("auto", device_hint="no-such-device-anywhere")
    assert isinstance(backend, NumpyPhysics)
    assert reason.startswith("dice physics on the CPU") and "\n" not in reason
    with pytest.raises(PhysicsBackendError, match="no OpenCL device matches"):
        select_physics_backend("opencl", device_hint="no-such-device-anywhere")
