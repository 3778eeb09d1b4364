"""A device earns trust at start: its arithmetic and its verdicts are checked before use.

Five steps, each against an independent reference: field operations against Python
integers, reduction mod L against Python integers, SHA-512 against hashlib, S*B and
k*(-A) against the pure-Python curve, and finally the verdicts on generated edge cases
and random signatures against libsodium itself. The first difference refuses the device
and says where it was found.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .._ed25519_cpu import verify_one
from . import _curve
from ._cases import MESSAGE_LENGTHS, edge_cases, random_valid
from ._errors import OpenClFailure
from ._opencl import OpenClEd25519

__all__ = ["SelfTestReport", "self_test"]

DEFAULT_SEED = 0x5E1F7E57
FIELD_PAIRS = 48
SCALARS = 40
GROUP_POINTS = 8
RANDOM_SIGNATURES = 24


@dataclass(frozen=True)
class SelfTestReport:
    passed: bool
    reason: str
    seconds: float


def _le(value: int, size: int = 32) -> bytes:
    return value.to_bytes(size, "little")


def _field_step(device: OpenClEd25519, rng: random.Random) -> str | None:
    p = _curve.P
    edges = [0, 1, 2, 19, p - 1, p, p + 1, 2**255 - 1, 2**255 - 20, 2**26 - 1, 2**25, 2**230]
    a_values = edges + [rng.randrange(2**255) for _ in range(FIELD_PAIRS - len(edges))]
    b_values = list(reversed(edges)) + [rng.randrange(2**255) for _ in range(FIELD_PAIRS
                                                                              - len(edges))]
    out = device.run_selftest_kernel(
        "selftest_field", [b"".join(map(_le, a_values)), b"".join(map(_le, b_values))],
        FIELD_PAIRS, FIELD_PAIRS * 7 * 32)
    names = ("a*b", "a^2", "a+b", "a-b", "1/a", "a^((p-5)/8)", "a mod p")
    for i, (a, b) in enumerate(zip(a_values, b_values, strict=True)):
        a, b = a % p, b % p
        expected = (a * b % p, a * a % p, (a + b) % p, (a - b) % p, pow(a, p - 2, p),
                    pow(a, (p - 5) // 8, p), a)
        for k, value in enumerate(expected):
            got = int.from_bytes(out[(7 * i + k) * 32:(7 * i + k + 1) * 32], "little")
            if got != value:
                return f"field arithmetic: {names[k]} is wrong for a={a:#x}, b={b:#x}"
    return None


def _scalar_step(device: OpenClEd25519, rng: random.Random) -> str | None:
    big_l = _curve.L
    edges = [0, 1, big_l - 1, big_l, big_l + 1, 2 * big_l, 2**512 - 1, big_l * (2**259),
             2**256 - 1, 2**253, (2**512 - 1) // big_l * big_l]
    values = edges + [rng.randrange(2**512) for _ in range(SCALARS - len(edges))]
    out = device.run_selftest_kernel("selftest_scalar", [b"".join(_le(v, 64) for v in values)],
                                     SCALARS, SCALARS * 32)
    for i, value in enumerate(values):
        if int.from_bytes(out[32 * i:32 * i + 32], "little") != value % big_l:
            return f"scalar reduction mod L is wrong for {value:#x}"
    return None


def _hash_step(device: OpenClEd25519, rng: random.Random) -> str | None:
    count = len(MESSAGE_LENGTHS)
    r_parts = [rng.randbytes(64) for _ in range(count)]
    keys = [rng.randbytes(32) for _ in range(count)]
    messages = [rng.randbytes(length) for length in MESSAGE_LENGTHS]
    offsets = np.cumsum([0, *MESSAGE_LENGTHS], dtype=np.uint32)
    out = device.run_selftest_kernel(
        "selftest_hash", [b"".join(r_parts), b"".join(keys), b"".join(messages) or b"\0",
                          offsets.tobytes()], count, count * 64)
    for i in range(count):
        expected = hashlib.sha512(r_parts[i][:32] + keys[i] + messages[i]).digest()
        if out[64 * i:64 * i + 64] != expected:
            return f"SHA-512 is wrong for a {MESSAGE_LENGTHS[i]}-byte message"
    return None


def _group_step(device: OpenClEd25519, rng: random.Random) -> str | None:
    scalars = [0, 1, 2, _curve.L - 1] + [rng.randrange(_curve.L) for _ in range(GROUP_POINTS)]
    points = [_curve.multiply(rng.randrange(1, _curve.L), _curve.BASE) for _ in scalars]
    encodings = [_curve.encode(point) for point in points]
    out = device.run_selftest_kernel(
        "selftest_group", [b"".join(map(_le, scalars)), b"".join(encodings)], len(scalars),
        64 * len(scalars), with_table=True)
    for i, (scalar, point) in enumerate(zip(scalars, points, strict=True)):
        if out[64 * i:64 * i + 32] != _curve.encode(_curve.multiply(scalar, _curve.BASE)):
            return f"s*B (base-point table) is wrong for s={scalar:#x}"
        expected = _curve.encode(_curve.multiply(scalar, _curve.negate(point)))
        if out[64 * i + 32:64 * i + 64] != expected:
            return f"k*(-A) is wrong for k={scalar:#x}"
    return None


def _verdict_step(device: OpenClEd25519, rng: random.Random) -> str | None:
    cases = edge_cases(rng, include_lengths=False)
    cases += [random_valid(rng, rng.randrange(0, 400)) for _ in range(RANDOM_SIGNATURES)]
    codes = device.verdict_codes([case.check for case in cases])
    for case, code in zip(cases, codes, strict=True):
        if (code == 0) != verify_one(*case.check):
            return (f"verdict differs from libsodium on a case '{case.label}' "
                    f"(device code {code})")
    return None


STEPS: tuple[Callable[[OpenClEd25519, random.Random], str | None], ...] = (
    _field_step, _scalar_step, _hash_step, _group_step, _verdict_step)


def self_test(device: OpenClEd25519, *, seed: int = DEFAULT_SEED) -> SelfTestReport:
    """Check a device; `passed` is False, with the first difference as reason, if any."""
    started = time.perf_counter()
    rng = random.Random(seed)
    try:
        for step in STEPS:
            failure = step(device, rng)
            if failure is not None:
                return SelfTestReport(False, f"{device.label}: self-test failed: {failure} "
                                             f"(seed {seed:#x})", time.perf_counter() - started)
    except OpenClFailure as exc:
        return SelfTestReport(False, f"OpenCL error during the self-test: {exc}",
                              time.perf_counter() - started)
    elapsed = time.perf_counter() - started
    return SelfTestReport(True, f"{device.label}: self-test passed in {elapsed:.2f} s", elapsed)
