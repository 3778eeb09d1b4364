"""What a table keeps of each roll so anyone can check it later: the shares, seed and dice."""

from __future__ import annotations

from dataclasses import dataclass

from ._coin_errors import WireDecodeError
from ._coin_key import MAX_REPLICAS
from ._coin_share import MAX_ROLL, CoinShare, coin_share_from_wire
from ._coin_threshold import SEED_BYTES
from ._coin_wire import (
    FORMAT_VERSION,
    TYPE_ROLL_RECORD,
    open_record,
    pack,
    unpack,
    want_bytes,
    want_list,
    want_uint,
)
from ._dice import FACES


@dataclass(frozen=True, slots=True)
class RollRecord:
    roll: int
    shares: tuple[CoinShare, ...]
    seed: bytes
    dice: tuple[int, int]

    def __post_init__(self) -> None:
        if type(self.roll) is not int or not 0 <= self.roll <= MAX_ROLL:
            raise ValueError("RollRecord.roll must be an unsigned 64-bit integer")
        if type(self.shares) is not tuple or not 1 <= len(self.shares) <= MAX_REPLICAS:
            raise ValueError(f"RollRecord.shares must be a tuple of 1..{MAX_REPLICAS} shares")
        if not all(isinstance(share, CoinShare) for share in self.shares):
            raise ValueError("RollRecord.shares must hold CoinShare values")
        if type(self.seed) is not bytes or len(self.seed) != SEED_BYTES:
            raise ValueError(f"RollRecord.seed must be {SEED_BYTES} bytes")
        if type(self.dice) is not tuple or len(self.dice) != 2 or not all(
            type(face) is int and 1 <= face <= FACES for face in self.dice
        ):
            raise ValueError("RollRecord.dice must be two faces in 1..6")


def encode_roll_record(record: RollRecord) -> bytes:
    return pack([FORMAT_VERSION, TYPE_ROLL_RECORD, record.roll,
                 [share.to_wire() for share in record.shares], record.seed, list(record.dice)])


def decode_roll_record(data: bytes) -> RollRecord:
    """Strict decoding: a RollRecord or WireDecodeError. Checking it is `verify_roll`'s job."""
    obj = unpack(data, max_depth=3, max_arrays=3 + MAX_REPLICAS)
    roll, shares, seed, dice = open_record(obj, TYPE_ROLL_RECORD, 4, "RollRecord")
    faces = want_list(dice, "RollRecord.dice", 2)
    if len(faces) != 2:
        raise WireDecodeError("RollRecord.dice: expected two faces")
    pair = (want_uint(faces[0], "RollRecord.dice", FACES),
            want_uint(faces[1], "RollRecord.dice", FACES))
    try:
        return RollRecord(
            want_uint(roll, "RollRecord.roll", MAX_ROLL),
            tuple(coin_share_from_wire(s) for s in want_list(shares, "RollRecord.shares",
                                                             MAX_REPLICAS)),
            want_bytes(seed, "RollRecord.seed", SEED_BYTES),
            pair,
        )
    except ValueError as exc:
        raise WireDecodeError(str(exc)) from None
