"""Strict canonical msgpack for the fair-dice records (DKG messages, coin shares, keys).

A record is a msgpack array `[FORMAT_VERSION, type code, field, ...]` holding only
integers, byte strings and arrays: no maps, strings, floats, booleans or extension types.
Decoding is bounded, re-encodes what it read and demands the same bytes back, so every
record has exactly one encoding. Any input at all gives a value or one `WireDecodeError`.
"""

from __future__ import annotations

from typing import Any

from ._api import GameDecodeError
from ._api import pack as pack
from ._api import unpack as unpack_game_value
from ._coin_errors import WireDecodeError

FORMAT_VERSION = 1
MAX_RECORD_BYTES = 1 << 20
MAX_ARRAY_ITEMS = 4096

# Every record type of the protocol, in one place so that no two share a code.
TYPE_DKG_KEY = 1
TYPE_DKG_DEALING = 2
TYPE_DKG_COMPLAINTS = 3
TYPE_DKG_CLOSE = 4
TYPE_COIN_SHARE = 16
TYPE_THRESHOLD_KEY = 32
TYPE_ROLL_RECORD = 33
TYPE_DKG_TRANSCRIPT = 34

# How deeply records nest and how many arrays they hold, at most: a transcript holds up to
# 384 [sender, DKG message] pairs, a DKG message up to 64 [dealer, revealed, proof] complaints.
MAX_DEPTH = 6
MAX_ARRAYS = 2 + 6 * 64 * 2 + 64 * 2 + 64 * (1 + 64)
MAX_ITEMS = 3 + 6 * 64 * 9 + 64 * 2 * 64 + 64 * 64 * 3  # fields, dealings' points, complaints


def unpack(
    data: object,
    max_bytes: int = MAX_RECORD_BYTES,
    max_depth: int = MAX_DEPTH,
    max_arrays: int = MAX_ARRAYS,
) -> Any:
    """Decode one canonical msgpack value of ints, byte strings and arrays (bounded and
    canonical as every game value is: `_api.unpack`; then stricter about the kinds).
    ``max_depth`` and ``max_arrays`` are the record's schema's: more is refused before
    anything walks it (a list bomb stops after ``max_arrays`` arrays)."""
    if type(data) is not bytes:
        raise WireDecodeError(f"expected bytes, got {type(data).__name__}")
    try:
        return unpack_game_value(data, max_bytes, max_depth=max_depth, max_arrays=max_arrays,
                                 max_items=MAX_ITEMS, max_array_len=MAX_ARRAY_ITEMS,
                                 allowed=_RECORD_TYPES)
    except GameDecodeError as exc:
        raise WireDecodeError(str(exc)) from None


_RECORD_TYPES: frozenset[type] = frozenset({int, bytes, list})


def open_record(obj: Any, type_code: int, field_count: int, what: str) -> list[Any]:
    """The fields of `[FORMAT_VERSION, type_code, *fields]`, checked for shape."""
    fields = want_list(obj, what)
    if len(fields) < 2 or fields[0] != FORMAT_VERSION or type(fields[0]) is not int:
        raise WireDecodeError(f"{what}: not a version {FORMAT_VERSION} record")
    if fields[1] != type_code or type(fields[1]) is not int:
        raise WireDecodeError(f"{what}: wrong record type")
    if len(fields) != field_count + 2:
        raise WireDecodeError(f"{what}: expected {field_count} fields, got {len(fields) - 2}")
    return fields[2:]


def record_type(obj: Any) -> int:
    """The type code of a record, after checking its version."""
    if type(obj) is not list or len(obj) < 2:
        raise WireDecodeError("not a record: expected an array [version, type, ...]")
    version, code = obj[0], obj[1]
    if type(version) is not int or version != FORMAT_VERSION:
        raise WireDecodeError(f"unsupported record version (this build reads {FORMAT_VERSION})")
    if type(code) is not int:
        raise WireDecodeError("a record type must be an integer")
    return code


def want_list(obj: Any, what: str, max_items: int = MAX_ARRAY_ITEMS) -> list[Any]:
    if type(obj) is not list:
        raise WireDecodeError(f"{what}: expected an array")
    if len(obj) > max_items:
        raise WireDecodeError(f"{what}: more than {max_items} items")
    return obj


def want_uint(obj: Any, what: str, maximum: int) -> int:
    if type(obj) is not int or not 0 <= obj <= maximum:
        raise WireDecodeError(f"{what}: expected an integer in [0, {maximum}]")
    return obj


def want_bytes(obj: Any, what: str, size: int) -> bytes:
    if type(obj) is not bytes or len(obj) != size:
        raise WireDecodeError(f"{what}: expected {size} bytes")
    return obj


def want_bytes_between(obj: Any, what: str, min_size: int, max_size: int) -> bytes:
    if type(obj) is not bytes or not min_size <= len(obj) <= max_size:
        raise WireDecodeError(f"{what}: expected {min_size}..{max_size} bytes")
    return obj


def want_byte_strings(obj: Any, what: str, size: int, max_items: int) -> tuple[bytes, ...]:
    items = want_list(obj, what, max_items)
    return tuple(want_bytes(item, f"{what}[{i}]", size) for i, item in enumerate(items))
