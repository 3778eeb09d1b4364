"""A replica's coin share for one roll: S_i = x_i * H(table, roll), with its DLEQ proof."""

from __future__ import annotations

from dataclasses import dataclass

from ._coin_group import POINT_BYTES
from ._coin_key import MAX_REPLICAS
from ._coin_proof import PROOF_BYTES
from ._coin_wire import (
    FORMAT_VERSION,
    TYPE_COIN_SHARE,
    open_record,
    pack,
    unpack,
    want_bytes,
    want_uint,
)

MAX_ROLL = 2**64 - 1


@dataclass(frozen=True, slots=True)
class CoinShare:
    replica: int
    roll: int
    share: bytes
    proof: bytes

    def __post_init__(self) -> None:
        if type(self.replica) is not int or not 0 <= self.replica < MAX_REPLICAS:
            raise ValueError(f"CoinShare.replica must be in [0, {MAX_REPLICAS})")
        if type(self.roll) is not int or not 0 <= self.roll <= MAX_ROLL:
            raise ValueError("CoinShare.roll must be an unsigned 64-bit integer")
        if type(self.share) is not bytes or len(self.share) != POINT_BYTES:
            raise ValueError(f"CoinShare.share must be {POINT_BYTES} bytes")
        if type(self.proof) is not bytes or len(self.proof) != PROOF_BYTES:
            raise ValueError(f"CoinShare.proof must be {PROOF_BYTES} bytes")

    def to_wire(self) -> list[object]:
        return [FORMAT_VERSION, TYPE_COIN_SHARE, self.replica, self.roll, self.share, self.proof]


def coin_share_from_wire(obj: object) -> CoinShare:
    replica, roll, share, proof = open_record(obj, TYPE_COIN_SHARE, 4, "CoinShare")
    return CoinShare(
        want_uint(replica, "CoinShare.replica", MAX_REPLICAS - 1),
        want_uint(roll, "CoinShare.roll", MAX_ROLL),
        want_bytes(share, "CoinShare.share", POINT_BYTES),
        want_bytes(proof, "CoinShare.proof", PROOF_BYTES),
    )


def encode_coin_share(share: CoinShare) -> bytes:
    return pack(share.to_wire())


def decode_coin_share(data: bytes) -> CoinShare:
    """Strict decoding: a CoinShare or WireDecodeError. Validity needs `verify_coin_share`."""
    return coin_share_from_wire(unpack(data, max_bytes=256, max_depth=1, max_arrays=1))

