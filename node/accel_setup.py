"""Where the node's cryptography runs: its signature verifier and its client-pool keys."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

__all__ = ["AccelUnavailable", "client_pool_signer", "select_signature_verifier"]

VERIFY_PROCESSES = 2
CLIENT_POOL_DOMAIN = b"bitcraps/v1/client-pool\x00"
CL_DEVICE_TYPE_CPU = 1 << 1  # OpenCL's CL_DEVICE_TYPE_CPU


def client_pool_signer(seed: bytes, index: int) -> Any:
    from bitcraps.accel._ed25519_cpu import Ed25519Signer

    derived = hashlib.sha256(CLIENT_POOL_DOMAIN + seed + index.to_bytes(2, "big")).digest()
    return Ed25519Signer(derived)


def select_signature_verifier(preference: str) -> tuple[Callable[..., list[bool]], str]:
    """The configured verifier over the CPU's worker processes. "auto" considers GPUs and
    accelerators only: on a CPU OpenCL device (PoCL) the kernel never beats libsodium on
    the same cores (docs/sigverify.md), so calibrating there would only slow the start."""
    from bitcraps.accel._ed25519_procs import ProcessBatchVerifier
    from bitcraps.accel.sigverify import BackendUnavailable, opencl_devices, select_verifier

    cpu = ProcessBatchVerifier(VERIFY_PROCESSES)
    if preference == "auto":
        found, why_none = opencl_devices()
        devices = [d for d in found if not d.type & CL_DEVICE_TYPE_CPU]
        if not devices:
            verifier, _ = select_verifier("cpu", cpu=cpu)
            cpus = len(found) - len(devices)
            return verifier, ("cpu: no GPU or accelerator OpenCL device"
                              + (f" ({cpus} CPU device(s) are used only when forced)"
                                 if cpus else f" ({why_none})"))
        return select_verifier(preference, cpu=cpu, devices=devices)
    try:
        return select_verifier(preference, cpu=cpu)
    except BackendUnavailable as exc:
        cpu.close()
        raise AccelUnavailable(str(exc)) from None


class AccelUnavailable(Exception):
    """The configuration forces an OpenCL backend this machine cannot provide."""
