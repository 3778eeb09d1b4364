"""Structurally hostile msgpack: the mutation engine of the decoders' fuzzers.

Pure and deterministic: every function takes the randomness it uses (`rng`, anything with
``randrange(start, stop)`` and ``random()``: this package's `Rng` or a ``random.Random``), so a
seed replays an input exactly. What it makes is what a stranger, a player or a Byzantine
replica could send:

- `hostile_msgpack(rng)`: one blob from scratch: deep nesting, headers that declare huge
  lengths (2**32 - 1 items or bytes), list bombs, forbidden types (maps, strings, floats,
  extensions), non-canonical integers and lengths, truncations, random bytes;
- `mutate_msgpack(rng, data)`: a mutation of a valid encoding: a tree mutation (replace, drop,
  duplicate, wrap or swap a node; boundary integers; hostile subtrees), re-encoded canonically
  or in a wider form, or a byte mutation (truncate, flip, insert, splice a huge header).

Feed the results to a decoder, or sign them as a Byzantine replica's payload.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import msgpack

MAX_TREE_DEPTH = 64  # deeper parsed inputs get byte mutations only (the encoder recurses)
BOUNDARY_INTS = (
    0, 1, -1, 127, 128, 255, 256, 65_535, 65_536, 2**31 - 1, 2**31, 2**32 - 1, 2**32,
    2**63 - 1, 2**63, 2**64 - 1, -(2**31), -(2**63),
)
HUGE_HEADERS = (
    b"\xdd\xff\xff\xff\xff",  # array 32, 2**32 - 1 items
    b"\xdc\xff\xff",  # array 16, 65535 items
    b"\xc6\xff\xff\xff\xff",  # bin 32, 2**32 - 1 bytes
    b"\xc5\xff\xff",  # bin 16
    b"\xdb\xff\xff\xff\xff",  # str 32
    b"\xdf\xff\xff\xff\xff",  # map 32
    b"\xc9\xff\xff\xff\xff\x01",  # ext 32
)
FORBIDDEN = (
    b"\xa3abc",  # str
    b"\x81\x01\x02",  # map
    b"\x80",  # empty map
    b"\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00",  # float 64
    b"\xca\x3f\x80\x00\x00",  # float 32
    b"\xd4\x01\x00",  # fixext 1
    b"\xc1",  # never used
    b"\xc0",  # nil
    b"\xc2",  # false
    b"\xc3",  # true
)


class RandomSource(Protocol):
    """What the engine needs of a random generator (`Rng` and ``random.Random`` both fit)."""

    def randrange(self, start: int, stop: int | None = ...) -> int: ...

    def random(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Raw:
    """Bytes spliced verbatim into an encoding: how hostile subtrees ride inside a tree."""

    data: bytes


def random_bytes(rng: RandomSource, size: int) -> bytes:
    return bytes(rng.randrange(0, 256) for _ in range(size))


def _pick(rng: RandomSource, items: tuple[Any, ...] | list[Any]) -> Any:
    return items[rng.randrange(0, len(items))]


def deep_nesting(rng: RandomSource, depth: int | None = None) -> bytes:
    """``depth`` nested one-item arrays around a leaf (the RecursionError payload's shape)."""
    if depth is None:
        depth = _pick(rng, (40, 100, 600, 1010, 1100, 3000))
    opener = _pick(rng, (b"\x91", b"\x92\x01", b"\xdc\x00\x01", b"\x81\x01"))
    leaf = _pick(rng, (b"\x01", b"\x90", b"\xc4\x00", b"\xc0"))
    if opener == b"\x92\x01":  # [[[leaf, 1], 1], 1]: the closing items after the leaf
        return b"\x92" * depth + leaf + b"\x01" * depth
    return opener * depth + leaf


def list_bomb(rng: RandomSource, budget: int = 1 << 20) -> bytes:
    """Many empty arrays (or nils) in arrays: most objects per byte a decoder can be sent."""
    item = _pick(rng, (b"\x90", b"\xc0", b"\x00", b"\x91\x90"))
    width = _pick(rng, (4096, 65_535))
    rows = max(1, budget // (width * len(item) + 3) - 1)
    row = b"\xdc" + width.to_bytes(2, "big") + item * width
    return b"\xdc" + rows.to_bytes(2, "big") + row * rows


def noncanonical_int(rng: RandomSource, value: int) -> bytes:
    """``value`` in a wider encoding than the canonical one (when one exists)."""
    forms: list[bytes] = []
    if 0 <= value < 2**8:
        forms.append(b"\xcc" + struct.pack(">B", value))
    if 0 <= value < 2**16:
        forms.append(b"\xcd" + struct.pack(">H", value))
    if 0 <= value < 2**32:
        forms.append(b"\xce" + struct.pack(">I", value))
    if 0 <= value < 2**64:
        forms.append(b"\xcf" + struct.pack(">Q", value))
    if -(2**63) <= value < 2**63:
        forms.append(b"\xd3" + struct.pack(">q", value))
    if -(2**31) <= value < 2**31:
        forms.append(b"\xd2" + struct.pack(">i", value))
    return _pick(rng, forms) if forms else encode(value)


def _bin_forms(size: int) -> list[bytes]:
    forms = [b"\xc4" + struct.pack(">B", size)] if size < 2**8 else []
    if size < 2**16:
        forms.append(b"\xc5" + struct.pack(">H", size))
    return [*forms, b"\xc6" + struct.pack(">I", size)]


def _array_forms(size: int) -> list[bytes]:
    forms = [bytes([0x90 | size])] if size < 16 else []
    if size < 2**16:
        forms.append(b"\xdc" + struct.pack(">H", size))
    return [*forms, b"\xdd" + struct.pack(">I", size)]


def _header(rng: RandomSource | None, forms: list[bytes], wide: bool) -> bytes:
    """The canonical (shortest) form, or with ``wide`` one of the wider ones if any."""
    if rng is None or not wide or len(forms) == 1:
        return forms[0]
    return forms[rng.randrange(1, len(forms))]


def encode(obj: Any, rng: RandomSource | None = None, wide_chance: float = 0.0) -> bytes:
    """msgpack of a tree of wire values and `Raw` splices; some nodes wider if ``rng`` says."""
    wide = rng is not None and wide_chance > 0 and rng.random() < wide_chance
    if isinstance(obj, Raw):
        return obj.data
    if isinstance(obj, list):
        items = b"".join(encode(item, rng, wide_chance) for item in obj)
        return _header(rng, _array_forms(len(obj)), wide) + items
    if isinstance(obj, bytes):
        return _header(rng, _bin_forms(len(obj)), wide) + obj
    if type(obj) is int and rng is not None and wide:
        return noncanonical_int(rng, obj)
    return bytes(msgpack.packb(obj, use_bin_type=True))


def hostile_leaf(rng: RandomSource) -> Any:
    """One hostile value to put where a decoder expects something else."""
    choice = rng.randrange(0, 9)
    if choice == 0:
        return _pick(rng, BOUNDARY_INTS)
    if choice == 1:
        return random_bytes(rng, _pick(rng, (0, 1, 15, 16, 31, 32, 33, 63, 64, 65, 300)))
    if choice == 2:
        return Raw(deep_nesting(rng))
    if choice == 3:
        return Raw(_pick(rng, FORBIDDEN))
    if choice == 4:
        return Raw(_pick(rng, HUGE_HEADERS))
    if choice == 5:
        return [hostile_leaf(rng) for _ in range(rng.randrange(0, 4))]
    if choice == 6:
        return Raw(noncanonical_int(rng, _pick(rng, BOUNDARY_INTS)))
    if choice == 7:
        return _pick(rng, (None, True, False, []))
    return Raw(b"\xdc" + (4096).to_bytes(2, "big") + b"\x90" * 4096)


def hostile_msgpack(rng: RandomSource) -> bytes:
    """One structurally hostile msgpack blob, made from scratch."""
    choice = rng.randrange(0, 8)
    if choice == 0:
        return deep_nesting(rng)
    if choice == 1:
        return _pick(rng, HUGE_HEADERS) + random_bytes(rng, rng.randrange(0, 16))
    if choice == 2:
        return list_bomb(rng, _pick(rng, (4096, 65_536, 1 << 20)))
    if choice == 3:
        return _pick(rng, FORBIDDEN)
    if choice == 4:
        return random_bytes(rng, rng.randrange(1, 64))
    if choice == 5:
        return b"\x96" + deep_nesting(rng) + random_bytes(rng, rng.randrange(0, 120))
    if choice == 6:
        return encode([hostile_leaf(rng) for _ in range(rng.randrange(0, 7))], rng, 0.2)
    return noncanonical_int(rng, _pick(rng, BOUNDARY_INTS))


def mutate_msgpack(rng: RandomSource, data: bytes) -> bytes:
    """One mutation of ``data`` (ideally a valid encoding): tree-aware when it parses."""
    tree = _parse(data)
    if tree is not None and rng.random() < 0.7:
        mutated = _mutate_tree(rng, tree)
        return encode(mutated, rng, _pick(rng, (0.0, 0.0, 0.05, 0.3)))
    return mutate_bytes(rng, data)


def _parse(data: bytes) -> Any:
    try:
        tree = msgpack.unpackb(data, raw=True, strict_map_key=False, max_buffer_size=len(data))
    except Exception:  # anything unparseable is mutated as bytes
        return None
    return tree if _depth_within(tree, MAX_TREE_DEPTH) else None


def _depth_within(tree: Any, limit: int) -> bool:
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(node, list):
            stack.extend((item, depth + 1) for item in node)
        elif not isinstance(node, (int, bytes, bool)) and node is not None:
            return False  # maps, floats, extensions: leave these inputs to byte mutations
    return True


def _nodes(tree: Any) -> list[tuple[list[Any] | None, int]]:
    """Every node as (parent list, index); the root as (None, 0)."""
    found: list[tuple[list[Any] | None, int]] = [(None, 0)]
    stack = [tree]
    while stack and len(found) < 10_000:
        node = stack.pop()
        if isinstance(node, list):
            for index, item in enumerate(node):
                found.append((node, index))
                stack.append(item)
    return found


def _mutate_tree(rng: RandomSource, tree: Any) -> Any:
    root = [tree]
    for _ in range(_pick(rng, (1, 1, 1, 2, 3))):
        parent, index = _pick(rng, _nodes(root[0]))
        if parent is None:
            parent, index = root, 0
        _pick(rng, _TREE_MUTATIONS)(rng, parent, index)
    return root[0]


def _replace(rng: RandomSource, parent: list[Any], index: int) -> None:
    parent[index] = hostile_leaf(rng)


def _tweak(rng: RandomSource, parent: list[Any], index: int) -> None:
    node = parent[index]
    if type(node) is int:
        parent[index] = _pick(rng, (node + 1, node - 1, -node, node ^ 1, *BOUNDARY_INTS[:6]))
    elif isinstance(node, bytes):
        parent[index] = _pick(rng, (node[:-1], node + b"\x00", node * 2, b"", node[::-1]))
    elif isinstance(node, list) and node:
        del node[rng.randrange(0, len(node))]
    else:
        parent[index] = hostile_leaf(rng)


def _structure(rng: RandomSource, parent: list[Any], index: int) -> None:
    node = parent[index]
    choice = rng.randrange(0, 4)
    if choice == 0:
        parent[index] = [node]
    elif choice == 1 and isinstance(node, list) and node:
        parent[index] = node[0]
    elif choice == 2:
        parent.insert(index, node)
    elif len(parent) > 1:
        other = rng.randrange(0, len(parent))
        parent[index], parent[other] = parent[other], parent[index]
    else:
        parent[index] = [node, hostile_leaf(rng)]


def _deepen(rng: RandomSource, parent: list[Any], index: int) -> None:
    depth = _pick(rng, (30, 200, 1010, 2000))
    parent[index] = Raw(b"\x91" * depth + encode(parent[index]))


_TREE_MUTATIONS: tuple[Callable[[RandomSource, list[Any], int], None], ...] = (
    _replace, _replace, _tweak, _tweak, _structure, _deepen,
)


def mutate_bytes(rng: RandomSource, data: bytes) -> bytes:
    """A byte-level mutation: truncate, flip, insert, delete, or splice in a huge header."""
    if not data:
        return hostile_msgpack(rng)
    at = rng.randrange(0, len(data))
    choice = rng.randrange(0, 6)
    if choice == 0:
        return data[:at]
    if choice == 1:
        return data[:at] + bytes([data[at] ^ (1 << rng.randrange(0, 8))]) + data[at + 1 :]
    if choice == 2:
        return data[:at] + bytes([rng.randrange(0, 256)]) + data[at + 1 :]
    if choice == 3:
        return data[:at] + random_bytes(rng, rng.randrange(1, 9)) + data[at:]
    if choice == 4:
        return data[:at] + data[at + rng.randrange(1, 9) :]
    return data[:at] + _pick(rng, HUGE_HEADERS) + data[at:]
