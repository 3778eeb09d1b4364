"""The group the threshold coin lives in: Ed25519's subgroup of prime order L.

Scalars are plain Python integers modulo L. Points are their 32-byte canonical Ed25519
encodings (libsodium's), so a point is already its own wire encoding. Point arithmetic is
injected as a `Group` (accel's libsodium implementation in the node and in tests), which
keeps this package free of native code.

`IDENTITY` is the group's neutral element. It is never accepted from the wire
(`is_valid_point` says no to it, as libsodium does), but arithmetic is total: `add`, `sub`
and `mul` take and may return it, so sums of adversarial points never crash a replica.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ._coin_hash import tagged_hash

ORDER = 2**252 + 27742317777372353535851937790883648493
POINT_BYTES = 32
SCALAR_BYTES = 32
UNIFORM_BYTES = 64
IDENTITY = b"\x01" + bytes(31)
BASE = b"\x58" + b"\x66" * 31


class Group(Protocol):
    """Ed25519's prime-order subgroup. Each method raises GroupError on a point argument that
    is neither IDENTITY nor a valid point; scalars are reduced modulo ORDER."""

    def is_valid_point(self, point: bytes) -> bool:
        """Canonical 32-byte encoding of a point in the prime-order subgroup, not IDENTITY."""
        ...

    def add(self, p: bytes, q: bytes) -> bytes: ...

    def sub(self, p: bytes, q: bytes) -> bytes: ...

    def mul(self, scalar: int, point: bytes) -> bytes: ...

    def base_mul(self, scalar: int) -> bytes: ...

    def map_to_point(self, uniform: bytes) -> bytes:
        """UNIFORM_BYTES uniformly random bytes to a point whose discrete log no one knows.

        Raises GroupError in the (probability about 2**-250) case that the result is IDENTITY.
        """
        ...


def scalar_bytes(scalar: int) -> bytes:
    """The canonical 32-byte little-endian encoding of a scalar in [0, ORDER)."""
    if type(scalar) is not int or not 0 <= scalar < ORDER:
        raise ValueError("a scalar must be an integer in [0, ORDER)")
    return scalar.to_bytes(SCALAR_BYTES, "little")


def parse_scalar(data: bytes) -> int | None:
    """The scalar a canonical encoding holds, or None for any other bytes."""
    if len(data) != SCALAR_BYTES:
        return None
    value = int.from_bytes(data, "little")
    return value if value < ORDER else None


def hash_to_scalar(domain: bytes, *parts: bytes) -> int:
    """A scalar from 512 hashed bits reduced modulo ORDER (bias below 2**-259)."""
    return int.from_bytes(tagged_hash(domain, *parts), "little") % ORDER


def hash_to_point(group: Group, domain: bytes, *parts: bytes) -> bytes:
    """Hash onto the group: SHA-512 of the tagged input, mapped by `group.map_to_point`."""
    return group.map_to_point(tagged_hash(domain, *parts))


def sum_points(group: Group, points: Sequence[bytes]) -> bytes:
    total = IDENTITY
    for point in points:
        total = group.add(total, point)
    return total
