"""Backend selection, routing by batch size, fallback on device errors, self-test refusal.

Devices here are PoCL's real OpenCL CPU device. Device errors are real OpenCL errors: a
kernel from another context (the enqueue fails with INVALID_CONTEXT) or a completion
event in an error state (the wait fails). Broken kernels are real programs, built and run.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import pyopencl as cl
import pytest

from bitcraps.accel._ed25519_cpu import CpuBatchVerifier, verify_one
from bitcraps.accel.sigverify import (
    BackendUnavailable,
    SignatureBatchVerifier,
    opencl_devices,
    select_verifier,
)
from bitcraps.accel.sigverify import _opencl as opencl_module
from bitcraps.accel.sigverify._calibrate import CalibrationPoint, calibrate, crossover_batch
from bitcraps.accel.sigverify._cases import edge_cases, random_valid
from bitcraps.accel.sigverify._cl_verify import kernel_source
from bitcraps.accel.sigverify._opencl import OpenClEd25519
from bitcraps.accel.sigverify._routing import MAX_CONSECUTIVE_DEVICE_ERRORS
from bitcraps.accel.sigverify._selftest import self_test

Check = tuple[bytes, bytes, bytes]


class RecordingCpuVerifier(CpuBatchVerifier):
    """The real CPU verifier, noting each batch it was handed."""

    def __init__(self) -> None:
        super().__init__(2)
        self.batches: list[list[Check]] = []

    def submit(self, checks: Sequence[Check]) -> Any:
        self.batches.append(list(checks))
        return super().submit(checks)


@pytest.fixture(scope="module")
def pocl_device() -> Any:
    devices = [device for device in opencl_devices()[0]
               if "Portable Computing Language" in device.platform.name]
    assert devices, "PoCL is missing: install the `pocl` extra (pip install -e '.[pocl]')"
    return devices[0]


@pytest.fixture()
def device(pocl_device: Any) -> Iterator[OpenClEd25519]:
    verifier = OpenClEd25519(pocl_device)  # the build is shared: this costs a queue
    yield verifier
    verifier.close()


def _mixed_checks(seed: int, count: int) -> list[Check]:
    rng = random.Random(seed)
    cases = edge_cases(rng)
    cases += [random_valid(rng, rng.randrange(300)) for _ in range(max(0, count - len(cases)))]
    rng.shuffle(cases)
    return [case.check for case in cases[:count]]


def _foreign_kernel(pocl_device: Any) -> cl.Kernel:
    """A kernel with the verifier's signature, built in another context: enqueueing it on
    the verifier's queue is a real OpenCL error (INVALID_CONTEXT)."""
    source = ("__kernel void ed25519_verify(__global const uchar *s, __global const uchar *k,"
              " __global const uchar *m, __global const uint *o, __global const uint *t,"
              " __global uchar *v, uint n) {}")
    program = cl.Program(cl.Context([pocl_device]), source).build()
    return cl.Kernel(program, "ed25519_verify")


def test_forced_cpu_never_touches_a_device() -> None:
    verifier, reason = select_verifier("cpu")
    try:
        assert reason == "cpu: forced by configuration"
        checks = _mixed_checks(1, 80)
        assert verifier(checks) == [verify_one(*c) for c in checks]
        assert verifier.submit(checks[:5]).result() == [verify_one(*c) for c in checks[:5]]
        stats = verifier.statistics()
        assert (stats.backend, stats.device, stats.crossover_batch) == ("cpu", None, None)
        assert (stats.cpu_batches, stats.cpu_signatures, stats.device_batches) == (2, 85, 0)
    finally:
        verifier.close()


def test_bad_configuration_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown signature backend 'gpu'"):
        select_verifier("gpu")
    with pytest.raises(ValueError, match="calibration_budget_s"):
        select_verifier("auto", calibration_budget_s=0)


def test_without_any_device_auto_runs_on_the_cpu_and_opencl_is_refused() -> None:
    verifier, reason = select_verifier("auto", devices=[])
    try:
        assert reason.startswith("cpu: ") and "no OpenCL device" in reason
        assert verifier.statistics().backend == "cpu"
    finally:
        verifier.close()
    with pytest.raises(BackendUnavailable, match="signature backend opencl: no OpenCL device"):
        select_verifier("opencl", devices=[])


