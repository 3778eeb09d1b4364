"""The libsodium group, the equal-log proofs and Shamir maths the threshold coin rests on."""

from __future__ import annotations

import hashlib
import itertools

import nacl.bindings as sodium
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitcraps.accel._ed25519_group import SodiumEd25519Group
from bitcraps.games._coin import BASE, IDENTITY, ORDER, GroupError
from bitcraps.games._coin_group import hash_to_point, parse_scalar, scalar_bytes
from bitcraps.games._coin_proof import PROOF_BYTES, ProofCheck, prove_equal_logs, verify_equal_logs
from bitcraps.games._coin_shamir import (
    evaluate,
    evaluate_in_exponent,
    interpolate_in_exponent,
    interpolate_scalars,
    lagrange_at_zero,
    share_point,
)

GROUP = SodiumEd25519Group()
P = GROUP.base_mul(5)
Q = GROUP.base_mul(7)
# Points libsodium keeps out of the prime-order group: small order (y = 0, y = -1, an
# order-8 point), a non-canonical encoding (y = p + 1 is the identity's y), off the curve.
ORDER_4 = bytes(32)
ORDER_2 = bytes.fromhex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
ORDER_8 = bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05")
NON_CANONICAL_IDENTITY = bytes.fromhex(
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"
)
MIXED_ORDER = sodium.crypto_core_ed25519_add(P, ORDER_8)  # valid curve point, not in the subgroup
BAD_POINTS = [
    ORDER_4,
    ORDER_2,
    ORDER_8,
    NON_CANONICAL_IDENTITY,
    MIXED_ORDER,
    b"\xff" * 32,
    b"\x02" + bytes(31),
    P[:31],
    P + b"\x00",
]

scalars = st.integers(min_value=0, max_value=ORDER - 1)


def test_base_point_and_identity_are_libsodiums() -> None:
    assert GROUP.base_mul(1) == BASE
    assert GROUP.base_mul(0) == IDENTITY
    assert GROUP.base_mul(ORDER) == IDENTITY
    assert not GROUP.is_valid_point(IDENTITY)
    assert GROUP.is_valid_point(BASE) and GROUP.is_valid_point(P)


def test_arithmetic_is_total_where_libsodium_refuses_the_identity() -> None:
    assert GROUP.mul(0, P) == IDENTITY
    assert GROUP.mul(ORDER, P) == IDENTITY
    assert GROUP.mul(3, IDENTITY) == IDENTITY
    assert GROUP.sub(P, P) == IDENTITY
    assert GROUP.add(P, IDENTITY) == P
    assert GROUP.add(IDENTITY, IDENTITY) == IDENTITY
    assert GROUP.mul(ORDER + 5, BASE) == P


@settings(max_examples=25)
@given(scalars, scalars)
def test_group_law(a: int, b: int) -> None:
    assert GROUP.add(GROUP.base_mul(a), GROUP.base_mul(b)) == GROUP.base_mul((a + b) % ORDER)
    assert GROUP.sub(GROUP.base_mul(a), GROUP.base_mul(b)) == GROUP.base_mul((a - b) % ORDER)
    assert GROUP.mul(a, GROUP.base_mul(b)) == GROUP.base_mul(a * b % ORDER)


@pytest.mark.parametrize("bad", BAD_POINTS, ids=lambda p: p.hex()[:12] + f"/{len(p)}")
def test_every_operation_refuses_a_point_outside_the_group(bad: bytes) -> None:
    assert not GROUP.is_valid_point(bad)
    for operation in (
        lambda: GROUP.add(bad, P),
        lambda: GROUP.add(P, bad),
        lambda: GROUP.sub(bad, P),
        lambda: GROUP.sub(P, bad),
        lambda: GROUP.mul(3, bad),
    ):
        with pytest.raises(GroupError, match="not a point of the prime-order subgroup"):
            operation()


def test_non_bytes_and_non_int_inputs_are_typed_errors() -> None:
    assert not GROUP.is_valid_point("not bytes")  # type: ignore[arg-type]
    with pytest.raises(GroupError):
        GROUP.add(bytearray(P), P)  # type: ignore[arg-type]
    with pytest.raises(GroupError, match="scalar must be an int"):
        GROUP.mul(1.5, P)  # type: ignore[arg-type]
    with pytest.raises(GroupError, match="takes 64 bytes"):
        GROUP.map_to_point(bytes(32))


def test_map_to_point_adds_the_elligator_maps_of_both_halves() -> None:
    for i in range(20):
        uniform = hashlib.sha512(b"map %d" % i).digest()
        point = GROUP.map_to_point(uniform)
        first = sodium.crypto_core_ed25519_from_uniform(uniform[:32])
        second = sodium.crypto_core_ed25519_from_uniform(uniform[32:])
        assert point == sodium.crypto_core_ed25519_add(first, second)
        assert GROUP.is_valid_point(point)


def test_map_to_point_refuses_an_identity_result() -> None:
    # libsodium maps the all-zero half to the identity: both halves zero sum to it.
    assert sodium.crypto_core_ed25519_from_uniform(bytes(32)) == IDENTITY
    with pytest.raises(GroupError, match="maps to the identity"):
        GROUP.map_to_point(bytes(64))


