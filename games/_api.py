"""The game API every table game implements, and the canonical wire form its values take.

A game is a deterministic state machine over immutable states:

- ``initial_state(config)`` gives the state of a fresh table;
- ``validate(state, action)`` says whether the action may be applied now, and if not, why
  (a `Rejection`: a machine code and the reason the player sees);
- ``apply(state, action, seed)`` gives the next state and the events it produced (past tense).
  It raises `ActionRejected` exactly when ``validate`` returns a rejection, so a rejected action
  can never change anything.

States, actions and events cross the network and the disk, so each has one canonical byte form:
msgpack holding only integers, byte strings, lists, booleans and nil. Decoding is strict: any
bytes at all give a value or one `GameDecodeError`, never another exception, and a value has
exactly one encoding (decoding re-encodes and demands the same bytes back). Replicas compare
`state_digest` values; a snapshot is ``encode_state`` and a restore is ``decode_state``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, TypeVar

import msgpack

MAX_ACTION_BYTES = 1024
MAX_STATE_BYTES = 4 * 1024 * 1024
MAX_EVENTS_BYTES = 1024 * 1024
MAX_LIST_ITEMS = 65_536
MAX_DEPTH = 16  # deeper than any game value needs; far below any recursion limit
WIRE_TYPES: frozenset[type] = frozenset({int, bytes, bool, list, type(None)})

STATE_DIGEST_DOMAIN = b"bitcraps/v1/game-state\x00"


class GameDecodeError(Exception):
    """Bytes are not one well-formed canonical encoding of the value expected."""


class Code(StrEnum):
    """Why an action was rejected: stable codes for programs (the reason is for people)."""

    UNKNOWN_BET = "unknown_bet"
    WRONG_PHASE = "wrong_phase"
    UNDER_MINIMUM = "under_minimum"
    OVER_LIMIT = "over_limit"
    BAD_AMOUNT = "bad_amount"
    INSUFFICIENT_CHIPS = "insufficient_chips"
    BANK_CANNOT_COVER = "bank_cannot_cover"
    NOT_YOUR_BET = "not_your_bet"
    NO_SUCH_BET = "no_such_bet"
    CONTRACT_BET = "contract_bet"
    CANNOT_TURN_OFF = "cannot_turn_off"
    NO_ODDS = "no_odds"
    NOT_SEATED = "not_seated"
    TABLE_FULL = "table_full"
    TOO_MANY_BETS = "too_many_bets"
    NOT_SHOOTER = "not_shooter"
    NO_SHOOTER = "no_shooter"
    STALE_ROLL = "stale_roll"
    ROLL_PENDING = "roll_pending"
    OPEN_BETS = "open_bets"
    NOTHING_TO_CASH_OUT = "nothing_to_cash_out"
    CANNOT_PAY = "cannot_pay"


@dataclass(frozen=True, slots=True)
class Rejection:
    """An action that may not be applied: ``code`` for programs, ``reason`` for the player."""

    code: Code
    reason: str

    def __str__(self) -> str:
        return f"{self.code.value}: {self.reason}"


class ActionRejected(Exception):
    """``apply`` was given an action that ``validate`` rejects; nothing changed."""

    def __init__(self, rejection: Rejection) -> None:
        super().__init__(str(rejection))
        self.rejection = rejection


ConfigT = TypeVar("ConfigT", contravariant=True)
StateT = TypeVar("StateT")
ActionT = TypeVar("ActionT")
EventT = TypeVar("EventT")


class Game(Protocol[ConfigT, StateT, ActionT, EventT]):
    """A deterministic game: equal states and actions give equal results, to the byte."""

    def initial_state(self, config: ConfigT) -> StateT: ...

    def validate(self, state: StateT, action: ActionT) -> Rejection | None: ...

    def apply(
        self, state: StateT, action: ActionT, seed: bytes
    ) -> tuple[StateT, tuple[EventT, ...]]: ...

    def encode_action(self, action: ActionT) -> bytes: ...

    def decode_action(self, data: bytes) -> ActionT: ...

    def encode_state(self, state: StateT) -> bytes: ...

    def decode_state(self, data: bytes) -> StateT: ...

    def encode_events(self, events: tuple[EventT, ...]) -> bytes: ...

    def decode_events(self, data: bytes) -> tuple[EventT, ...]: ...


def state_digest(encoded_state: bytes) -> bytes:
    """SHA-256 over an ``encode_state`` result, domain-separated: what replicas compare."""
    return hashlib.sha256(STATE_DIGEST_DOMAIN + encoded_state).digest()


def pack(obj: Any) -> bytes:
    """Encode a wire object (ints, bytes, lists, bools, None) canonically."""
    return bytes(msgpack.packb(obj, use_bin_type=True))


def _said(exc: Exception) -> str:
    """msgpack's own words (limits, lengths, error codes: never the data), kept short."""
    return str(exc)[:120]


