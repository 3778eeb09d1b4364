"""How deeply a msgpack value nests, read from its headers alone (no decoding, no recursion).

The table's operations carry bodies that its decoders turn into DKG messages, coin shares
and actions, none of which nests more than a few levels. `nesting_exceeds` lets the
execution boundary refuse anything deeper before any decoder (or `repr`) walks it: one
linear pass over the bytes, a fixed amount of memory, and the same answer on every replica
whatever its stack depth. It judges nesting only; every other defect is the decoder's to find.
"""

from __future__ import annotations

__all__ = ["nesting_exceeds"]

# Bytes after the type byte that a header's length field takes, for types whose length
# field counts payload bytes (bin, str, ext) or items (array, map).
_BYTES_LENGTH = {0xC4: 1, 0xC5: 2, 0xC6: 4, 0xD9: 1, 0xDA: 2, 0xDB: 4}
_EXT_LENGTH = {0xC7: 1, 0xC8: 2, 0xC9: 4}
_ARRAY_LENGTH = {0xDC: 2, 0xDD: 4}
_MAP_LENGTH = {0xDE: 2, 0xDF: 4}
_FIXED_PAYLOAD = {
    0xCA: 4, 0xCB: 8, 0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8, 0xD0: 1, 0xD1: 2, 0xD2: 4,
    0xD3: 8, 0xD4: 2, 0xD5: 3, 0xD6: 5, 0xD7: 9, 0xD8: 17,
}


def nesting_exceeds(data: bytes, limit: int) -> bool:
    """True if the msgpack in `data` opens more than `limit` arrays or maps inside each
    other anywhere before its end (truncated or trailing bytes are not judged here)."""
    open_items: list[int] = []  # items still to come in each enclosing container
    at, end = 0, len(data)
    while at < end:
        while open_items and open_items[-1] == 0:
            open_items.pop()
        if open_items:
            open_items[-1] -= 1
        kind = data[at]
        at += 1
        items, at = _container_items(data, kind, at)
        if items is None:
            at = _skip_scalar(data, kind, at)
        elif items:
            open_items.append(items)
            if len(open_items) > limit:
                return True
        elif len(open_items) + 1 > limit:
            return True
    return False


def _length(data: bytes, at: int, size: int) -> tuple[int, int]:
    return int.from_bytes(data[at:at + size], "big"), at + size


def _container_items(data: bytes, kind: int, at: int) -> tuple[int | None, int]:
    """(items, position after the header) for an array or map header; (None, at) else."""
    if 0x90 <= kind <= 0x9F:
        return kind & 0x0F, at
    if 0x80 <= kind <= 0x8F:
        return 2 * (kind & 0x0F), at
    if kind in _ARRAY_LENGTH:
        return _length(data, at, _ARRAY_LENGTH[kind])
    if kind in _MAP_LENGTH:
        count, at = _length(data, at, _MAP_LENGTH[kind])
        return 2 * count, at
    return None, at


def _skip_scalar(data: bytes, kind: int, at: int) -> int:
    if 0xA0 <= kind <= 0xBF:
        return at + (kind & 0x1F)
    if kind in _BYTES_LENGTH:
        size, at = _length(data, at, _BYTES_LENGTH[kind])
        return at + size
    if kind in _EXT_LENGTH:
        size, at = _length(data, at, _EXT_LENGTH[kind])
        return at + 1 + size
    return at + _FIXED_PAYLOAD.get(kind, 0)
