"""Canonical msgpack with strict, bounded decoding.

Only integers, byte strings, lists, booleans and nil exist on the wire: no maps, no
strings, no extension types, no floats. Decoding re-encodes the result and demands the
same bytes back, so every message has exactly one encoding.

Decoding is bounded before any Python code walks the result, so a peer's bytes cost at most
a fixed amount of time and memory (`WireLimits`): each array's declared length is checked
by the C unpacker before it allocates; a hook on every finished array counts arrays and
items against budgets proportional to the input's size (a valid message spends some bytes
per array: a frame of a million empty arrays is refused after a few thousand); then one
level-by-level pass, without recursion, bounds the nesting depth. A caller passes limits
shaped by its schema; the defaults only keep generic values safe.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgpack

from ._errors import DecodeError

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
MAX_ARRAY_ITEMS = 65_536
MAX_DEPTH = 32  # far below both msgpack's stack (1024) and Python's recursion limit


@dataclass(frozen=True, slots=True)
class WireLimits:
    """How much structure a decoded value may have.

    ``bytes_per_array`` and ``bytes_per_item``: a valid input of n bytes has at most
    ``n // bytes_per_array + slack`` arrays and ``n // bytes_per_item + slack`` array items
    (1 and 1 put no limit beyond the size itself).
    """

    max_depth: int = MAX_DEPTH
    max_array_len: int = MAX_ARRAY_ITEMS
    bytes_per_array: int = 1
    bytes_per_item: int = 1
    slack: int = 16


GENERIC_LIMITS = WireLimits()


class _Budget(Exception):
    """Raised by the array hook: the input holds more structure than its limits allow."""


def _said(exc: Exception) -> str:
    """msgpack's own words (limits, lengths, error codes: never the data), kept short."""
    return str(exc)[:120]


def _reject_extension(code: int, data: bytes) -> Any:
    raise DecodeError(f"msgpack extension type {code} is not allowed")


def pack(obj: Any) -> bytes:
    """Encode a wire object (ints, bytes, lists, bools, None) canonically."""
    return msgpack.packb(obj, use_bin_type=True)


def _array_hook(size: int, limits: WireLimits) -> Callable[[list[Any]], list[Any]]:
    arrays_left = size // limits.bytes_per_array + limits.slack
    items_left = size // limits.bytes_per_item + limits.slack

    def hook(items: list[Any]) -> list[Any]:
        nonlocal arrays_left, items_left
        arrays_left -= 1
        items_left -= len(items)
        if arrays_left < 0 or items_left < 0:
            raise _Budget
        return items

    return hook


def nesting_within(obj: Any, max_depth: int) -> bool:
    """Whether `obj` nests at most `max_depth` lists deep; a pass per level, no recursion."""
    level = [obj] if type(obj) is list else []
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            return False
        deeper: list[list[Any]] = []
        for items in level:
            if list in set(map(type, items)):  # gathered in C: scalars cost no Python step
                deeper.extend(item for item in items if type(item) is list)
        level = deeper
    return True


def unpack(
    data: bytes, max_bytes: int = MAX_MESSAGE_BYTES, limits: WireLimits = GENERIC_LIMITS
) -> Any:
    """Decode bytes into a wire object, or raise DecodeError. Never anything else."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DecodeError(f"expected bytes, got {type(data).__name__}")
    size = len(data)
    if size == 0:
        raise DecodeError("empty frame")
    if size > max_bytes:
        raise DecodeError(f"frame of {size} bytes exceeds the {max_bytes}-byte limit")
    try:
        obj = msgpack.unpackb(
            data,
            raw=True,
            use_list=True,
            strict_map_key=True,
            max_bin_len=max_bytes,
            max_str_len=0,
            max_array_len=min(limits.max_array_len, size),
            max_map_len=0,
            max_ext_len=0,
            ext_hook=_reject_extension,
            list_hook=_array_hook(size, limits),
        )
    except DecodeError:
        raise
    except _Budget:
        raise DecodeError(f"more arrays or items than {size} bytes of this message hold") from None
    except Exception as exc:  # msgpack raises a zoo of types; each is the sender's fault
        raise DecodeError(f"malformed msgpack: {type(exc).__name__}: {_said(exc)}") from None
    if not nesting_within(obj, limits.max_depth):
        raise DecodeError(f"nested deeper than {limits.max_depth} levels")
    return obj
