"""Canonical msgpack with strict, bounded decoding.

Only integers, byte strings, lists, booleans and nil exist on the wire: no maps, no
strings, no extension types, no floats. Decoding re-encodes the result and demands the
same bytes back, so every message has exactly one encoding.
"""

from __future__ import annotations

from typing import Any

import msgpack

from ._errors import DecodeError

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
MAX_ARRAY_ITEMS = 65_536


def _reject_extension(code: int, data: bytes) -> Any:
    raise DecodeError(f"msgpack extension type {code} is not allowed")


def pack(obj: Any) -> bytes:
    """Encode a wire object (ints, bytes, lists, bools, None) canonically."""
    return msgpack.packb(obj, use_bin_type=True)


def unpack(data: bytes, max_bytes: int = MAX_MESSAGE_BYTES) -> Any:
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
            max_array_len=min(MAX_ARRAY_ITEMS, size),
            max_map_len=0,
            max_ext_len=0,
            ext_hook=_reject_extension,
        )
    except DecodeError:
        raise
    except Exception as exc:  # msgpack raises a zoo of types; each is the sender's fault
        raise DecodeError(f"malformed msgpack: {type(exc).__name__}: {exc}") from None
    return obj

