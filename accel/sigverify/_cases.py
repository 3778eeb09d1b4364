"""Signatures that probe every acceptance rule: valid ones and each kind of corruption.

Generated from a seeded `random.Random`, so a run can be replayed. The self-test checks a
device against libsodium on these before it is trusted; the tests use them too. Each case
carries a label saying what was done to it.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

import nacl.bindings
import nacl.signing

from . import _curve
from ._rule import SMALL_ORDER_ENCODINGS

__all__ = ["LabeledCheck", "edge_cases", "random_valid", "MESSAGE_LENGTHS"]

# Across SHA-512's 128-byte blocks: R || A takes 64 bytes, the padding at least 17.
MESSAGE_LENGTHS = (0, 1, 31, 32, 46, 47, 48, 63, 64, 111, 112, 127, 128, 129, 175, 176,
                   239, 240, 300, 1000)


@dataclass(frozen=True)
class LabeledCheck:
    label: str
    public_key: bytes
    message: bytes
    signature: bytes

    @property
    def check(self) -> tuple[bytes, bytes, bytes]:
        return (self.public_key, self.message, self.signature)


def _signing_key(rng: random.Random) -> nacl.signing.SigningKey:
    return nacl.signing.SigningKey(rng.randbytes(32))


def random_valid(rng: random.Random, message_length: int) -> LabeledCheck:
    key = _signing_key(rng)
    message = rng.randbytes(message_length)
    signature = key.sign(message).signature
    return LabeledCheck(f"valid, {message_length}-byte message", bytes(key.verify_key),
                        message, signature)


def _flip_bit(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def _field_corruptions(rng: random.Random, base: LabeledCheck) -> list[LabeledCheck]:
    pk, msg, sig = base.check
    cases = [
        LabeledCheck("R bit flipped", pk, msg, _flip_bit(sig, rng.randrange(256))),
        LabeledCheck("R sign bit flipped", pk, msg, _flip_bit(sig, 255)),
        LabeledCheck("S bit flipped", pk, msg, _flip_bit(sig, 256 + rng.randrange(253))),
        LabeledCheck("A bit flipped", _flip_bit(pk, rng.randrange(255)), msg, sig),
        LabeledCheck("A sign bit flipped", _flip_bit(pk, 255), msg, sig),
        LabeledCheck("M extended", pk, msg + b"\x00", sig),
    ]
    if msg:
        cases.append(LabeledCheck("M bit flipped", pk, _flip_bit(msg, rng.randrange(8 * len(msg))),
                                  sig))
    s = int.from_bytes(sig[32:], "little")
    for label, value in (("S + L", s + _curve.L), ("S + 2L", s + 2 * _curve.L),
                         ("S = L", _curve.L), ("S = 2^256 - 1", 2**256 - 1),
                         ("S = 0", 0), ("S = L - 1", _curve.L - 1)):
        if value < 2**256:
            cases.append(LabeledCheck(label, pk, msg, sig[:32] + value.to_bytes(32, "little")))
    high = bytearray(sig)
    high[63] |= 0xF0
    cases.append(LabeledCheck("S top nibble set", pk, msg, bytes(high)))
    return cases


def _encoding_cases(rng: random.Random, base: LabeledCheck) -> list[LabeledCheck]:
    pk, msg, sig = base.check
    cases = []
    for encoding in SMALL_ORDER_ENCODINGS:
        for sign in (0, 0x80):
            bad = encoding[:31] + bytes([encoding[31] | sign])
            cases.append(LabeledCheck("R of small order", pk, msg, bad + sig[32:]))
            cases.append(LabeledCheck("A of small order", bad, msg, sig))
    for offset in (0, 1, 2, 17, 18):
        y = _curve.P + offset
        for sign in (0, 1 << 255):
            bad_key = (y | sign).to_bytes(32, "little")
            cases.append(LabeledCheck("A not canonical (y >= p)", bad_key, msg, sig))
    off_curve = _off_curve_encoding(rng)
    cases.append(LabeledCheck("A not on the curve", off_curve, msg, sig))
    cases.append(LabeledCheck("R not on the curve", pk, msg, off_curve + sig[32:]))
    return cases


def _off_curve_encoding(rng: random.Random) -> bytes:
    while True:
        encoding = rng.randbytes(32)
        y = int.from_bytes(encoding, "little") & (2**255 - 1)
        if y < _curve.P and _curve.recover_x(y, 0) is None:
            return encoding


def _torsion_cases(rng: random.Random, base: LabeledCheck) -> list[LabeledCheck]:
    """R or A moved by a point of order 8: only a cofactored check would accept these."""
    pk, msg, sig = base.check
    torsion = _curve.torsion_points()
    r_point = _curve.decode(sig[:32])
    a_point = _curve.decode(pk)
    assert r_point is not None and a_point is not None
    cases = []
    for t in (torsion[1], torsion[4], torsion[rng.randrange(1, 8)]):
        moved_r = _curve.encode(_curve.add(r_point, t))
        cases.append(LabeledCheck("R plus a torsion point", pk, msg, moved_r + sig[32:]))
        moved_a = _curve.encode(_curve.add(a_point, t))
        cases.append(LabeledCheck("A plus a torsion point", moved_a, msg, sig))
    cases.append(_mixed_order_key_signature(rng))
    cases.extend(_small_order_equation_cases(rng))
    return cases


def _challenge(r_bytes: bytes, key: bytes, message: bytes) -> int:
    return int.from_bytes(hashlib.sha512(r_bytes + key + message).digest(), "little") % _curve.L


def _mixed_order_key_signature(rng: random.Random) -> LabeledCheck:
    """A key A' = aB + T (T of order 8) and a signature that holds cofactorless: libsodium
    accepts it (A' is neither small-order nor non-canonical and S*B - k*A' = R exactly)."""
    torsion = _curve.torsion_points()[1]
    a = rng.randrange(1, _curve.L)
    key = _curve.encode(_curve.add(_curve.multiply(a, _curve.BASE), torsion))
    message = rng.randbytes(rng.randrange(0, 80))
    while True:  # k T vanishes when 8 divides k: one nonce in eight
        r = rng.randrange(1, _curve.L)
        r_bytes = _curve.encode(_curve.multiply(r, _curve.BASE))
        k = _challenge(r_bytes, key, message)
        if k % 8 == 0:
            s = (r + k * a) % _curve.L
            return LabeledCheck("A of mixed order, equation holds", key, message,
                                r_bytes + s.to_bytes(32, "little"))


def _small_order_equation_cases(rng: random.Random) -> list[LabeledCheck]:
    """Signatures whose equation S*B - k*A = R holds although R or A has small order:
    only libsodium's small-order checks reject these, so they show whether those exist."""
    torsion = _curve.torsion_points()
    a = rng.randrange(1, _curve.L)
    key = _curve.encode(_curve.multiply(a, _curve.BASE))
    message = rng.randbytes(24)
    identity = _curve.encode(_curve.IDENTITY)
    k = _challenge(identity, key, message)  # S = k a makes S*B - k*A the identity
    cases = [LabeledCheck("R of small order, equation holds", key, message,
                          identity + (k * a % _curve.L).to_bytes(32, "little"))]
    mixed_key = _curve.encode(_curve.add(_curve.multiply(a, _curve.BASE), torsion[1]))
    while True:  # S = k a leaves -k T: equal to the chosen R one message in eight
        message = rng.randbytes(24)
        r_bytes = _curve.encode(torsion[3])
        k = _challenge(r_bytes, mixed_key, message)
        if _curve.encode(_curve.negate(_curve.multiply(k, torsion[1]))) == r_bytes:
            cases.append(LabeledCheck("R of small order, A mixed, equation holds", mixed_key,
                                      message, r_bytes + (k * a % _curve.L).to_bytes(32, "little")))
            break
    for label, small_key in (("A the identity, equation holds", identity),
                             ("A of order 8, equation holds", _curve.encode(torsion[1]))):
        while True:  # with S = r, S*B - k*A = R when k*A vanishes
            r = rng.randrange(1, _curve.L)
            r_bytes = _curve.encode(_curve.multiply(r, _curve.BASE))
            if small_key == identity or _challenge(r_bytes, small_key, message) % 8 == 0:
                cases.append(LabeledCheck(label, small_key, message,
                                          r_bytes + r.to_bytes(32, "little")))
                break
    return cases


