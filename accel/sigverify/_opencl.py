"""The verification kernel on one OpenCL device: program, base-point table, reusable buffers.

`OpenClEd25519` answers `Verdict` codes for checks whose lengths are already right (the
caller filters the rest). The table is uploaded once. Device and host buffers live in a
small ring of slots, allocated once and grown only when a batch outgrows them, so a
steady stream of batches allocates nothing. `launch` enqueues the copies and the kernel
and returns at once; `finish` waits and reads the verdicts. Any OpenCL error surfaces as
`OpenClFailure`, for the caller to fall back on. Programs are built once per device and
source for the whole process.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyopencl as cl

from ._cl_verify import kernel_source
from ._errors import OpenClFailure
from ._rule import Verdict
from ._table import base_table

__all__ = ["Launch", "OpenClEd25519", "device_label"]

SignatureCheck = tuple[bytes, bytes, bytes]

INITIAL_CAPACITY = 1024
INITIAL_MESSAGE_BYTES = 1 << 18
MAX_MESSAGE_BYTES = 1 << 30
GPU_WORK_GROUP = 64
CPU_WORK_GROUP = 8  # a fixed size: PoCL builds one work-group function per local size
SLOTS = 2

_contexts: dict[int, cl.Context] = {}
_programs: dict[tuple[int, str], cl.Program] = {}
_shared_lock = threading.Lock()


def device_label(device: cl.Device) -> str:
    return f"{device.platform.name.strip()}: {device.name.strip()}"


def _context_and_program(device: cl.Device, source: str) -> tuple[cl.Context, cl.Program]:
    """One context per device and one build per (device, source), for the whole process:
    a second verifier on the same device (a restart inside the process, a test) reuses
    the build instead of paying the compiler again."""
    with _shared_lock:
        context = _contexts.get(device.int_ptr)
        if context is None:
            context = cl.Context([device])
            _contexts[device.int_ptr] = context
        program = _programs.get((device.int_ptr, source))
        if program is None:
            program = cl.Program(context, source).build(devices=[device])
            _programs[(device.int_ptr, source)] = program
        return context, program


class _Slot:
    """One set of host and device buffers, grown in powers of two and then reused."""

    def __init__(self, context: cl.Context) -> None:
        self._context = context
        self.capacity = 0
        self.message_capacity = 0
        self.busy = False
        self._grow(INITIAL_CAPACITY, INITIAL_MESSAGE_BYTES)

    def _grow(self, capacity: int, message_bytes: int) -> None:
        flags = cl.mem_flags
        self.capacity = capacity
        self.message_capacity = message_bytes
        self.signatures = cl.Buffer(self._context, flags.READ_ONLY, 64 * capacity)
        self.keys = cl.Buffer(self._context, flags.READ_ONLY, 32 * capacity)
        self.offsets = cl.Buffer(self._context, flags.READ_ONLY, 4 * (capacity + 1))
        self.verdicts = cl.Buffer(self._context, flags.WRITE_ONLY, capacity)
        self.messages = cl.Buffer(self._context, flags.READ_ONLY, message_bytes)
        self.host_offsets = np.zeros(capacity + 1, dtype=np.uint32)
        self.host_verdicts = np.zeros(capacity, dtype=np.uint8)

    def ensure(self, count: int, message_bytes: int) -> None:
        if count <= self.capacity and message_bytes <= self.message_capacity:
            return
        if message_bytes > MAX_MESSAGE_BYTES:
            raise OpenClFailure(f"a batch of {message_bytes} message bytes exceeds the "
                                f"device limit of {MAX_MESSAGE_BYTES}")
        capacity = max(self.capacity, 1 << max(0, count - 1).bit_length())
        message_capacity = max(self.message_capacity, 1 << max(0, message_bytes - 1).bit_length())
        self._grow(capacity, message_capacity)


@dataclass
class Launch:
    """A batch on its way through the device: `OpenClEd25519.finish` reads its verdicts."""

    slot: _Slot | None
    count: int
    done_event: cl.Event | None
    keep_alive: tuple[bytes, ...]
    verdicts: np.ndarray | None = None
    error: str | None = None


class OpenClEd25519:
    """The Ed25519 kernel on one device. Thread-safe; launches run in submission order."""

    def __init__(self, device: cl.Device, *, source: str | None = None,
                 work_group: int | None = None) -> None:
        self.device = device
        self.label = device_label(device)
        self.source = source if source is not None else kernel_source()
        self._lock = threading.Lock()
        try:
            self.context, self.program = _context_and_program(device, self.source)
            self.queue = cl.CommandQueue(self.context, device)
            self.kernel = cl.Kernel(self.program, "ed25519_verify")
            self.table = cl.Buffer(self.context, cl.mem_flags.READ_ONLY
                                   | cl.mem_flags.COPY_HOST_PTR, hostbuf=base_table())
            self._slots = [_Slot(self.context) for _ in range(SLOTS)]
            most = self.kernel.get_work_group_info(cl.kernel_work_group_info.WORK_GROUP_SIZE,
                                                   device)
        except cl.Error as exc:
            raise OpenClFailure(f"{self.label}: {exc}") from exc
        is_gpu = bool(device.type & cl.device_type.GPU)
        wanted = work_group or (GPU_WORK_GROUP if is_gpu else CPU_WORK_GROUP)
        self.work_group = max(1, min(wanted, int(most)))
        self._pending: list[Launch] = []

    def launch(self, checks: Sequence[SignatureCheck]) -> Launch:
        """Enqueue one batch (keys 32 bytes, signatures 64 bytes: the caller checked)."""
        signatures = b"".join(signature for _, _, signature in checks)
        keys = b"".join(key for key, _, _ in checks)
        messages = b"".join(message for _, message, _ in checks)
        count = len(checks)
        if count == 0:
            return Launch(None, 0, None, (), np.zeros(0, dtype=np.uint8))
        with self._lock:
            slot = self._free_slot()
            try:
                return self._enqueue(slot, count, signatures, keys, messages, checks)
            except cl.Error as exc:
                slot.busy = False
                raise OpenClFailure(f"{self.label}: {exc}") from exc

    def _free_slot(self) -> _Slot:
        for slot in self._slots:
            if not slot.busy:
                return slot
        oldest = self._pending[0]
        self._read(oldest)  # every slot busy: the oldest batch's verdicts come off first
        assert oldest.slot is not None
        return oldest.slot

    def _enqueue(self, slot: _Slot, count: int, signatures: bytes, keys: bytes,
                 messages: bytes, checks: Sequence[SignatureCheck]) -> Launch:
        slot.ensure(count, len(messages))
        slot.busy = True
        lengths = np.fromiter((len(message) for _, message, _ in checks), dtype=np.uint32,
                              count=count)
        offsets = slot.host_offsets[:count + 1]
        offsets[0] = 0
        np.cumsum(lengths, out=offsets[1:])
        queue = self.queue
        cl.enqueue_copy(queue, slot.signatures, signatures, is_blocking=False)
        cl.enqueue_copy(queue, slot.keys, keys, is_blocking=False)
        cl.enqueue_copy(queue, slot.offsets, offsets, is_blocking=False)
        if messages:
            cl.enqueue_copy(queue, slot.messages, messages, is_blocking=False)
        self.kernel.set_args(slot.signatures, slot.keys, slot.messages, slot.offsets,
                             self.table, slot.verdicts, np.uint32(count))
        local = self.work_group
        cl.enqueue_nd_range_kernel(queue, self.kernel, (-(-count // local) * local,), (local,))
        done = cl.enqueue_copy(queue, slot.host_verdicts[:count], slot.verdicts,
                               is_blocking=False)
        launch = Launch(slot, count, done, (signatures, keys, messages))
        self._pending.append(launch)
        return launch

    def finish(self, launch: Launch) -> list[int]:
        """Wait for a launch and return its verdict codes, in the batch's order."""
        with self._lock:
            if launch.verdicts is None and launch.error is None:
                self._read(launch)
        if launch.error is not None:
            raise OpenClFailure(launch.error)
        assert launch.verdicts is not None
        return launch.verdicts.tolist()

    def done(self, launch: Launch) -> bool:
        if launch.verdicts is not None or launch.done_event is None:
            return True
        try:
            status = launch.done_event.command_execution_status
        except cl.Error:
            return True  # finish() reports the error
        return bool(status == cl.command_execution_status.COMPLETE)

    def _read(self, launch: Launch) -> None:
        slot = launch.slot
        assert slot is not None
        try:
            if launch.done_event is not None:
                launch.done_event.wait()
            verdicts = slot.host_verdicts[:launch.count].copy()
            if verdicts.size and int(verdicts.max()) > max(Verdict):
                launch.error = (f"{self.label}: the kernel wrote a verdict code out of range "
                                f"({int(verdicts.max())})")
            else:
                launch.verdicts = verdicts
        except cl.Error as exc:
            launch.error = f"{self.label}: {exc}"
        finally:
            slot.busy = False
            if launch in self._pending:
                self._pending.remove(launch)
            launch.keep_alive = ()
        if launch.error is not None:
            raise OpenClFailure(launch.error)

    def verdict_codes(self, checks: Sequence[SignatureCheck]) -> list[int]:
        return self.finish(self.launch(checks))

    def run_selftest_kernel(self, name: str, inputs: Sequence[bytes], count: int,
                            output_bytes: int, *, with_table: bool = False) -> bytes:
        """Run one of the program's `selftest_*` kernels over `count` items, blocking."""
        flags = cl.mem_flags
        try:
            with self._lock:
                buffers = [cl.Buffer(self.context, flags.READ_ONLY | flags.COPY_HOST_PTR,
                                     hostbuf=data) for data in inputs]
                out = cl.Buffer(self.context, flags.WRITE_ONLY, max(1, output_bytes))
                kernel = cl.Kernel(self.program, name)
                table = [self.table] if with_table else []
                args: list[Any] = [*buffers, *table, out, np.uint32(count)]
                kernel.set_args(*args)
                local = self.work_group
                cl.enqueue_nd_range_kernel(self.queue, kernel, (-(-count // local) * local,),
                                           (local,))
                result = np.empty(output_bytes, dtype=np.uint8)
                cl.enqueue_copy(self.queue, result, out, is_blocking=True)
        except cl.Error as exc:
            raise OpenClFailure(f"{self.label}: {name}: {exc}") from exc
        return result.tobytes()

    def close(self) -> None:
        with self._lock:
            try:
                self.queue.finish()
            except cl.Error:
                pass
            self._pending.clear()
