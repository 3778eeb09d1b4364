"""The OpenCL physics backend: one work-item per throw, with the CPU twin as its safety net.

A device must pass ``self_test()`` (the fixed-point primitives on edge operands and one
replayed throw, compared bit for bit with the pure-Python reference) before it is used; the
selection code refuses one that fails. Afterwards any OpenCL error, or a result that cannot
be a valid answer, sends that batch to the CPU twin instead and is counted: a backend may be
slower, never different.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from bitcraps.accel._opencl_env import OpenCLEnvironment, preferred_local_size
from bitcraps.accel.physics._backends import NumpyPhysics, PhysicsBackend, PhysicsBackendError
from bitcraps.accel.physics._batch import PhysicsBatch, validate_states
from bitcraps.accel.physics._constants import (
    FRAME_WORDS,
    MAX_FRAMES,
    MAX_STEPS,
    STATE_WORDS,
)
from bitcraps.accel.physics._kernel_source import (
    KERNEL_NAME,
    PRIMITIVE_RESULTS,
    PRIMITIVES_KERNEL_NAME,
    kernel_source,
)
from bitcraps.accel.physics._seed import initial_state
from bitcraps.accel.physics._selftest import (
    SELFTEST_SEED,
    PhysicsSelfTestError,
    outcome_mismatch,
    primitive_mismatch,
    primitive_operands,
    reference_outcome,
)

__all__ = ["DeviceResultError", "OpenCLPhysics", "SelfTestReport"]


class DeviceResultError(RuntimeError):
    """The device returned something no correct run can return."""


@dataclass(frozen=True)
class SelfTestReport:
    device_throw_s: float  # one throw on the device, warm
    reference_throw_s: float  # the same throw on the pure-Python reference


class OpenCLPhysics:
    """Throws on an OpenCL device; batches under ``min_device_batch`` stay on the CPU."""

    name = "opencl"

    def __init__(self, environment: OpenCLEnvironment, *, source: str | None = None,
                 cpu: PhysicsBackend | None = None, min_device_batch: int = 1) -> None:
        import pyopencl as cl

        self._cl = cl
        self._environment = environment
        self.description = environment.description
        try:
            program = cl.Program(environment.context,
                                 kernel_source() if source is None else source).build()
            self._kernel = cl.Kernel(program, KERNEL_NAME)
            self._primitives = cl.Kernel(program, PRIMITIVES_KERNEL_NAME)
            self._local_size = preferred_local_size(self._kernel, environment)
        except cl.Error as exc:
            text = str(exc).strip()
            first_line = text.splitlines()[0] if text else type(exc).__name__
            raise PhysicsBackendError(
                f"the physics kernel does not build on {self.description}: {first_line}"
            ) from exc
        self._cpu = NumpyPhysics() if cpu is None else cpu
        self.min_device_batch = max(1, min_device_batch)
        self.last_error: str | None = None
        self._device_lock = threading.Lock()
        self._counter_lock = threading.Lock()
        self._counts = dict.fromkeys(("batches", "throws", "device_batches", "device_throws",
                                      "cpu_batches", "fallback_batches", "fallback_throws"), 0)

    def simulate(self, initial_states: np.ndarray) -> PhysicsBatch:
        states = validate_states(initial_states)
        n = len(states)
        self._count(batches=1, throws=n)
        if n < self.min_device_batch:
            self._count(cpu_batches=1)
            return self._cpu.simulate(states)
        try:
            batch = self._run(states)
        except (self._cl.Error, DeviceResultError) as exc:
            with self._counter_lock:
                self._counts["fallback_batches"] += 1
                self._counts["fallback_throws"] += n
                self.last_error = f"{type(exc).__name__}: {exc}".splitlines()[0]
            return self._cpu.simulate(states)
        self._count(device_batches=1, device_throws=n)
        return batch

    def statistics(self) -> dict[str, int]:
        with self._counter_lock:
            return {**self._counts, "min_device_batch": self.min_device_batch}

    def self_test(self) -> SelfTestReport:
        """Check the device against the reference; PhysicsSelfTestError says what differs."""
        try:
            self._check_primitives()
            states = np.array([initial_state(SELFTEST_SEED)], dtype=np.int64)
            self._run(states)  # the first launch may compile for this work-group size
            started = time.perf_counter()
            replay = self._run(states).outcome(0)
            device_s = time.perf_counter() - started
        except (self._cl.Error, DeviceResultError) as exc:
            raise PhysicsSelfTestError(f"self-test could not run on {self.description}: "
                                       f"{exc}".splitlines()[0]) from exc
        started = time.perf_counter()
        expected = reference_outcome()
        reference_s = time.perf_counter() - started
        mismatch = outcome_mismatch(replay, expected)
        if mismatch is not None:
            raise PhysicsSelfTestError(f"{self.description} failed the self-test: {mismatch}")
        return SelfTestReport(device_s, reference_s)

    def _check_primitives(self) -> None:
        cl = self._cl
        a, b = primitive_operands()
        out = np.zeros((len(a), PRIMITIVE_RESULTS), dtype=np.int64)
        context, queue = self._environment.context, self._environment.queue
        flags = cl.mem_flags.READ_ONLY | cl.mem_flags.COPY_HOST_PTR
        a_buffer = cl.Buffer(context, flags, hostbuf=a)
        b_buffer = cl.Buffer(context, flags, hostbuf=b)
        out_buffer = cl.Buffer(context, cl.mem_flags.WRITE_ONLY, out.nbytes)
        with self._device_lock:
            self._primitives(queue, (len(a),), None, a_buffer, b_buffer, out_buffer,
                             np.int32(len(a)))
            cl.enqueue_copy(queue, out, out_buffer)
            queue.finish()
        mismatch = primitive_mismatch(a, b, out)
        if mismatch is not None:
            raise PhysicsSelfTestError(f"{self.description} failed the self-test: {mismatch}")

    def _run(self, states: np.ndarray) -> PhysicsBatch:
        cl = self._cl
        n = len(states)
        outputs = _allocate(n)
        context, queue = self._environment.context, self._environment.queue
        local = self._local_size
        global_size = -(-n // local) * local
        with self._device_lock:
            initial = cl.Buffer(context, cl.mem_flags.READ_ONLY | cl.mem_flags.COPY_HOST_PTR,
                                hostbuf=states)
            buffers = [cl.Buffer(context, cl.mem_flags.WRITE_ONLY, array.nbytes)
                       for array in outputs]
            self._kernel(queue, (global_size,), (local,), initial, *buffers, np.int32(n))
            for array, buffer in zip(outputs, buffers, strict=True):
                cl.enqueue_copy(queue, array, buffer)
            queue.finish()
        return _batch_from(*outputs)

    def _count(self, **increments: int) -> None:
        with self._counter_lock:
            for key, value in increments.items():
                self._counts[key] += value


def _allocate(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return (np.zeros((n, STATE_WORDS), dtype=np.int64), np.zeros((n, 4), dtype=np.int64),
            np.zeros(n, dtype=np.uint64), np.zeros((n, MAX_FRAMES, FRAME_WORDS), dtype=np.int64))


def _batch_from(final_states: np.ndarray, info: np.ndarray, digests: np.ndarray,
                frames: np.ndarray) -> PhysicsBatch:
    steps, settled, faces = info[:, 0], info[:, 1], info[:, 2:4]
    if len(info) and (steps.min() < 1 or steps.max() > MAX_STEPS or faces.min() < 1
                      or faces.max() > 6 or not np.isin(settled, (0, 1)).all()):
        raise DeviceResultError("the device returned an impossible step count, flag or face")
    return PhysicsBatch(final_states, faces.copy(), steps.copy(), settled.astype(bool),
                        digests, frames)
