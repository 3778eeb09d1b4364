"""Where the node's cryptography runs: its signature verifier, its client-pool keys, and
where its craps tables' dice physics runs (`PhysicsProbe`)."""

from __future__ import annotations

import hashlib
from typing import Any

import trio

__all__ = ["AccelUnavailable", "PhysicsProbe", "SwitchingVerifier", "client_pool_signer",
           "select_signature_verifier", "start_signature_verifier"]

VERIFY_PROCESSES = 2
CLIENT_POOL_DOMAIN = b"bitcraps/v1/client-pool\x00"
CL_DEVICE_TYPE_CPU = 1 << 1  # OpenCL's CL_DEVICE_TYPE_CPU


def client_pool_signer(seed: bytes, index: int) -> Any:
    from bitcraps.accel._ed25519_cpu import Ed25519Signer

    derived = hashlib.sha256(CLIENT_POOL_DOMAIN + seed + index.to_bytes(2, "big")).digest()
    return Ed25519Signer(derived)


def select_signature_verifier(preference: str) -> tuple[SwitchingVerifier, str]:
    """The configured verifier over the CPU's worker processes, with its accelerator search
    done (`start_signature_verifier` then `SwitchingVerifier.search`, in one go)."""
    verifier, reason = start_signature_verifier(preference)
    found = verifier.search()
    return verifier, reason if found is None else found


def start_signature_verifier(preference: str) -> tuple[SwitchingVerifier, str]:
    """The verifier the node starts with: "cpu" and "auto" verify on the CPU's worker
    processes at once ("auto" looks for a GPU or accelerator later, in `search`, off the
    start's critical path); "opencl" (forced) selects its device now, or `AccelUnavailable`.

    The worker processes are started here, before any OpenCL runtime starts its threads."""
    from bitcraps.accel._ed25519_procs import ProcessBatchVerifier
    from bitcraps.accel.sigverify import BackendUnavailable, SignatureBatchVerifier, select_verifier

    cpu = ProcessBatchVerifier(VERIFY_PROCESSES)
    if preference == "auto":
        reason = "cpu (a GPU or accelerator OpenCL device is looked for in the background)"
        return SwitchingVerifier(SignatureBatchVerifier(cpu, reason=reason), search_on=cpu), reason
    try:
        verifier, reason = select_verifier(preference, cpu=cpu)
    except BackendUnavailable as exc:
        cpu.close()
        raise AccelUnavailable(str(exc)) from None
    return SwitchingVerifier(verifier), reason


def accelerated_verifier(cpu: Any) -> tuple[Any | None, str]:
    """"auto"'s search: GPUs and accelerators only. On a CPU OpenCL device (PoCL) the kernel
    never beats libsodium on the same cores (docs/sigverify.md), so calibrating there would
    only cost CPU. (None, why) when there is none; else `select_verifier`'s choice over
    `cpu`, which then owns it."""
    from bitcraps.accel.sigverify import opencl_devices, select_verifier

    found, why_none = opencl_devices()
    devices = [d for d in found if not d.type & CL_DEVICE_TYPE_CPU]
    if not devices:
        cpus = len(found) - len(devices)
        return None, ("cpu: no GPU or accelerator OpenCL device"
                      + (f" ({cpus} CPU device(s) are used only when forced)"
                         if cpus else f" ({why_none})"))
    return select_verifier("auto", cpu=cpu, devices=devices)


class SwitchingVerifier:
    """The node's signature verifier: the one it started with, replaced once by what the
    accelerator search chose. Safe from several threads: a call in flight finishes on the
    verifier it began with; the replaced one shares the same CPU workers and is not closed."""

    def __init__(self, verifier: Any, *, search_on: Any = None) -> None:
        self._current = verifier
        self._search_on = search_on

    def __call__(self, checks: Any) -> list[bool]:
        verdicts: list[bool] = self._current(checks)
        return verdicts

    def statistics(self) -> Any:
        return self._current.statistics()

    @property
    def searched(self) -> bool:
        return self._search_on is None

    def search(self) -> str | None:
        """Look for an accelerator (once; blocking: run it in a thread) and switch to what
        the search chose; its reason, or None when there was nothing to search."""
        cpu, self._search_on = self._search_on, None
        if cpu is None:
            return None
        chosen, reason = accelerated_verifier(cpu)
        if chosen is not None:
            self._current = chosen
        return reason

    def close(self) -> None:
        self._current.close()


class AccelUnavailable(Exception):
    """The configuration forces an OpenCL backend this machine cannot provide."""


class PhysicsProbe:
    """The dice physics backend, chosen once, off the start's critical path: a node with no
    craps table never waits for it (an OpenCL device's self-test can take seconds), and a
    craps table awaits `backend()` before it opens.

    Only `PhysicsBackendError` (a forced backend this machine lacks) is kept for `backend()`
    to raise as `AccelUnavailable`; anything else is a bug and propagates from `run`."""

    def __init__(self, preference: str) -> None:
        self.preference = preference
        self.selected: Any = None
        self.reason: str | None = None
        self._error: str | None = None
        self._done = trio.Event()
        self._wanted = trio.Event()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def waiting(self) -> int:
        """Tables waiting in `backend()` for the choice."""
        return self._done.statistics().tasks_waiting

    async def run(self) -> None:
        from bitcraps.accel.physics import PhysicsBackendError, select_physics_backend

        try:
            self.selected, self.reason = await trio.to_thread.run_sync(
                select_physics_backend, self.preference)
        except PhysicsBackendError as exc:
            self._error = str(exc)
        finally:
            self._done.set()

    async def wanted(self) -> None:
        """Return once a table has asked for the backend."""
        await self._wanted.wait()

    async def backend(self) -> Any:
        """The chosen backend, once chosen; `AccelUnavailable` if the forced one is missing."""
        self._wanted.set()
        await self._done.wait()
        if self._error is not None:
            raise AccelUnavailable(self._error)
        return self.selected
