"""The worker-process verifier gives exactly verify_one's verdicts, in order, and shuts down."""

from __future__ import annotations

import os

from bitcraps.accel._ed25519_cpu import CpuBatchVerifier, Ed25519Signer, verify_one
from bitcraps.accel._ed25519_procs import ProcessBatchVerifier


def _checks() -> list[tuple[bytes, bytes, bytes]]:
    signer = Ed25519Signer(b"\x07" * 32)
    checks = []
    for i in range(100):
        message = os.urandom(i)
        signature = signer.sign(message)
        if i % 3 == 0:
            signature = bytes([signature[0] ^ 1]) + signature[1:]
        if i % 7 == 0:
            message += b"!"
        checks.append((signer.public_key, message, signature))
    checks.append((signer.public_key[:31], b"", signer.sign(b"")))  # short key
    checks.append((signer.public_key, b"x", signer.sign(b"x")[:63]))  # short signature
    return checks


def test_verdicts_match_verify_one_for_small_and_split_batches() -> None:
    checks = _checks()
    expected = [verify_one(*check) for check in checks]
    assert any(expected) and not all(expected)
    verifier = ProcessBatchVerifier(2)
    try:
        assert verifier(checks) == expected
        assert verifier(checks[:3]) == expected[:3]
        assert verifier([]) == []
        pending = [verifier.submit(checks[i:i + 40]) for i in range(0, len(checks), 40)]
        assert [ok for p in pending for ok in p.result()] == expected
        assert all(p.done() for p in pending)
    finally:
        verifier.close()


def test_thread_pool_submit_matches_its_call() -> None:
    checks = _checks()
    verifier = CpuBatchVerifier(2)
    try:
        assert verifier.submit(checks).result() == verifier(checks) == [
            verify_one(*check) for check in checks]
        assert verifier.submit([]).result() == []
    finally:
        verifier.close()
