"""Lobby announcements: canonical msgpack encoding, strict decoding, Ed25519 signatures.

Wire form (a msgpack array, fixed order, so one announcement always has the same bytes):
``[version=1, kind, table_id, game, replicas, [min_bet, max_bet], free_seats, announcer,
sequence, signature]`` with ``kind`` 0 (announce) or 1 (withdraw), ``table_id`` 16 bytes,
``game`` bytes, ``replicas`` a list of 32-byte keys, ``announcer`` the signer's 32-byte
Ed25519 key, ``sequence`` monotonic per announcer and ``signature`` 64 bytes over
``SIGNING_DOMAIN + packb(every field but the signature)``.

`decode_announcement` returns an announcement or raises `LobbyDecodeError`, on any input:
sizes are checked before msgpack allocates, and every field has an exact type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgpack
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

__all__ = [
    "ANNOUNCE",
    "MAX_ANNOUNCEMENT_BYTES",
    "SIGNING_DOMAIN",
    "VERSION",
    "WITHDRAW",
    "Announcement",
    "LobbyDecodeError",
    "decode_announcement",
    "sign_announcement",
    "verify_announcement",
]

VERSION = 1
ANNOUNCE = 0
WITHDRAW = 1
SIGNING_DOMAIN = b"bitcraps/v1/lobby\x00"
TABLE_ID_BYTES = 16
KEY_BYTES = 32
SIGNATURE_BYTES = 64
MAX_GAME_BYTES = 64
MAX_REPLICAS = 64
MAX_U64 = (1 << 64) - 1
MAX_ANNOUNCEMENT_BYTES = 256 + MAX_GAME_BYTES + MAX_REPLICAS * (KEY_BYTES + 2)
_FIELDS = 10


class LobbyDecodeError(ValueError):
    """The bytes are not a well-formed lobby announcement (or its signature is wrong)."""


@dataclass(frozen=True, slots=True)
class Announcement:
    kind: int
    table_id: bytes
    game: bytes
    replicas: tuple[bytes, ...]
    min_bet: int
    max_bet: int
    free_seats: int
    announcer: bytes
    sequence: int
    signature: bytes = b""

    def __post_init__(self) -> None:
        _check(self.kind in (ANNOUNCE, WITHDRAW), "kind is 0 (announce) or 1 (withdraw)")
        _check(_is_bytes(self.table_id, TABLE_ID_BYTES), "table_id is 16 bytes")
        _check(type(self.game) is bytes and 0 < len(self.game) <= MAX_GAME_BYTES,
               f"game is 1..{MAX_GAME_BYTES} bytes")
        _check(type(self.replicas) is tuple and len(self.replicas) <= MAX_REPLICAS
               and all(_is_bytes(r, KEY_BYTES) for r in self.replicas),
               f"replicas is at most {MAX_REPLICAS} 32-byte keys")
        for name in ("min_bet", "max_bet", "free_seats", "sequence"):
            value = getattr(self, name)
            _check(type(value) is int and 0 <= value <= MAX_U64, f"{name} is a u64")
        _check(self.min_bet <= self.max_bet, "min_bet <= max_bet")
        _check(_is_bytes(self.announcer, KEY_BYTES), "announcer is a 32-byte key")
        _check(type(self.signature) is bytes and len(self.signature) in (0, SIGNATURE_BYTES),
               "signature is 64 bytes")

    def unsigned_fields(self) -> list[Any]:
        return [VERSION, self.kind, self.table_id, self.game, list(self.replicas),
                [self.min_bet, self.max_bet], self.free_seats, self.announcer, self.sequence]

    def signing_bytes(self) -> bytes:
        return SIGNING_DOMAIN + _packb(self.unsigned_fields())

    def encode(self) -> bytes:
        if len(self.signature) != SIGNATURE_BYTES:
            raise ValueError("sign the announcement before encoding it")
        return _packb([*self.unsigned_fields(), self.signature])

    def to_json(self) -> dict[str, Any]:
        return {"kind": "withdraw" if self.kind == WITHDRAW else "announce",
                "table_id": self.table_id.hex(), "game": self.game.decode("utf-8", "replace"),
                "replicas": [r.hex() for r in self.replicas],
                "limits": {"min_bet": self.min_bet, "max_bet": self.max_bet},
                "free_seats": self.free_seats, "announcer": self.announcer.hex(),
                "sequence": self.sequence}


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise LobbyDecodeError(message)


def _is_bytes(value: object, size: int) -> bool:
    return type(value) is bytes and len(value) == size


def _packb(value: Any) -> bytes:
    packed: bytes = msgpack.packb(value, use_bin_type=True)
    return packed


def sign_announcement(announcement: Announcement, sign: Callable[[bytes], bytes]) -> Announcement:
    """The same announcement carrying `sign(signing_bytes)` (the announcer's key signs)."""
    signature = bytes(sign(announcement.signing_bytes()))
    a = announcement
    return Announcement(a.kind, a.table_id, a.game, a.replicas, a.min_bet, a.max_bet,
                        a.free_seats, a.announcer, a.sequence, signature)


def verify_announcement(announcement: Announcement) -> bool:
    """Whether the signature is the announcer's over the announcement (libsodium's rules)."""
    if len(announcement.signature) != SIGNATURE_BYTES:
        return False
    try:
        VerifyKey(announcement.announcer).verify(announcement.signing_bytes(),
                                                 announcement.signature)
    except (BadSignatureError, ValueError, TypeError):
        return False
    return True


def decode_announcement(data: bytes, *, verify: bool = True) -> Announcement:
    """Strictly decode (and by default verify) one announcement; `LobbyDecodeError` else."""
    if type(data) is not bytes or len(data) > MAX_ANNOUNCEMENT_BYTES:
        raise LobbyDecodeError(f"an announcement is bytes of at most {MAX_ANNOUNCEMENT_BYTES}")
    try:
        fields = msgpack.unpackb(
            data, raw=False, use_list=True, strict_map_key=True,
            max_bin_len=MAX_ANNOUNCEMENT_BYTES, max_str_len=0, max_array_len=MAX_REPLICAS,
            max_map_len=0, max_ext_len=0)
    except Exception as exc:  # msgpack raises many types on bad input
        raise LobbyDecodeError(f"not msgpack: {type(exc).__name__}") from None
    _check(type(fields) is list and len(fields) == _FIELDS, f"an array of {_FIELDS} fields")
    version, kind, table_id, game, replicas, limits, free_seats, announcer, seq, sig = fields
    _check(type(version) is int and version == VERSION, f"version is {VERSION}")
    _check(type(kind) is int, "kind is an int")
    _check(type(replicas) is list, "replicas is an array")
    _check(type(limits) is list and len(limits) == 2, "limits is [min_bet, max_bet]")
    announcement = Announcement(kind, table_id, game, tuple(replicas), limits[0], limits[1],
                                free_seats, announcer, seq, sig)
    _check(len(sig) == SIGNATURE_BYTES, "signature is 64 bytes")
    if _packb(fields) != data:
        raise LobbyDecodeError("not the canonical encoding")
    if verify and not verify_announcement(announcement):
        raise LobbyDecodeError("bad signature")
    return announcement
