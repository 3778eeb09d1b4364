"""Random signatures and random corruptions of each field: the kernel answers as libsodium.

Every case is built from a seed (hypothesis runs derandomized; a failure prints the
example), and each is judged three ways: libsodium live, the rule model (with its reason
code) and the OpenCL kernel on PoCL.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitcraps.accel._ed25519_cpu import CpuBatchVerifier, verify_one
from bitcraps.accel.sigverify import Verdict, _curve, libsodium_verdict, opencl_devices
from bitcraps.accel.sigverify._cases import (
    MESSAGE_LENGTHS,
    LabeledCheck,
    edge_cases,
    random_valid,
)
from bitcraps.accel.sigverify._opencl import OpenClEd25519
from bitcraps.accel.sigverify._rule import SMALL_ORDER_ENCODINGS


@pytest.fixture(scope="module")
def pocl() -> Iterator[OpenClEd25519]:
    devices = [device for device in opencl_devices()[0]
               if "Portable Computing Language" in device.platform.name]
    assert devices, "PoCL is missing: install the `pocl` extra (pip install -e '.[pocl]')"
    device = OpenClEd25519(devices[0])
    yield device
    device.close()


def _assert_all_agree(device: OpenClEd25519, cases: list[LabeledCheck], seed: int) -> None:
    codes = device.verdict_codes([case.check for case in cases])
    for case, code in zip(cases, codes, strict=True):
        expected = libsodium_verdict(*case.check)
        assert code == expected, f"{case.label}: kernel {code}, rule {expected!r} (seed {seed})"
        assert (code == Verdict.ACCEPT) == verify_one(*case.check), f"{case.label} (seed {seed})"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_edge_cases_agree_everywhere(pocl: OpenClEd25519, seed: int) -> None:
    cases = edge_cases(random.Random(seed), include_lengths=False)
    labels = {case.label for case in cases}
    assert {"R of small order", "A not canonical (y >= p)", "S + L", "A not on the curve",
            "R plus a torsion point", "A of mixed order, equation holds"} <= labels
    _assert_all_agree(pocl, cases, seed)
    verdicts = [verify_one(*case.check) for case in cases]
    assert any(verdicts) and not all(verdicts)


def test_the_cpu_thread_pool_answers_as_libsodium_with_wrong_lengths() -> None:
    cases = edge_cases(random.Random(4))
    verifier = CpuBatchVerifier(2)
    try:
        assert verifier([case.check for case in cases]) == [verify_one(*c.check) for c in cases]
    finally:
        verifier.close()


def test_valid_signatures_over_every_block_boundary_are_accepted(pocl: OpenClEd25519) -> None:
    rng = random.Random(5)
    lengths = list(MESSAGE_LENGTHS) + [rng.randrange(0, 2000) for _ in range(40)]
    lengths += list(range(40, 70)) + list(range(104, 136))  # R || A || M || padding edges
    cases = [random_valid(rng, length) for length in lengths]
    assert pocl.verdict_codes([case.check for case in cases]) == [0] * len(cases)


FIELDS = ("R", "S", "A", "M")


def _corrupt(rng: random.Random, field: str, how: int) -> LabeledCheck:
    base = random_valid(rng, rng.choice((0, 1, 63, 64, 111, 112, 200, 300)))
    key, message, sig = base.check
    if field == "R":
        options = [sig[:32][:31] + bytes([sig[31] ^ (1 << rng.randrange(8))]),
                   rng.choice(SMALL_ORDER_ENCODINGS),
                   bytes(b ^ rng.randrange(1, 256) if i == rng.randrange(32) else b
                         for i, b in enumerate(sig[:32])),
                   rng.randbytes(32)]
        return LabeledCheck("R corrupted", key, message, options[how % 4] + sig[32:])
    if field == "S":
        s = int.from_bytes(sig[32:], "little")
        values = [s ^ (1 << rng.randrange(256)), s + _curve.L, s + rng.randrange(1, 8) * _curve.L,
                  rng.randrange(2**256)]
        value = values[how % 4] % 2**256
        return LabeledCheck("S corrupted", key, message, sig[:32] + value.to_bytes(32, "little"))
    if field == "A":
        y = _curve.P + rng.randrange(19)
        options = [bytes(b ^ (1 << rng.randrange(8)) if i == rng.randrange(32) else b
                         for i, b in enumerate(key)),
                   rng.choice(SMALL_ORDER_ENCODINGS),
                   (y | rng.randrange(2) << 255).to_bytes(32, "little"),
                   rng.randbytes(32)]
        return LabeledCheck("A corrupted", options[how % 4], message, sig)
    changed = bytearray(message + b"\x00" * (how % 2))
    if changed:
        changed[rng.randrange(len(changed))] ^= 1 << rng.randrange(8)
    else:
        changed = bytearray(b"\x01")
    return LabeledCheck("M corrupted", key, bytes(changed), sig)


@settings(max_examples=120)
@given(seed=st.integers(0, 2**32 - 1), field=st.sampled_from(FIELDS), how=st.integers(0, 7))
def test_random_corruptions_of_each_field_agree(pocl: OpenClEd25519, seed: int, field: str,
                                                how: int) -> None:
    _assert_all_agree(pocl, [_corrupt(random.Random(seed), field, how)], seed)


def test_a_large_mixed_batch_keeps_its_order_and_grows_the_buffers(
        pocl: OpenClEd25519) -> None:
    rng = random.Random(6)
    cases = [random_valid(rng, 300) for _ in range(1300)]  # past 1024 slots and 256 KiB
    for i in rng.sample(range(len(cases)), 400):
        cases[i] = _corrupt(rng, FIELDS[i % 4], i)
    codes = pocl.verdict_codes([case.check for case in cases])
    assert [code == 0 for code in codes] == [verify_one(*case.check) for case in cases]


def test_more_launches_in_flight_than_buffer_slots(pocl: OpenClEd25519) -> None:
    rng = random.Random(7)
    batches = [[random_valid(rng, rng.randrange(0, 300)) for _ in range(20 + k)]
               for k in range(5)]
    for k, batch in enumerate(batches):
        batch[len(batch) // 2] = _corrupt(rng, "S", k)
    launches = [pocl.launch([case.check for case in batch]) for batch in batches]
    for batch, launch in reversed(list(zip(batches, launches, strict=True))):
        assert [c == 0 for c in pocl.finish(launch)] == [verify_one(*c.check) for c in batch]
    assert pocl.verdict_codes([]) == []


def test_the_crafted_small_order_cases_satisfy_the_equation() -> None:
    """Only libsodium's small-order checks reject these: S*B - k*A encodes to R exactly."""
    crafted = [case for case in edge_cases(random.Random(8)) if "equation holds" in case.label]
    assert len(crafted) == 5
    for case in crafted:
        key, message, sig = case.check
        a_point = _curve.decode(key)
        assert a_point is not None
        k = int.from_bytes(hashlib.sha512(sig[:32] + key + message).digest(), "little")
        s = int.from_bytes(sig[32:], "little")
        check = _curve.add(_curve.multiply(s, _curve.BASE),
                           _curve.negate(_curve.multiply(k % _curve.L, a_point)))
        assert _curve.encode(check) == sig[:32], case.label
        expected = Verdict.ACCEPT if "mixed order" in case.label else None
        assert expected is None or libsodium_verdict(*case.check) == expected