def _reject_extension(code: int, data: bytes) -> Any:
    raise GameDecodeError(f"msgpack extension type {code} is not allowed")


class _Budget(Exception):
    """Raised by the array hook: more arrays than the input's size allows."""


def _array_hook(arrays: int, items: int) -> Callable[[list[Any]], list[Any]]:
    arrays_left, items_left = arrays, items

    def hook(array: list[Any]) -> list[Any]:
        nonlocal arrays_left, items_left
        arrays_left -= 1
        items_left -= len(array)
        if arrays_left < 0 or items_left < 0:
            raise _Budget
        return array

    return hook


def unpack(
    data: bytes,
    max_bytes: int,
    *,
    max_depth: int = MAX_DEPTH,
    max_arrays: int | None = None,
    max_items: int | None = None,
    max_array_len: int = MAX_LIST_ITEMS,
    bytes_per_array: int = 1,
    allowed: frozenset[type] = WIRE_TYPES,
) -> Any:
    """Decode one canonical wire object of at most ``max_bytes``, or raise GameDecodeError.

    Bounded before anything walks the result: array lengths by the C unpacker; the count of
    arrays and of their items, as they are built, by ``max_arrays`` and ``max_items`` (the
    most the caller's schema holds) and by
    ``bytes_per_array`` (values that spend at least that many bytes per array, 16 arrays of
    slack), so a list bomb stops early; the nesting by ``max_depth`` (checked level by
    level, without recursion, so not even the canonical re-encoding can recurse deeply);
    only ``allowed`` types (a subset of `WIRE_TYPES`: lists, ints, bytes, bools, nil).
    """
    if not isinstance(data, bytes):
        raise GameDecodeError(f"expected bytes, got {type(data).__name__}")
    if not data:
        raise GameDecodeError("empty input")
    if len(data) > max_bytes:
        raise GameDecodeError(f"{len(data)} bytes exceed the {max_bytes}-byte limit")
    try:
        obj = msgpack.unpackb(
            data,
            raw=True,
            use_list=True,
            max_bin_len=max_bytes,
            max_str_len=0,
            max_array_len=min(max_array_len, len(data)),
            max_map_len=0,
            max_ext_len=0,
            ext_hook=_reject_extension,
            list_hook=_array_hook(_array_budget(len(data), max_arrays, bytes_per_array),
                                  len(data) if max_items is None else max_items),
        )
    except GameDecodeError:
        raise
    except _Budget:
        raise GameDecodeError(
            f"more arrays or items than this {len(data)}-byte value may hold"
        ) from None
    except Exception as exc:  # msgpack raises many types; each means the input is malformed
        raise GameDecodeError(
            f"malformed msgpack: {type(exc).__name__}: {_said(exc)}"
        ) from None
    _check_wire_types(obj, max_depth, allowed)
    if pack(obj) != data:
        raise GameDecodeError("not the canonical encoding")
    return obj


def _array_budget(size: int, max_arrays: int | None, bytes_per_array: int) -> int:
    budget = size // bytes_per_array + 16
    return budget if max_arrays is None else min(budget, max_arrays)


def _check_wire_types(obj: Any, max_depth: int, allowed: frozenset[type]) -> None:
    """Only `allowed` types, nested at most ``max_depth`` lists deep: a pass per level, each
    list's item types gathered in C, so a list of scalars costs no Python step per item."""
    if type(obj) not in allowed:
        raise GameDecodeError(f"{type(obj).__name__} values are not allowed")
    level = [obj] if type(obj) is list else []
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            raise GameDecodeError(f"nested deeper than {max_depth} levels")
        deeper: list[list[Any]] = []
        for items in level:
            kinds = set(map(type, items))
            if not kinds <= allowed:
                name = min(kind.__name__ for kind in kinds - allowed)
                raise GameDecodeError(f"{name} values are not allowed")
            if list in kinds:
                deeper.extend(item for item in items if type(item) is list)
        level = deeper
