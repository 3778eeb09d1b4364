"""The node's batch verifier: small batches on the CPU, large ones on the device.

`SignatureBatchVerifier` has the CPU verifiers' interface (`threads`, `__call__`,
`submit` returning something with `done()` and `result()`, `close`), so the node swaps it
in as is. A batch of at least `crossover` signatures goes to the OpenCL device; any
OpenCL error there (at launch or when the verdicts are read) sends that batch to the CPU
verifier instead and is counted. After `MAX_CONSECUTIVE_DEVICE_ERRORS` errors in a row the
device is dropped for good, with the reason in `statistics()`. Signatures or keys of the
wrong length are rejected on the host and never reach the device.

Safe to call from several threads at once (the node's tables share one verifier): its
counters are under a lock, the OpenCL device serialises its launches, and the CPU verifiers
it wraps are thread-safe (`tests/accel/test_sigverify_threads.py`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ._errors import OpenClFailure

if TYPE_CHECKING:
    from ._opencl import Launch, OpenClEd25519

__all__ = ["BatchVerifier", "Verdicts", "SignatureBatchVerifier", "SigverifyStatistics"]

SignatureCheck = tuple[bytes, bytes, bytes]

MAX_CONSECUTIVE_DEVICE_ERRORS = 3


class Verdicts(Protocol):
    def done(self) -> bool: ...

    def result(self) -> list[bool]: ...


class BatchVerifier(Protocol):
    """What the node calls: `CpuBatchVerifier`, `ProcessBatchVerifier` and this module's."""

    threads: int

    def __call__(self, checks: Sequence[SignatureCheck]) -> list[bool]: ...

    def submit(self, checks: Sequence[SignatureCheck]) -> Verdicts: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class SigverifyStatistics:
    backend: str                   # "opencl" when large batches go to a device, else "cpu"
    device: str | None
    crossover_batch: int | None    # batches of at least this many go to the device
    cpu_batches: int
    cpu_signatures: int
    device_batches: int
    device_signatures: int
    device_errors: int             # device batches answered by the CPU after an OpenCL error
    last_device_error: str | None
    device_disabled: str | None    # why the device is no longer used, once it is not


class _DeviceVerdicts:
    """A batch on the device; reading it falls back to the CPU on an OpenCL error."""

    def __init__(self, owner: SignatureBatchVerifier, device: OpenClEd25519, launch: Launch,
                 checks: Sequence[SignatureCheck], sent: list[int]) -> None:
        self._owner = owner
        self._device = device
        self._launch = launch
        self._checks = checks
        self._sent = sent
        self._verdicts: list[bool] | None = None

    def done(self) -> bool:
        return self._verdicts is not None or self._device.done(self._launch)

    def result(self) -> list[bool]:
        if self._verdicts is None:
            self._verdicts = self._owner._finish(self._device, self._launch, self._checks,
                                                 self._sent)
        return self._verdicts


class SignatureBatchVerifier:
    """CPU below the crossover, the OpenCL device from it, the CPU again on any device error.

    It owns both verifiers it is given and closes them in `close()`."""

    def __init__(self, cpu: BatchVerifier, device: OpenClEd25519 | None = None,
                 crossover: int | None = None, *, reason: str = "") -> None:
        if device is not None and (crossover is None or crossover < 1):
            raise ValueError("a device needs a crossover batch size of at least 1")
        self.cpu = cpu
        self.device = device
        self.crossover = crossover if device is not None else None
        self.reason = reason
        self.threads = cpu.threads
        self._lock = threading.Lock()
        self._counts = {"cpu_batches": 0, "cpu_signatures": 0, "device_batches": 0,
                        "device_signatures": 0, "device_errors": 0}
        self._consecutive_errors = 0
        self._last_error: str | None = None
        self._disabled: str | None = None
        self._retired: list[OpenClEd25519] = []

    def __call__(self, checks: Sequence[SignatureCheck]) -> list[bool]:
        return self.submit(checks).result()

    def submit(self, checks: Sequence[SignatureCheck]) -> Verdicts:
        device = self.device
        if device is None or self.crossover is None or len(checks) < self.crossover:
            return self._on_cpu(checks)
        sent = [i for i, (key, _, signature) in enumerate(checks)
                if len(key) == 32 and len(signature) == 64]
        try:
            launch = device.launch([checks[i] for i in sent])
        except OpenClFailure as exc:
            self._device_failed(str(exc))
            return self._on_cpu(checks)
        self._count(device_batches=1, device_signatures=len(checks))
        return _DeviceVerdicts(self, device, launch, checks, sent)

    def _finish(self, device: OpenClEd25519, launch: Launch, checks: Sequence[SignatureCheck],
                sent: list[int]) -> list[bool]:
        try:
            codes = device.finish(launch)
        except OpenClFailure as exc:
            self._device_failed(str(exc))
            return self._on_cpu(checks).result()
        with self._lock:
            self._consecutive_errors = 0
        verdicts = [False] * len(checks)
        for index, code in zip(sent, codes, strict=True):
            verdicts[index] = code == 0
        return verdicts

    def _on_cpu(self, checks: Sequence[SignatureCheck]) -> Verdicts:
        self._count(cpu_batches=1, cpu_signatures=len(checks))
        return self.cpu.submit(checks)

    def _count(self, **increments: int) -> None:
        with self._lock:
            for name, amount in increments.items():
                self._counts[name] += amount

    def _device_failed(self, error: str) -> None:
        with self._lock:
            self._counts["device_errors"] += 1
            self._consecutive_errors += 1
            self._last_error = error
            if self._consecutive_errors >= MAX_CONSECUTIVE_DEVICE_ERRORS and self.device:
                self._disabled = (f"{MAX_CONSECUTIVE_DEVICE_ERRORS} OpenCL errors in a row; "
                                  f"the last: {error}")
                self._retired.append(self.device)
                self.device = None

    def statistics(self) -> SigverifyStatistics:
        with self._lock:
            device = self.device
            return SigverifyStatistics(
                backend="opencl" if device is not None else "cpu",
                device=device.label if device is not None else None,
                crossover_batch=self.crossover if device is not None else None,
                last_device_error=self._last_error, device_disabled=self._disabled,
                **self._counts)

    def close(self) -> None:
        devices = [*self._retired, *([self.device] if self.device is not None else [])]
        self.device = None
        self._retired = []
        for device in devices:
            device.close()
        self.cpu.close()
