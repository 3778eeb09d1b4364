"""Field kinds: how one message field looks on the wire and what values it may hold.

Each kind both checks a value built locally (raising ValueError) and turns a decoded wire
object back into a value (raising DecodeError). Messages declare their fields with these.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._errors import DecodeError

U64_MAX = 2**64 - 1


class Kind:
    def check(self, value: Any) -> None:
        raise NotImplementedError

    def encode(self, value: Any) -> Any:
        return value

    def decode(self, obj: Any) -> Any:
        raise NotImplementedError


class UInt(Kind):
    def __init__(self, maximum: int = U64_MAX) -> None:
        self.maximum = maximum

    def check(self, value: Any) -> None:
        if type(value) is not int or not 0 <= value <= self.maximum:
            raise ValueError(
                f"expected an integer in [0, {self.maximum}], got {type(value).__name__}"
            )

    def decode(self, obj: Any) -> Any:
        if type(obj) is not int or not 0 <= obj <= self.maximum:
            raise DecodeError(f"expected an integer in [0, {self.maximum}]")
        return obj


class Bin(Kind):
    def __init__(self, min_len: int = 0, max_len: int = U64_MAX) -> None:
        self.min_len = min_len
        self.max_len = max_len

    def _describe(self) -> str:
        if self.min_len == self.max_len:
            return f"{self.min_len} bytes"
        return f"{self.min_len}..{self.max_len} bytes"

    def check(self, value: Any) -> None:
        if type(value) is not bytes or not self.min_len <= len(value) <= self.max_len:
            raise ValueError(f"expected {self._describe()}, got {type(value).__name__}")

    def decode(self, obj: Any) -> Any:
        if type(obj) is not bytes or not self.min_len <= len(obj) <= self.max_len:
            raise DecodeError(f"expected {self._describe()}")
        return obj


def Bytes32() -> Bin:
    return Bin(32, 32)


class Seq(Kind):
    """A tuple of items of one kind, at most max_items long."""

    def __init__(self, item: Kind, max_items: int) -> None:
        self.item = item
        self.max_items = max_items

    def check(self, value: Any) -> None:
        if type(value) is not tuple or len(value) > self.max_items:
            raise ValueError(f"expected a tuple of at most {self.max_items} items")
        for element in value:
            self.item.check(element)

    def encode(self, value: Any) -> Any:
        return [self.item.encode(element) for element in value]

    def decode(self, obj: Any) -> Any:
        if type(obj) is not list or len(obj) > self.max_items:
            raise DecodeError(f"expected a list of at most {self.max_items} items")
        return tuple(self.item.decode(element) for element in obj)


class Optional(Kind):
    def __init__(self, inner: Kind) -> None:
        self.inner = inner

    def check(self, value: Any) -> None:
        if value is not None:
            self.inner.check(value)

    def encode(self, value: Any) -> Any:
        return None if value is None else self.inner.encode(value)

    def decode(self, obj: Any) -> Any:
        return None if obj is None else self.inner.decode(obj)


class Lazy(Kind):
    """Defers to a kind built on first use, so message classes can refer to each other."""

    def __init__(self, build: Callable[[], Kind]) -> None:
        self._build = build
        self._kind: Kind | None = None

    @property
    def kind(self) -> Kind:
        if self._kind is None:
            self._kind = self._build()
        return self._kind

    def check(self, value: Any) -> None:
        self.kind.check(value)

    def encode(self, value: Any) -> Any:
        return self.kind.encode(value)

    def decode(self, obj: Any) -> Any:
        return self.kind.decode(obj)
