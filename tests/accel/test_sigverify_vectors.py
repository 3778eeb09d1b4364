"""Every published Ed25519 edge case gets libsodium's verdict from every backend.

The cases are RFC 8032's, Wycheproof's and the "Taming the many EdDSAs" speccheck set, in
tests/vectors/ed25519 with libsodium's recorded verdicts. Each backend's verdict must
equal the recorded one and libsodium's own, computed live; the kernel's reason code must
equal the rule model's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import nacl.bindings
import nacl.exceptions
import pytest

from bitcraps.accel._ed25519_cpu import CpuBatchVerifier, verify_one
from bitcraps.accel._ed25519_procs import ProcessBatchVerifier
from bitcraps.accel.sigverify import (
    SignatureBatchVerifier,
    Verdict,
    libsodium_verdict,
    opencl_devices,
)
from bitcraps.accel.sigverify._opencl import OpenClEd25519

VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "ed25519"

Case = tuple[str, int, bytes, bytes, bytes]  # file, case id, public key, message, signature


def _load_cases() -> list[Case]:
    cases: list[Case] = []
    wycheproof = json.loads((VECTORS / "wycheproof_ed25519_test.json").read_text())
    for group in wycheproof["testGroups"]:
        key = bytes.fromhex(group["publicKey"]["pk"])
        for test in group["tests"]:
            cases.append(("wycheproof_ed25519_test.json", test["tcId"], key,
                          bytes.fromhex(test["msg"]), bytes.fromhex(test["sig"])))
    speccheck = json.loads((VECTORS / "speccheck_cases.json").read_text())
    for index, case in enumerate(speccheck):
        cases.append(("speccheck_cases.json", index, bytes.fromhex(case["pub_key"]),
                      bytes.fromhex(case["message"]), bytes.fromhex(case["signature"])))
    rfc = json.loads((VECTORS / "rfc8032_ed25519.json").read_text())
    for index, case in enumerate(rfc):
        cases.append(("rfc8032_ed25519.json", index, bytes.fromhex(case["pk"]),
                      bytes.fromhex(case["msg"]), bytes.fromhex(case["sig"])))
    return cases


CASES = _load_cases()
RECORDED = {(v["file"], v["case"]): v["accept"]
            for v in json.loads((VECTORS / "libsodium-verdicts.json").read_text())["verdicts"]}
CHECKS = [(key, message, signature) for _, _, key, message, signature in CASES]


def _live_libsodium(key: bytes, message: bytes, signature: bytes) -> bool:
    try:
        nacl.bindings.crypto_sign_open(signature + message, key)
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
        return False
    return True


def _mismatches(verdicts: list[bool]) -> list[str]:
    return [f"{file} case {case}: got {got}, libsodium {RECORDED[(file, case)]}"
            for (file, case, *_), got in zip(CASES, verdicts, strict=True)
            if got != RECORDED[(file, case)]]


@pytest.fixture(scope="module")
def pocl() -> Iterator[OpenClEd25519]:
    devices = [device for device in opencl_devices()[0]
               if "Portable Computing Language" in device.platform.name]
    assert devices, "PoCL is missing: install the `pocl` extra (pip install -e '.[pocl]')"
    device = OpenClEd25519(devices[0])
    yield device
    device.close()


def test_the_vectors_are_complete_and_recorded() -> None:
    assert len(CASES) == 168 == len(RECORDED)
    assert {(file, case) for file, case, *_ in CASES} == set(RECORDED)
    assert sum(RECORDED.values()) == 94


def test_live_libsodium_agrees_with_the_recorded_verdicts() -> None:
    assert _mismatches([_live_libsodium(*check) for check in CHECKS]) == []


def test_the_rule_model_gives_libsodiums_verdicts() -> None:
    assert _mismatches([libsodium_verdict(*check) == Verdict.ACCEPT for check in CHECKS]) == []


def test_cpu_paths_give_libsodiums_verdicts() -> None:
    assert _mismatches([verify_one(*check) for check in CHECKS]) == []
    threads = CpuBatchVerifier(2)
    processes = ProcessBatchVerifier(2)
    try:
        assert _mismatches(threads(CHECKS)) == []
        assert _mismatches(threads.submit(CHECKS).result()) == []
        assert _mismatches(processes(CHECKS)) == []
    finally:
        threads.close()
        processes.close()


def test_the_kernel_gives_libsodiums_verdicts_and_reasons(pocl: OpenClEd25519) -> None:
    right_lengths = [i for i, (key, _, sig) in enumerate(CHECKS)
                     if len(key) == 32 and len(sig) == 64]
    assert len(right_lengths) == len(CHECKS) - 12  # Wycheproof's 12 wrong-length signatures
    codes = pocl.verdict_codes([CHECKS[i] for i in right_lengths])
    for i, code in zip(right_lengths, codes, strict=True):
        file, case, *_ = CASES[i]
        assert code == libsodium_verdict(*CHECKS[i]), f"{file} case {case}"
        assert (code == Verdict.ACCEPT) == RECORDED[(file, case)], f"{file} case {case}"


def test_the_device_backed_verifier_rejects_wrong_lengths_on_the_host(
        pocl: OpenClEd25519) -> None:
    verifier = SignatureBatchVerifier(CpuBatchVerifier(1), pocl, 1)
    assert _mismatches(verifier(CHECKS)) == []
    stats = verifier.statistics()
    assert (stats.device_batches, stats.cpu_batches, stats.device_errors) == (1, 0, 0)
    verifier.cpu.close()  # the module's device stays open for the other tests
