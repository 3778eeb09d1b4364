"""A table's threshold key: the public outcome of its DKG, all a verifier needs.

`public_shares[i]` is replica i's public key share X_i = x_i * G, or None when replica i
holds no share (its DKG key came too late to receive any). Any `threshold` valid coin
shares determine the coin; fewer determine nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._coin_errors import WireDecodeError
from ._coin_group import IDENTITY, POINT_BYTES, Group
from ._coin_wire import (
    FORMAT_VERSION,
    TYPE_THRESHOLD_KEY,
    open_record,
    pack,
    unpack,
    want_bytes,
    want_bytes_between,
    want_list,
    want_uint,
)

MAX_REPLICAS = 64
MAX_TABLE_ID_BYTES = 64
NO_SHARE = b""


def check_table_id(table_id: bytes) -> None:
    if type(table_id) is not bytes or not 1 <= len(table_id) <= MAX_TABLE_ID_BYTES:
        raise ValueError(f"a table id is 1..{MAX_TABLE_ID_BYTES} bytes")


@dataclass(frozen=True, slots=True)
class ThresholdKey:
    table_id: bytes
    threshold: int
    dealers: tuple[int, ...]
    group_key: bytes
    public_shares: tuple[bytes | None, ...]

    def __post_init__(self) -> None:
        check_table_id(self.table_id)
        n = len(self.public_shares)
        if type(self.public_shares) is not tuple or not 1 <= n <= MAX_REPLICAS:
            raise ValueError(f"public_shares must be a tuple of 1..{MAX_REPLICAS} entries")
        if type(self.threshold) is not int or not 1 <= self.threshold <= n:
            raise ValueError(f"threshold must be in [1, {n}]")
        if type(self.dealers) is not tuple or not self.dealers:
            raise ValueError("a key has at least one qualified dealer")
        if list(self.dealers) != sorted(set(self.dealers)) or not all(
            type(d) is int and 0 <= d < n for d in self.dealers
        ):
            raise ValueError("dealers must be distinct replica indices in ascending order")
        if type(self.group_key) is not bytes or len(self.group_key) != POINT_BYTES:
            raise ValueError("group_key must be a 32-byte point")
        for share in self.public_shares:
            if share is not None and (type(share) is not bytes or len(share) != POINT_BYTES):
                raise ValueError("each public share is a 32-byte point or None")
        if len(self.holders) < self.threshold:
            raise ValueError("fewer share holders than the threshold: no coin could be made")

    @property
    def replicas(self) -> int:
        return len(self.public_shares)

    @property
    def holders(self) -> tuple[int, ...]:
        """The replicas that hold a key share."""
        return tuple(i for i, share in enumerate(self.public_shares) if share is not None)

    def check_points(self, group: Group) -> None:
        """Raise ValueError unless every point is a group element (IDENTITY allowed)."""
        for name, point in [("group_key", self.group_key)] + [
            (f"public_shares[{i}]", share)
            for i, share in enumerate(self.public_shares)
            if share is not None
        ]:
            if point != IDENTITY and not group.is_valid_point(point):
                raise ValueError(f"{name} is not a point of the prime-order group")


def encode_threshold_key(key: ThresholdKey) -> bytes:
    shares = [NO_SHARE if share is None else share for share in key.public_shares]
    return pack([FORMAT_VERSION, TYPE_THRESHOLD_KEY, key.table_id, key.threshold,
                 list(key.dealers), key.group_key, shares])


def threshold_key_from_wire(obj: object, group: Group) -> ThresholdKey:
    table_id, threshold, dealers, group_key, shares = open_record(
        obj, TYPE_THRESHOLD_KEY, 5, "ThresholdKey"
    )
    table_id = want_bytes_between(table_id, "ThresholdKey.table_id", 1, MAX_TABLE_ID_BYTES)
    threshold = want_uint(threshold, "ThresholdKey.threshold", MAX_REPLICAS)
    dealer_list = want_list(dealers, "ThresholdKey.dealers", MAX_REPLICAS)
    dealer_ids = tuple(want_uint(d, "ThresholdKey.dealers", MAX_REPLICAS) for d in dealer_list)
    group_key = want_bytes(group_key, "ThresholdKey.group_key", POINT_BYTES)
    public_shares = tuple(
        None if share == NO_SHARE else want_bytes(share, "ThresholdKey.public_shares", POINT_BYTES)
        for share in want_list(shares, "ThresholdKey.public_shares", MAX_REPLICAS)
    )
    try:
        key = ThresholdKey(table_id, threshold, dealer_ids, group_key, public_shares)
        key.check_points(group)
    except ValueError as exc:
        raise WireDecodeError(f"ThresholdKey: {exc}") from None
    return key


def decode_threshold_key(data: bytes, group: Group) -> ThresholdKey:
    """Strict decoding; the points are checked to be group elements."""
    return threshold_key_from_wire(unpack(data, max_depth=2, max_arrays=3), group)
