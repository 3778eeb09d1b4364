"""Table formation messages: a table's charter and the host protocol's requests and replies.

A charter names a table's terms (game, replicas' keys in order, limits, seats, the named
parameters such as the shooter's timeout, and the creator's salt:
`bitcraps.games.table_terms`), where each replica listens, and is signed by the
node that formed the table. Its table id must be the one its terms derive: a charter that
names a table id with other replicas or rules is refused. Every replica keeps it in its data
dir and reopens the table from it after a restart. Encodings are canonical msgpack arrays;
decoding is strict (bounded, exact types, canonical bytes) and raises `CharterError` on
anything else, with a message that never quotes the bytes it refused.

A charter is ``[version, table_id, game, [replica, ...], [[multiaddr, ...], ...],
[min_bet, max_bet], seats, salt, creator, (params,) signature]``: version 2 has no
``params`` and is what a charter without parameters is always written as (so charters signed
before parameters existed still verify, and each charter has one encoding); version 3 carries
``params`` as ``[[name, value], ...]``, sorted by name, at least one.

Host protocol (`HOST_PROTOCOL`), one request per stream::

    [OFFER, salt, game]            -> [ok, reason, [multiaddr, ...]]   will you host it?
    [CHARTER, charter bytes]       -> [ok, reason, []]                 open it
    [RELEASE, salt]                -> [ok, reason, []]                 forget the offer

An offer is named by the salt of the table it proposes (the table id derives from the
replicas, which are known only once enough peers said yes); the charter carries that salt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgpack
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from bitcraps.games.table_terms import TableTerms, TermsError

__all__ = [
    "CHARTER",
    "HOST_PROTOCOL",
    "OFFER",
    "RELEASE",
    "Charter",
    "CharterError",
    "HostReply",
    "HostRequest",
    "decode_charter",
    "decode_reply",
    "decode_request",
    "sign_charter",
]

HOST_PROTOCOL = "/bitcraps/host/1.0.0"
SIGNING_DOMAIN = b"bitcraps/v1/charter\x00"
VERSION = 2
PARAMS_VERSION = 3
OFFER, CHARTER, RELEASE = 0, 1, 2
TABLE_ID_BYTES = 16
KEY_BYTES = 32
SIGNATURE_BYTES = 64
MAX_GAME_CHARS = 32
MAX_REPLICAS = 64
MAX_ADDRESSES = 8
MAX_ADDRESS_CHARS = 256
MAX_REASON_CHARS = 512
MAX_U64 = (1 << 64) - 1
MAX_PARAMS = 16
MAX_MESSAGE_BYTES = 64 * 1024


class CharterError(ValueError):
    """Bytes that are not a well-formed, correctly signed charter or host message."""


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise CharterError(message)


def _is_bytes(value: object, size: int) -> bool:
    return type(value) is bytes and len(value) == size


def _is_addresses(value: object) -> bool:
    return (type(value) is tuple and len(value) <= MAX_ADDRESSES
            and all(type(a) is str and 0 < len(a) <= MAX_ADDRESS_CHARS for a in value))


def _packb(value: Any) -> bytes:
    packed: bytes = msgpack.packb(value, use_bin_type=True)
    return packed


def _unpack(data: bytes, what: str) -> Any:
    if type(data) is not bytes or len(data) > MAX_MESSAGE_BYTES:
        raise CharterError(f"{what} is bytes of at most {MAX_MESSAGE_BYTES}")
    try:
        value = msgpack.unpackb(data, raw=False, use_list=True, strict_map_key=True,
                                max_bin_len=MAX_MESSAGE_BYTES, max_str_len=MAX_REASON_CHARS,
                                max_array_len=max(MAX_REPLICAS, 16), max_map_len=0,
                                max_ext_len=0)
    except Exception as exc:  # msgpack raises many types on bad input
        raise CharterError(f"{what} is not msgpack: {type(exc).__name__}") from None
    if _packb(value) != data:
        raise CharterError(f"{what} is not in its canonical encoding")
    return value


@dataclass(frozen=True, slots=True)
class Charter:
    """A table's membership and limits, signed by its `creator` (one of the replicas)."""

    table_id: bytes
    game: str
    replicas: tuple[bytes, ...]
    addresses: tuple[tuple[str, ...], ...]
    min_bet: int
    max_bet: int
    seats: int
    salt: bytes
    creator: bytes
    signature: bytes = b""
    params: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        _check(_is_bytes(self.table_id, TABLE_ID_BYTES), "table_id is 16 bytes")
        _check(type(self.game) is str and 0 < len(self.game) <= MAX_GAME_CHARS,
               f"game is a name of 1..{MAX_GAME_CHARS} characters")
        _check(type(self.replicas) is tuple and 0 < len(self.replicas) <= MAX_REPLICAS
               and all(_is_bytes(r, KEY_BYTES) for r in self.replicas),
               f"replicas is 1..{MAX_REPLICAS} 32-byte keys")
        _check(len(set(self.replicas)) == len(self.replicas), "replica keys are distinct")
        _check(type(self.addresses) is tuple and len(self.addresses) == len(self.replicas)
               and all(_is_addresses(a) for a in self.addresses),
               f"addresses holds up to {MAX_ADDRESSES} multiaddrs per replica")
        for name in ("min_bet", "max_bet", "seats"):
            value = getattr(self, name)
            _check(type(value) is int and 0 <= value <= MAX_U64, f"{name} is a u64")
        _check(self.min_bet <= self.max_bet, "min_bet <= max_bet")
        _check(self.creator in self.replicas, "the creator is one of the replicas")
        _check(_is_bytes(self.salt, TABLE_ID_BYTES), "salt is 16 bytes")
        try:
            derived = self.terms.table_id
        except TermsError as exc:
            raise CharterError(f"the charter's terms: {exc}") from None
        _check(derived == self.table_id, "the table id is not the one the charter's terms "
               "(game, replicas, limits, seats, params, salt) derive")
        _check(type(self.signature) is bytes and len(self.signature) in (0, SIGNATURE_BYTES),
               "signature is 64 bytes")

    @property
    def terms(self) -> TableTerms:
        return TableTerms(self.game, self.replicas, self.min_bet, self.max_bet, self.seats,
                          self.salt, self.params)

    def _unsigned(self) -> list[Any]:
        params = [[[name, value] for name, value in self.params]] if self.params else []
        return [PARAMS_VERSION if self.params else VERSION, self.table_id, self.game,
                list(self.replicas), [list(a) for a in self.addresses],
                [self.min_bet, self.max_bet], self.seats, self.salt, self.creator, *params]

    def signing_bytes(self) -> bytes:
        return SIGNING_DOMAIN + _packb(self._unsigned())

    def encode(self) -> bytes:
        _check(len(self.signature) == SIGNATURE_BYTES, "sign the charter before encoding it")
        return _packb([*self._unsigned(), self.signature])

    def address_book(self) -> dict[bytes, tuple[str, ...]]:
        return dict(zip(self.replicas, self.addresses, strict=True))


