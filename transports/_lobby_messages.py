"""Lobby announcements: canonical msgpack encoding, strict decoding, Ed25519 signatures.

Wire form (a msgpack array, fixed order, so one announcement always has the same bytes):
``[version=2, kind, table_id, terms, free_seats, announcer, sequence, signature]`` with
``kind`` 0 (announce) or 1 (withdraw), ``table_id`` 16 bytes, ``terms`` the table's terms
as their wire array (`bitcraps.games.table_terms`: game, replicas, limits, seats, salt),
``announcer`` the signer's 32-byte Ed25519 key, ``sequence`` monotonic per announcer and
``signature`` 64 bytes over ``SIGNING_DOMAIN + packb(every field but the signature)``.

An announcement is accepted only if its terms derive its table id (so nobody can announce a
real table id with replicas of their choosing) and its announcer is one of those replicas.
`decode_announcement` returns such an announcement or raises `LobbyDecodeError`, on any
input, whose ``reason`` is the drop reason the lobby counts: ``invalid`` (malformed, bad
signature), ``wrong_terms`` (the terms derive another id) or ``not_a_replica``. Sizes are
checked before msgpack allocates, every field has an exact type, and no message quotes the
bytes it refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgpack
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from bitcraps.games.table_terms import MAX_TERMS_BYTES, TableTerms, TermsError, decode_terms

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

VERSION = 2
ANNOUNCE = 0
WITHDRAW = 1
SIGNING_DOMAIN = b"bitcraps/v1/lobby\x00"
TABLE_ID_BYTES = 16
KEY_BYTES = 32
SIGNATURE_BYTES = 64
MAX_REPLICAS = 64
MAX_U64 = (1 << 64) - 1
MAX_ANNOUNCEMENT_BYTES = 256 + MAX_TERMS_BYTES
_FIELDS = 8


class LobbyDecodeError(ValueError):
    """Bytes the lobby drops; `reason` is the drop reason counted for them."""

    def __init__(self, message: str, reason: str = "invalid") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Announcement:
    kind: int
    table_id: bytes
    terms: TableTerms
    free_seats: int
    announcer: bytes
    sequence: int
    signature: bytes = b""

    def __post_init__(self) -> None:
        _check(self.kind in (ANNOUNCE, WITHDRAW), "kind is 0 (announce) or 1 (withdraw)")
        _check(_is_bytes(self.table_id, TABLE_ID_BYTES), "table_id is 16 bytes")
        _check(type(self.terms) is TableTerms, "terms are a table's terms")
        for name in ("free_seats", "sequence"):
            value = getattr(self, name)
            _check(type(value) is int and 0 <= value <= MAX_U64, f"{name} is a u64")
        _check(_is_bytes(self.announcer, KEY_BYTES), "announcer is a 32-byte key")
        _check(type(self.signature) is bytes and len(self.signature) in (0, SIGNATURE_BYTES),
               "signature is 64 bytes")
        _check(self.terms.table_id == self.table_id,
               "the terms do not derive the table id", "wrong_terms")
        _check(self.announcer in self.terms.replicas,
               "the announcer is not one of the table's replicas", "not_a_replica")

    @property
    def game(self) -> bytes:
        return self.terms.game.encode("ascii")

    @property
    def replicas(self) -> tuple[bytes, ...]:
        return self.terms.replicas

    @property
    def min_bet(self) -> int:
        return self.terms.min_bet

    @property
    def max_bet(self) -> int:
        return self.terms.max_bet

    def unsigned_fields(self) -> list[Any]:
        return [VERSION, self.kind, self.table_id, self.terms.to_wire(), self.free_seats,
                self.announcer, self.sequence]

    def signing_bytes(self) -> bytes:
        return SIGNING_DOMAIN + _packb(self.unsigned_fields())

    def encode(self) -> bytes:
        if len(self.signature) != SIGNATURE_BYTES:
            raise ValueError("sign the announcement before encoding it")
        return _packb([*self.unsigned_fields(), self.signature])

    def to_json(self) -> dict[str, Any]:
        return {"kind": "withdraw" if self.kind == WITHDRAW else "announce",
                "table_id": self.table_id.hex(), "game": self.terms.game,
                "replicas": [r.hex() for r in self.replicas],
                "limits": {"min_bet": self.min_bet, "max_bet": self.max_bet},
                "seats": self.terms.seats, "salt": self.terms.salt.hex(),
                "terms": self.terms.encode().hex(),
                "free_seats": self.free_seats, "announcer": self.announcer.hex(),
                "sequence": self.sequence}


def _check(condition: bool, message: str, reason: str = "invalid") -> None:
    if not condition:
        raise LobbyDecodeError(message, reason)


def _is_bytes(value: object, size: int) -> bool:
    return type(value) is bytes and len(value) == size


def _packb(value: Any) -> bytes:
    packed: bytes = msgpack.packb(value, use_bin_type=True)
    return packed


def sign_announcement(announcement: Announcement, sign: Callable[[bytes], bytes]) -> Announcement:
    """The same announcement carrying `sign(signing_bytes)` (the announcer's key signs)."""
    signature = bytes(sign(announcement.signing_bytes()))
    a = announcement
    return Announcement(a.kind, a.table_id, a.terms, a.free_seats, a.announcer, a.sequence,
                        signature)


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


def _terms(wire: object) -> TableTerms:
    _check(type(wire) is list, "terms are an array")
    try:
        return decode_terms(_packb(wire))
    except (TermsError, ValueError, TypeError, OverflowError):
        raise LobbyDecodeError("the table's terms are not well formed") from None


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
    version, kind, table_id, terms, free_seats, announcer, seq, sig = fields
    _check(type(version) is int and version == VERSION, f"version is {VERSION}")
    _check(type(kind) is int, "kind is an int")
    _check(type(sig) is bytes and len(sig) == SIGNATURE_BYTES, "signature is 64 bytes")
    announcement = Announcement(kind, table_id, _terms(terms), free_seats, announcer, seq, sig)
    if _packb(fields) != data:
        raise LobbyDecodeError("not the canonical encoding")
    if verify and not verify_announcement(announcement):
        raise LobbyDecodeError("bad signature")
    return announcement
