"""The daemon's signature verifier is called from several threads at once (its tables'
verification offloads share a `CapacityLimiter(2)`): every verdict must still be
libsodium's, and no call may hang. The reproduction: one thread with valid signatures, one
with forged ones, on the verifier `select_signature_verifier` gives the daemon."""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Sequence

import pytest

from bitcraps.accel._ed25519_cpu import Ed25519Signer, verify_one
from bitcraps.accel._ed25519_procs import ProcessBatchVerifier
from bitcraps.node.accel_setup import select_signature_verifier

Check = tuple[bytes, bytes, bytes]
ROUNDS = 60
BOUND_S = 60.0  # all threads together; a correct run takes about a second


def _batches(seed: int, forged: bool, size: int = 64, rounds: int = ROUNDS) -> list[list[Check]]:
    rng = random.Random(seed)
    signer = Ed25519Signer(rng.randbytes(32))
    out = []
    for _ in range(rounds):
        batch = []
        for _ in range(size):
            message = rng.randbytes(rng.randrange(1, 200))
            signature = signer.sign(message)
            if forged:
                signature = bytes([signature[0] ^ 1]) + signature[1:]
            batch.append((signer.public_key, message, signature))
        out.append(batch)
    return out


def _hammer(verify: Callable[[Sequence[Check]], list[bool]],
            workloads: list[list[list[Check]]]) -> None:
    """Run each workload on a thread of its own, every batch checked against libsodium."""
    wrong: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(workloads))

    def run(name: int, batches: list[list[Check]]) -> None:
        try:
            barrier.wait(BOUND_S)
            for number, batch in enumerate(batches):
                got = verify(batch)
                expected = [verify_one(*check) for check in batch]
                if got != expected:
                    differ = sum(a != b for a, b in zip(got, expected, strict=False))
                    wrong.append(f"thread {name} batch {number}: {differ} verdicts wrong "
                                 f"({len(got)} for {len(expected)} signatures)")
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, w), daemon=True)
               for i, w in enumerate(workloads)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + BOUND_S
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "a verification thread hung (deadlock)"
    assert not errors, errors
    assert not wrong, wrong


def test_the_daemons_verifier_from_two_threads_valid_and_forged() -> None:
    seed = int.from_bytes(os.urandom(4), "big")
    print(f"seed={seed}")
    verifier, _ = select_signature_verifier("auto")
    try:
        _hammer(verifier, [_batches(seed, forged=False), _batches(seed + 1, forged=True)])
    finally:
        verifier.close()  # type: ignore[attr-defined]


@pytest.mark.parametrize("size", [3, 64, 300])
def test_process_verifier_from_four_threads_mixed_sizes(size: int) -> None:
    """Small batches go to one worker, large ones are split across both: either way, each
    thread's verdicts are its own."""
    seed = int.from_bytes(os.urandom(4), "big")
    print(f"seed={seed}")
    verifier = ProcessBatchVerifier(2)
    try:
        workloads = [_batches(seed + i, forged=bool(i % 2), size=size + i, rounds=20)
                     for i in range(4)]
        _hammer(verifier, workloads)
    finally:
        verifier.close()


def test_device_routing_from_two_threads_valid_and_forged() -> None:
    """The same with batches on both sides of the crossover: large ones on an OpenCL
    device (PoCL here, a GPU on a machine with one), small ones on the worker processes."""
    from bitcraps.accel.sigverify import OpenClFailure, SignatureBatchVerifier, opencl_devices
    from bitcraps.accel.sigverify._opencl import OpenClEd25519

    devices, why_none = opencl_devices()
    if not devices:
        pytest.skip(why_none)
    try:
        device = OpenClEd25519(devices[0])
    except OpenClFailure as exc:
        pytest.skip(f"the kernel does not build on {devices[0].name}: {str(exc)[:200]}")
    seed = int.from_bytes(os.urandom(4), "big")
    print(f"seed={seed}")
    verifier = SignatureBatchVerifier(ProcessBatchVerifier(2), device, 16)
    try:
        workloads = [_batches(seed + i, forged=bool(i % 2), size=12 + 8 * i, rounds=8)
                     for i in range(2)]
        _hammer(verifier, workloads)
        statistics = verifier.statistics()
        assert statistics.device_batches and statistics.cpu_batches
        assert statistics.device_errors == 0
    finally:
        verifier.close()