def test_hash_to_point_is_domain_separated() -> None:
    domain_a, domain_b = b"test/a\x00", b"test/b\x00"
    assert hash_to_point(GROUP, domain_a, b"x") == hash_to_point(GROUP, domain_a, b"x")
    assert hash_to_point(GROUP, domain_a, b"x") != hash_to_point(GROUP, domain_b, b"x")
    assert hash_to_point(GROUP, domain_a, b"xy") != hash_to_point(GROUP, domain_a, b"x", b"y")


def test_scalar_encoding_is_canonical() -> None:
    assert parse_scalar(scalar_bytes(ORDER - 1)) == ORDER - 1
    assert parse_scalar(ORDER.to_bytes(32, "little")) is None
    assert parse_scalar(b"\xff" * 32) is None
    assert parse_scalar(bytes(31)) is None
    with pytest.raises(ValueError):
        scalar_bytes(ORDER)


# --- proofs --------------------------------------------------------------------------------

DOMAIN = b"test/proof\x00"


def _dleq(secret: int, base: bytes) -> tuple[tuple[bytes, bytes], tuple[bytes, bytes], bytes]:
    bases = (BASE, base)
    points = (GROUP.base_mul(secret), GROUP.mul(secret, base))
    return bases, points, prove_equal_logs(GROUP, DOMAIN, b"ctx", secret, bases, points)


def test_dleq_proof_verifies_and_is_deterministic() -> None:
    bases, points, proof = _dleq(123456789, Q)
    assert len(proof) == PROOF_BYTES
    assert verify_equal_logs(GROUP, DOMAIN, b"ctx", bases, points, proof) is ProofCheck.VALID
    assert _dleq(123456789, Q)[2] == proof


def test_dleq_proof_binds_statement_context_and_domain() -> None:
    bases, points, proof = _dleq(42, Q)
    wrong_point = (points[0], GROUP.add(points[1], BASE))
    cases = [
        (DOMAIN, b"ctx", bases, wrong_point),
        (DOMAIN, b"other", bases, points),
        (b"test/other\x00", b"ctx", bases, points),
        (DOMAIN, b"ctx", (BASE, P), points),
    ]
    for domain, context, b, p in cases:
        assert verify_equal_logs(GROUP, domain, context, b, p, proof) is ProofCheck.MISMATCH


def test_unequal_logs_cannot_be_proven() -> None:
    bases = (BASE, Q)
    points = (GROUP.base_mul(5), GROUP.mul(6, Q))
    proof = prove_equal_logs(GROUP, DOMAIN, b"ctx", 5, bases, points)
    assert verify_equal_logs(GROUP, DOMAIN, b"ctx", bases, points, proof) is ProofCheck.MISMATCH


def test_non_canonical_proof_scalars_are_named() -> None:
    bases, points, proof = _dleq(42, Q)
    challenge = int.from_bytes(proof[:32], "little")
    response = int.from_bytes(proof[32:], "little")
    for bad in (
        (challenge + ORDER).to_bytes(32, "little") + proof[32:],
        proof[:32] + (response + ORDER).to_bytes(32, "little"),
        proof[:63],
    ):
        verdict = verify_equal_logs(GROUP, DOMAIN, b"ctx", bases, points, bad)
        assert verdict is ProofCheck.NOT_CANONICAL


def test_schnorr_is_the_one_pair_case() -> None:
    point = GROUP.base_mul(99)
    proof = prove_equal_logs(GROUP, DOMAIN, b"", 99, (BASE,), (point,))
    assert verify_equal_logs(GROUP, DOMAIN, b"", (BASE,), (point,), proof) is ProofCheck.VALID
    assert verify_equal_logs(GROUP, DOMAIN, b"", (BASE,), (P,), proof) is ProofCheck.MISMATCH


# --- Shamir --------------------------------------------------------------------------------

COEFFICIENTS = (31337, 271828, 314159)  # degree 2: threshold 3


def test_any_threshold_values_interpolate_to_the_secret() -> None:
    values = {i: evaluate(COEFFICIENTS, share_point(i)) for i in range(7)}
    for subset in itertools.combinations(range(7), 3):
        assert interpolate_scalars({i: values[i] for i in subset}) == COEFFICIENTS[0]
    for subset in itertools.combinations(range(7), 2):
        assert interpolate_scalars({i: values[i] for i in subset}) != COEFFICIENTS[0]


def test_interpolation_in_the_exponent_matches_the_scalars() -> None:
    commitments = [GROUP.base_mul(a) for a in COEFFICIENTS]
    points = {i: evaluate_in_exponent(GROUP, commitments, share_point(i)) for i in range(7)}
    for i, point in points.items():
        assert point == GROUP.base_mul(evaluate(COEFFICIENTS, share_point(i)))
    assert interpolate_in_exponent(GROUP, {i: points[i] for i in (1, 4, 6)}) == commitments[0]


def test_lagrange_refuses_repeated_replicas() -> None:
    with pytest.raises(ValueError, match="distinct"):
        lagrange_at_zero([1, 1, 2])
    assert sum(lagrange_at_zero([0, 1, 2]).values()) % ORDER == 1
