"""A table's terms, and the table id that commits to them.

The terms are what every replica of a table must agree on: the game, the replicas' Ed25519
keys in order, the rule parameters (bet limits, seats, and any further named parameter) and a
random salt the table's creator draws so that two tables with the same terms get different
ids. Addresses are not terms: they change while the table lives.

    table_id = SHA-256(TABLE_ID_DOMAIN || encode_terms(terms))[:16]

so a table id alone pins its replicas and rules. Whoever holds a table id can check, offline,
anything that carries the terms: a charter, a lobby announcement, a cash-out receipt, a
statement of the dice key signed by the table's replicas.

Wire form (canonical msgpack, one encoding per value; `decode_terms` is strict and bounded)::

    [version=1, game, [replica key, ...], min_bet, max_bet, seats, [[name, value], ...], salt]

``game`` is bytes (ASCII name), keys are 32 bytes, integers are u64, the parameters are sorted
by name with distinct names, and ``salt`` is 16 bytes. Pure: no clock, randomness or I/O; the
creator passes its salt in.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import msgpack

__all__ = [
    "SALT_BYTES",
    "SHOOTER_TIMEOUT_PARAM",
    "TABLE_ID_BYTES",
    "TABLE_ID_DOMAIN",
    "TableTerms",
    "TermsError",
    "decode_terms",
    "table_id_of",
]

VERSION = 1
TABLE_ID_DOMAIN = b"bitcraps/v1/table-id\x00"
TABLE_ID_BYTES = 16
SALT_BYTES = 16
KEY_BYTES = 32
MAX_GAME_CHARS = 32
MAX_REPLICAS = 64
MAX_PARAMS = 16
MAX_PARAM_NAME_CHARS = 32
MAX_U64 = (1 << 64) - 1
MAX_TERMS_BYTES = 64 + MAX_GAME_CHARS + MAX_REPLICAS * (KEY_BYTES + 2) \
    + MAX_PARAMS * (MAX_PARAM_NAME_CHARS + 12) + SALT_BYTES
_FIELDS = 8
# The named parameter a craps table's shooter timeout is carried in (ticks of the consensus
# tick); absent, the game's default applies.
SHOOTER_TIMEOUT_PARAM = "shooter_timeout_ticks"


class TermsError(ValueError):
    """Not well-formed table terms; the message never quotes the offending value."""


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise TermsError(message)


def _is_name(value: object, limit: int) -> bool:
    return (type(value) is str and 0 < len(value) <= limit and value.isascii()
            and value.isprintable())


def _is_u64(value: object) -> bool:
    return type(value) is int and 0 <= value <= MAX_U64


@dataclass(frozen=True, slots=True)
class TableTerms:
    """What a table's replicas agree on; `table_id` is derived from it."""

    game: str
    replicas: tuple[bytes, ...]
    min_bet: int
    max_bet: int
    seats: int
    salt: bytes
    params: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        _check(_is_name(self.game, MAX_GAME_CHARS),
               f"game is a printable ASCII name of 1..{MAX_GAME_CHARS} characters")
        _check(type(self.replicas) is tuple and 0 < len(self.replicas) <= MAX_REPLICAS
               and all(type(r) is bytes and len(r) == KEY_BYTES for r in self.replicas),
               f"replicas is 1..{MAX_REPLICAS} 32-byte keys")
        _check(len(set(self.replicas)) == len(self.replicas), "replica keys are distinct")
        for name in ("min_bet", "max_bet", "seats"):
            _check(_is_u64(getattr(self, name)), f"{name} is a u64")
        _check(self.min_bet <= self.max_bet, "min_bet is at most max_bet")
        _check(type(self.salt) is bytes and len(self.salt) == SALT_BYTES,
               f"salt is {SALT_BYTES} bytes")
        _check(type(self.params) is tuple and len(self.params) <= MAX_PARAMS
               and all(type(p) is tuple and len(p) == 2 and _is_name(p[0], MAX_PARAM_NAME_CHARS)
                       and _is_u64(p[1]) for p in self.params),
               f"params is at most {MAX_PARAMS} (name, u64) pairs")
        names = [name for name, _ in self.params]
        _check(names == sorted(set(names)), "params are sorted by name, each name once")

    def to_wire(self) -> list[Any]:
        return [VERSION, self.game.encode("ascii"), list(self.replicas), self.min_bet,
                self.max_bet, self.seats, [[n.encode("ascii"), v] for n, v in self.params],
                self.salt]

    def encode(self) -> bytes:
        return _packb(self.to_wire())

    @property
    def table_id(self) -> bytes:
        return table_id_of(self)

    @property
    def n(self) -> int:
        return len(self.replicas)

    @property
    def f(self) -> int:
        """Faults tolerated: n = 3f+1 (or more) replicas tolerate f."""
        return (len(self.replicas) - 1) // 3

    def param(self, name: str, default: int) -> int:
        return dict(self.params).get(name, default)


def table_id_of(terms: TableTerms) -> bytes:
    """The 16-byte table id that commits to `terms`."""
    return hashlib.sha256(TABLE_ID_DOMAIN + terms.encode()).digest()[:TABLE_ID_BYTES]


def _packb(value: Any) -> bytes:
    return bytes(msgpack.packb(value, use_bin_type=True))


def decode_terms(data: object) -> TableTerms:
    """Terms from their canonical bytes; `TermsError` on anything else, whatever the input."""
    _check(type(data) is bytes and 0 < len(data) <= MAX_TERMS_BYTES,
           f"terms are 1..{MAX_TERMS_BYTES} bytes")
    assert isinstance(data, bytes)
    try:
        fields = msgpack.unpackb(data, raw=True, use_list=True, max_bin_len=MAX_TERMS_BYTES,
                                 max_str_len=0, max_array_len=MAX_REPLICAS, max_map_len=0,
                                 max_ext_len=0)
    except Exception as exc:  # msgpack raises many types; each means malformed input
        raise TermsError(f"terms are not msgpack: {type(exc).__name__}") from None
    _check(type(fields) is list and len(fields) == _FIELDS, f"terms are an array of {_FIELDS}")
    version, game, replicas, min_bet, max_bet, seats, params, salt = fields
    _check(type(version) is int and version == VERSION, f"terms version is {VERSION}")
    _check(type(game) is bytes and 0 < len(game) <= MAX_GAME_CHARS and game.isascii(),
           "game is an ASCII name")
    _check(type(replicas) is list, "replicas is an array")
    _check(type(params) is list and len(params) <= MAX_PARAMS
           and all(type(p) is list and len(p) == 2 and type(p[0]) is bytes
                   and 0 < len(p[0]) <= MAX_PARAM_NAME_CHARS and p[0].isascii()
                   for p in params), "params is an array of [name, value]")
    terms = TableTerms(game.decode("ascii"), tuple(replicas), min_bet, max_bet, seats, salt,
                       tuple((p[0].decode("ascii"), p[1]) for p in params))
    _check(terms.encode() == data, "terms are not in their canonical encoding")
    return terms
