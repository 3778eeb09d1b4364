"""Canonical wire form of craps actions and events: ``[tag, field, field, ...]``.

Fields travel in their dataclass order: integers as integers, player ids as byte strings,
enums as their wire names (byte strings) or numbers, absent values as nil. The tag is the
class's name in snake case (``PlaceBet`` -> ``b"place_bet"``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import fields
from enum import Enum
from typing import Any

from .._api import GameDecodeError
from ._actions import MAX_PLAYER_BYTES
from ._kinds import BetKind, Working
from ._rules import Outcome, RollCall

MAX_WIRE_INT = 2**63 - 1

Encoder = Callable[[Any], Any]
Decoder = Callable[[Any], Any]


def _int(obj: Any) -> int:
    if type(obj) is not int or not 0 <= obj <= MAX_WIRE_INT:
        raise GameDecodeError(f"expected an integer in [0, {MAX_WIRE_INT}]")
    return obj


def _player(obj: Any) -> bytes:
    if type(obj) is not bytes or not 1 <= len(obj) <= MAX_PLAYER_BYTES:
        raise GameDecodeError(f"expected a player id of 1..{MAX_PLAYER_BYTES} bytes")
    return obj


def _bool(obj: Any) -> bool:
    if type(obj) is not bool:
        raise GameDecodeError("expected a boolean")
    return obj


def _named(enum: type[Enum]) -> tuple[Encoder, Decoder]:
    """An enum whose string values travel as ASCII byte strings."""
    by_wire = {member.value.encode(): member for member in enum}

    def decode(obj: Any) -> Enum:
        if type(obj) is not bytes or obj not in by_wire:
            raise GameDecodeError(f"unknown {enum.__name__}")
        return by_wire[obj]

    return (lambda member: member.value.encode()), decode


def _working(obj: Any) -> Working:
    if type(obj) is not int or obj not in {w.value for w in Working}:
        raise GameDecodeError("unknown Working value")
    return Working(obj)


def _optional(kind: tuple[Encoder, Decoder]) -> tuple[Encoder, Decoder]:
    encode, decode = kind
    return (
        lambda value: None if value is None else encode(value),
        lambda obj: None if obj is None else decode(obj),
    )


def _same(value: Any) -> Any:
    return value


FIELD_KINDS: dict[str, tuple[Encoder, Decoder]] = {
    "int": (_same, _int),
    "bytes": (_same, _player),
    "bool": (_same, _bool),
    "BetKind": _named(BetKind),
    "Outcome": _named(Outcome),
    "RollCall": _named(RollCall),
    "Working": (lambda w: w.value, _working),
}
FIELD_KINDS |= {f"{name} | None": _optional(kind) for name, kind in list(FIELD_KINDS.items())}


def tag_of(cls: type) -> bytes:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower().encode()


class RecordCodec:
    """Encodes and strictly decodes instances of a fixed set of dataclasses."""

    def __init__(self, classes: Sequence[type]) -> None:
        self._by_tag = {tag_of(cls): cls for cls in classes}
        self._kinds = {
            cls: tuple((spec.name, FIELD_KINDS[str(spec.type)]) for spec in fields(cls))
            for cls in classes
        }

    def to_wire(self, record: Any) -> list[Any]:
        kinds = self._kinds[type(record)]
        return [tag_of(type(record))] + [encode(getattr(record, n)) for n, (encode, _) in kinds]

    def from_wire(self, obj: Any) -> Any:
        if type(obj) is not list or not obj or type(obj[0]) is not bytes:
            raise GameDecodeError("expected a list starting with a tag")
        cls = self._by_tag.get(obj[0])
        if cls is None:
            raise GameDecodeError("unknown tag")
        kinds = self._kinds[cls]
        if len(obj) != 1 + len(kinds):
            raise GameDecodeError(f"{cls.__name__}: expected {len(kinds)} fields")
        values = []
        for (name, (_, decode)), item in zip(kinds, obj[1:], strict=True):
            try:
                values.append(decode(item))
            except GameDecodeError as exc:
                raise GameDecodeError(f"{cls.__name__}.{name}: {exc}") from None
        try:
            return cls(*values)
        except ValueError as exc:
            raise GameDecodeError(f"{cls.__name__}: {exc}") from None
