"""The replicated application interface and a small key-value store that implements it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

from ._codec import WireLimits, pack, unpack
from ._errors import DecodeError


@dataclass(frozen=True, slots=True)
class ExecutionContext:
    """Where a request sits in the total order: the same on every replica."""

    seq: int
    client: bytes
    timestamp: int


class ApplicationError(Exception):
    """The application rejects a request deterministically; the message becomes the result."""


class Application(Protocol):
    """Deterministic to the byte: equal inputs in equal order give equal bytes everywhere."""

    def execute(self, operation: bytes, context: ExecutionContext) -> bytes: ...

    def snapshot(self) -> bytes: ...

    def restore(self, snapshot: bytes) -> None: ...

    def digest(self) -> bytes: ...


# An operation is one flat list of a few fields; a snapshot, a list of [key, value] pairs
# (each pair at least three bytes: its header and two byte-string headers).
OPERATION_LIMITS = WireLimits(max_depth=1, max_array_len=8)
SNAPSHOT_LIMITS = WireLimits(max_depth=2, bytes_per_array=3)


class KeyValueApp:
    """Operations are msgpack lists: [b"put", key, value], [b"get", key], [b"add", key, delta]."""

    def __init__(self) -> None:
        self._data: dict[bytes, bytes] = {}
        self.executed = 0

    def execute(self, operation: bytes, context: ExecutionContext) -> bytes:
        self.executed += 1
        try:
            op = unpack(operation, limits=OPERATION_LIMITS)
        except DecodeError as exc:
            return pack([b"error", str(exc).encode()])
        if type(op) is not list or not op or type(op[0]) is not bytes:
            return pack([b"error", b"operation must be a list starting with a verb"])
        verb, args = op[0], op[1:]
        if verb == b"put" and len(args) == 2 and all(type(a) is bytes for a in args):
            self._data[args[0]] = args[1]
            return pack([b"ok"])
        if verb == b"get" and len(args) == 1 and type(args[0]) is bytes:
            return pack([b"ok", self._data.get(args[0])])
        if verb == b"add" and len(args) == 2 and type(args[0]) is bytes and type(args[1]) is int:
            current = int.from_bytes(self._data.get(args[0], b"\0" * 8), "big", signed=True)
            total = max(-(2**63), min(2**63 - 1, current + args[1]))
            self._data[args[0]] = total.to_bytes(8, "big", signed=True)
            return pack([b"ok", total])
        return pack([b"error", b"unknown operation " + verb[:32]])

    def snapshot(self) -> bytes:
        return pack([[key, self._data[key]] for key in sorted(self._data)])

    def restore(self, snapshot: bytes) -> None:
        items = unpack(snapshot, limits=SNAPSHOT_LIMITS)
        if type(items) is not list or any(type(i) is not list or len(i) != 2 for i in items):
            raise DecodeError("not a key-value snapshot")
        self._data = {bytes(k): bytes(v) for k, v in items}

    def digest(self) -> bytes:
        return hashlib.sha256(b"bitcraps/kv\x00" + self.snapshot()).digest()

    def get(self, key: bytes) -> bytes | None:
        return self._data.get(key)