def test_with_no_opencl_platform_installed_the_node_gets_the_cpu_and_a_reason() -> None:
    code = ("from bitcraps.accel.sigverify import select_verifier\n"
            "verifier, reason = select_verifier()\n"
            "assert verifier.statistics().backend == 'cpu'\n"
            "print(reason)\n"
            "verifier.close()\n")
    env = dict(os.environ, OCL_ICD_VENDORS=os.devnull + ".absent")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("cpu: no OpenCL platform")


def test_forced_opencl_sends_every_batch_to_the_device(pocl_device: Any) -> None:
    verifier, reason = select_verifier("opencl", devices=[pocl_device],
                                       cpu=CpuBatchVerifier(1))
    try:
        assert reason.startswith("opencl: forced by configuration; Portable Computing Language")
        for size in (1, 7, 40):
            checks = _mixed_checks(size, size)
            assert verifier(checks) == [verify_one(*c) for c in checks]
        stats = verifier.statistics()
        assert (stats.backend, stats.crossover_batch) == ("opencl", 1)
        assert (stats.device_batches, stats.device_signatures, stats.cpu_batches) == (3, 48, 0)
    finally:
        verifier.close()


def test_auto_measures_the_crossover_and_routes_by_it(pocl_device: Any) -> None:
    verifier, reason = select_verifier("auto", devices=[pocl_device],
                                       calibration_budget_s=0.4)
    try:
        stats = verifier.statistics()
        if stats.backend == "opencl":  # the measurement decides; both outcomes are coherent
            assert stats.crossover_batch is not None
            assert f"beats the CPU from batches of {stats.crossover_batch}" in reason
        else:
            assert reason.startswith("cpu: ") and "slower than the CPU" in reason
        checks = _mixed_checks(9, 100)
        assert verifier(checks) == [verify_one(*c) for c in checks]
    finally:
        verifier.close()


def test_calibration_points_and_the_crossover_rule(device: OpenClEd25519) -> None:
    cpu = CpuBatchVerifier(2)
    try:
        calibration = calibrate(device, cpu, budget_s=0.3)
    finally:
        cpu.close()
    sizes = [point.batch for point in calibration.points]
    assert sizes[0] == 16 and sizes == sorted(sizes) and len(set(sizes)) == len(sizes)
    assert all(p.cpu_per_s > 0 and p.device_per_s > 0 for p in calibration.points)
    assert calibration.crossover == crossover_batch(calibration.points)


def test_crossover_is_where_the_device_wins_from_then_on() -> None:
    def points(*wins: bool) -> list[CalibrationPoint]:
        return [CalibrationPoint(16 << i, 100.0, 200.0 if win else 50.0)
                for i, win in enumerate(wins)]

    assert crossover_batch([]) is None
    assert crossover_batch(points(True, True, True)) == 16
    assert crossover_batch(points(False, False, True, True)) == 64
    assert crossover_batch(points(False, True, False, True)) == 128
    assert crossover_batch(points(True, True, False)) is None
    assert crossover_batch([CalibrationPoint(16, 100.0, 100.0)]) is None  # a tie stays on CPU


def test_small_batches_stay_on_the_cpu_large_ones_go_to_the_device(
        device: OpenClEd25519) -> None:
    cpu = RecordingCpuVerifier()
    verifier = SignatureBatchVerifier(cpu, device, 32)
    small, large = _mixed_checks(2, 31), _mixed_checks(3, 32)
    assert verifier(small) == [verify_one(*c) for c in small]
    assert verifier(large) == [verify_one(*c) for c in large]
    assert cpu.batches == [small]
    stats = verifier.statistics()
    assert (stats.cpu_batches, stats.device_batches, stats.device_errors) == (1, 1, 0)
    cpu.close()


def test_an_opencl_error_at_launch_falls_back_to_the_cpu_and_is_counted(
        device: OpenClEd25519, pocl_device: Any) -> None:
    cpu = RecordingCpuVerifier()
    verifier = SignatureBatchVerifier(cpu, device, 1)
    real_kernel = device.kernel
    device.kernel = _foreign_kernel(pocl_device)
    checks = _mixed_checks(4, 60)
    assert verifier(checks) == [verify_one(*c) for c in checks]
    assert cpu.batches == [checks]  # the answers came from the CPU verifier
    stats = verifier.statistics()
    assert (stats.device_errors, stats.cpu_batches, stats.backend) == (1, 1, "opencl")
    assert stats.last_device_error is not None and "INVALID_CONTEXT" in stats.last_device_error
    device.kernel = real_kernel
    assert verifier(checks) == [verify_one(*c) for c in checks]
    assert len(cpu.batches) == 1 and verifier.statistics().device_errors == 1
    cpu.close()