def sign_charter(charter: Charter, sign: Callable[[bytes], bytes]) -> Charter:
    c = charter
    return Charter(c.table_id, c.game, c.replicas, c.addresses, c.min_bet, c.max_bet, c.seats,
                   c.salt, c.creator, bytes(sign(c.signing_bytes())), c.params)


def decode_charter(data: bytes) -> Charter:
    """A charter from its bytes, its creator's signature checked; `CharterError` else."""
    fields = _unpack(data, "a charter")
    version = fields[0] if type(fields) is list and fields else None
    _check(type(version) is int and version in (VERSION, PARAMS_VERSION),
           f"charter version is {VERSION} or {PARAMS_VERSION}")
    size = 10 if version == VERSION else 11
    _check(len(fields) == size, f"a version {version} charter is an array of {size} fields")
    table_id, game, replicas, addresses, limits, seats, salt, creator = fields[1:9]
    params = _charter_params(fields[9]) if size == 11 else ()
    signature = fields[-1]
    _check(type(replicas) is list and type(addresses) is list
           and all(type(a) is list for a in addresses), "replicas and addresses are arrays")
    _check(type(limits) is list and len(limits) == 2, "limits is [min_bet, max_bet]")
    charter = Charter(table_id, game, tuple(replicas), tuple(tuple(a) for a in addresses),
                      limits[0], limits[1], seats, salt, creator, signature, params)
    _check(len(charter.signature) == SIGNATURE_BYTES, "the charter is signed")
    try:
        VerifyKey(charter.creator).verify(charter.signing_bytes(), charter.signature)
    except (BadSignatureError, ValueError, TypeError):
        raise CharterError("the charter's signature is not its creator's") from None
    return charter