def _length_cases(base: LabeledCheck) -> list[LabeledCheck]:
    pk, msg, sig = base.check
    return [
        LabeledCheck("signature too short", pk, msg, sig[:63]),
        LabeledCheck("signature too long", pk, msg, sig + b"\x00"),
        LabeledCheck("key too short", pk[:31], msg, sig),
        LabeledCheck("key too long", pk + b"\x00", msg, sig),
        LabeledCheck("empty signature", pk, msg, b""),
    ]


def edge_cases(rng: random.Random, *, include_lengths: bool = True) -> list[LabeledCheck]:
    """Valid signatures over every interesting message length, then each corruption."""
    cases = [random_valid(rng, length) for length in MESSAGE_LENGTHS]
    base = random_valid(rng, rng.randrange(1, 200))
    cases.extend(_field_corruptions(rng, base))
    cases.extend(_encoding_cases(rng, base))
    cases.extend(_torsion_cases(rng, base))
    other = _signing_key(rng)
    cases.append(LabeledCheck("another signer's key", bytes(other.verify_key), base.message,
                              base.signature))
    crafted = nacl.bindings.crypto_sign(base.message, bytes(other._signing_key))[:64]
    cases.append(LabeledCheck("valid under the other key", bytes(other.verify_key),
                              base.message, crafted))
    if include_lengths:
        cases.extend(_length_cases(base))
    return cases