def test_an_opencl_error_while_reading_verdicts_falls_back_to_the_cpu(
        device: OpenClEd25519) -> None:
    cpu = RecordingCpuVerifier()
    verifier = SignatureBatchVerifier(cpu, device, 1)
    checks = _mixed_checks(5, 50)
    pending = verifier.submit(checks)
    failed = cl.UserEvent(device.context)
    failed.set_status(-5)  # CL_OUT_OF_RESOURCES as an execution status: the wait fails
    pending._launch.done_event = failed  # type: ignore[attr-defined]
    assert pending.result() == [verify_one(*c) for c in checks]
    assert pending.done() and cpu.batches == [checks]
    stats = verifier.statistics()
    assert (stats.device_batches, stats.device_errors, stats.cpu_batches) == (1, 1, 1)
    assert stats.last_device_error is not None and "clWaitForEvents" in stats.last_device_error
    cpu.close()


def test_a_device_that_keeps_failing_is_dropped(device: OpenClEd25519,
                                                 pocl_device: Any) -> None:
    cpu = RecordingCpuVerifier()
    verifier = SignatureBatchVerifier(cpu, device, 1)
    device.kernel = _foreign_kernel(pocl_device)
    checks = _mixed_checks(6, 20)
    for _ in range(MAX_CONSECUTIVE_DEVICE_ERRORS + 2):
        assert verifier(checks) == [verify_one(*c) for c in checks]
    stats = verifier.statistics()
    assert stats.device_errors == MAX_CONSECUTIVE_DEVICE_ERRORS
    assert (stats.backend, stats.device, stats.cpu_batches) == ("cpu", None, 5)
    assert stats.device_disabled is not None and "in a row" in stats.device_disabled
    verifier.close()


def test_the_real_kernel_passes_its_self_test(device: OpenClEd25519) -> None:
    report = self_test(device)
    assert report.passed, report.reason


BROKEN_KERNELS = {
    # the reduction constant 2^255 = 19 (mod p) mistyped: arithmetic is wrong
    "field": ("g19[j] = 19u * g->v[j];", "g19[j] = 18u * g->v[j];", "field arithmetic"),
    # libsodium's small-order check on R left out: only the verdicts show it
    "rule": ("if (has_small_order(sig)) return R_SMALL_ORDER;", "",
             "verdict differs from libsodium on a case 'R of small order, equation holds'"),
}


@pytest.mark.parametrize("name", sorted(BROKEN_KERNELS))
def test_a_broken_kernel_is_refused_with_the_reason(pocl_device: Any, name: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    original, replacement, reason = BROKEN_KERNELS[name]
    source = kernel_source()
    assert source.count(original) == 1
    broken = source.replace(original, replacement)
    monkeypatch.setattr(opencl_module, "kernel_source", lambda: broken)
    with pytest.raises(BackendUnavailable, match="self-test failed") as refused:
        select_verifier("opencl", devices=[pocl_device])
    assert reason in str(refused.value) and "\n" not in str(refused.value)
    verifier, why = select_verifier("auto", devices=[pocl_device], cpu=CpuBatchVerifier(1))
    try:
        assert why.startswith("cpu: refused: ") and reason in why
        assert verifier.statistics().backend == "cpu"
    finally:
        verifier.close()


def test_a_kernel_that_does_not_build_is_refused(pocl_device: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(opencl_module, "kernel_source",
                        lambda: kernel_source() + "\nthis is not OpenCL C;\n")
    verifier, why = select_verifier("auto", devices=[pocl_device], cpu=CpuBatchVerifier(1))
    try:
        assert why.startswith("cpu: refused: the kernel does not build or load")
        assert "\n" not in why
    finally:
        verifier.close()


def test_an_opencl_error_during_calibration_refuses_the_device(
        device: OpenClEd25519, pocl_device: Any) -> None:
    from bitcraps.accel.sigverify._select import _auto

    device.kernel = _foreign_kernel(pocl_device)
    verifier, reason = _auto(CpuBatchVerifier(1), [device], 0.2, [])
    try:
        assert reason.startswith("cpu: refused: OpenCL error during calibration")
        assert "INVALID_CONTEXT" in reason and verifier.statistics().backend == "cpu"
    finally:
        verifier.close()