def _charter_params(value: object) -> tuple[tuple[str, int], ...]:
    """A version 3 charter's parameters: at least one [name, value] (the terms check the
    rest: names, ranges, order)."""
    _check(type(value) is list and 0 < len(value) <= MAX_PARAMS
           and all(type(p) is list and len(p) == 2 and type(p[0]) is str for p in value),
           f"params is 1..{MAX_PARAMS} [name, value] pairs")
    assert isinstance(value, list)
    return tuple((p[0], p[1]) for p in value)


@dataclass(frozen=True, slots=True)
class HostRequest:
    """One host request. `table_id` is the offer's name for OFFER and RELEASE (the proposed
    table's salt: its id is not known yet) and the charter's table id for CHARTER."""

    kind: int
    table_id: bytes
    game: str = ""
    charter: Charter | None = None

    def encode(self) -> bytes:
        if self.kind == CHARTER:
            assert self.charter is not None
            return _packb([CHARTER, self.charter.encode()])
        if self.kind == OFFER:
            return _packb([OFFER, self.table_id, self.game])
        return _packb([RELEASE, self.table_id])


def decode_request(data: bytes) -> HostRequest:
    fields = _unpack(data, "a host request")
    _check(type(fields) is list and len(fields) > 0 and type(fields[0]) is int,
           "a host request is [kind, ...]")
    kind = fields[0]
    if kind == OFFER:
        _check(len(fields) == 3 and _is_bytes(fields[1], TABLE_ID_BYTES)
               and type(fields[2]) is str and 0 < len(fields[2]) <= MAX_GAME_CHARS,
               "an offer is [0, salt, game]")
        return HostRequest(OFFER, fields[1], fields[2])
    if kind == CHARTER:
        _check(len(fields) == 2 and type(fields[1]) is bytes, "a charter request is [1, bytes]")
        charter = decode_charter(fields[1])
        return HostRequest(CHARTER, charter.table_id, charter.game, charter)
    if kind == RELEASE:
        _check(len(fields) == 2 and _is_bytes(fields[1], TABLE_ID_BYTES),
               "a release is [2, salt]")
        return HostRequest(RELEASE, fields[1])
    raise CharterError(f"unknown host request kind {kind}")


@dataclass(frozen=True, slots=True)
class HostReply:
    ok: bool
    reason: str = ""
    addresses: tuple[str, ...] = ()

    def encode(self) -> bytes:
        return _packb([self.ok, self.reason[:MAX_REASON_CHARS], list(self.addresses)])


def decode_reply(data: bytes) -> HostReply:
    fields = _unpack(data, "a host reply")
    _check(type(fields) is list and len(fields) == 3 and type(fields[0]) is bool
           and type(fields[1]) is str and type(fields[2]) is list,
           "a host reply is [ok, reason, [multiaddr, ...]]")
    addresses = tuple(fields[2])
    _check(_is_addresses(addresses), f"at most {MAX_ADDRESSES} multiaddrs")
    return HostReply(fields[0], fields[1], addresses)
