"""Canonical bytes for craps actions, events and whole table states, and strict decoders.

Any bytes given to a decoder come back as a value or one `GameDecodeError`. A decoded state
is also checked against every invariant of a reachable state (`check_state`), so a restored
snapshot is one the rules could have produced.
"""

from __future__ import annotations

from dataclasses import astuple, fields
from typing import Any

from .._api import (
    MAX_ACTION_BYTES,
    MAX_EVENTS_BYTES,
    MAX_STATE_BYTES,
    GameDecodeError,
    pack,
    unpack,
)
from .._ledger import Account, Escrow, Ledger
from ._actions import (
    Action,
    CashOut,
    Join,
    Leave,
    PassDice,
    PlaceBet,
    PlaceOdds,
    Roll,
    RollRequest,
    TakeDown,
    TurnOff,
    TurnOn,
)
from ._config import MAX_BETS_PER_PLAYER, MAX_PLAYERS, TableConfig
from ._events import (
    BetPlaced,
    BetSwitched,
    BetTravelled,
    CashedOut,
    DicePassed,
    Event,
    Joined,
    Left,
    Rolled,
    RollRequested,
    Settled,
    ShooterChanged,
)
from ._invariants import StateInvariantError, check_state
from ._state import Bet, CrapsState
from ._wire import FIELD_KINDS, RecordCodec

# Version 2 states have no idle players; version 3 adds them as a last field. A state with
# no idle player is written as version 2 (so one state has one encoding, and states written
# before idle players existed read back unchanged), any other as version 3.
STATE_VERSION = 2
IDLE_STATE_VERSION = 3
MAX_EVENTS = 4096

ACTIONS = RecordCodec(
    (
        Join,
        PlaceBet,
        PlaceOdds,
        TakeDown,
        TurnOff,
        TurnOn,
        RollRequest,
        Roll,
        CashOut,
        Leave,
        PassDice,
    )
)
EVENTS = RecordCodec(
    (
        Joined,
        BetPlaced,
        BetSwitched,
        RollRequested,
        Rolled,
        BetTravelled,
        Settled,
        ShooterChanged,
        CashedOut,
        Left,
        DicePassed,
    )
)


def encode_action(action: Action) -> bytes:
    return pack(ACTIONS.to_wire(action))


def decode_action(data: bytes) -> Action:
    action: Action = ACTIONS.from_wire(unpack(data, MAX_ACTION_BYTES, max_depth=1, max_arrays=1))
    return action


def encode_events(events: tuple[Event, ...]) -> bytes:
    return pack([EVENTS.to_wire(event) for event in events])


def decode_events(data: bytes) -> tuple[Event, ...]:
    obj = unpack(data, MAX_EVENTS_BYTES, max_depth=2, max_arrays=1 + MAX_EVENTS)
    if type(obj) is not list or len(obj) > MAX_EVENTS:
        raise GameDecodeError(f"expected a list of at most {MAX_EVENTS} events")
    return tuple(EVENTS.from_wire(item) for item in obj)


# --- states ------------------------------------------------------------------------------


def encode_state(state: CrapsState) -> bytes:
    ledger = state.ledger
    idle = [list(state.idle)] if state.idle else []
    return pack(
        [
            IDLE_STATE_VERSION if state.idle else STATE_VERSION,
            [_config_field(value) for value in astuple(state.config)],
            [
                ledger.bankroll,
                ledger.bank,
                ledger.bought_in,
                ledger.cashed_out,
                [[a.player, a.balance] for a in ledger.accounts],
                [[e.bet_id, e.player, e.amount, e.max_win] for e in ledger.escrows],
            ],
            list(state.seats),
            state.shooter,
            state.point,
            state.roll_number,
            state.roll_pending,
            [list(roll) for roll in state.recent_rolls],
            state.next_bet_id,
            [_bet_to_wire(bet) for bet in state.bets],
            state.hand,
            *idle,
        ]
    )


def decode_state(data: bytes) -> CrapsState:
    obj = _unpack_state(data)
    version = obj[0] if type(obj) is list and obj else None
    if type(version) is not int or version not in (STATE_VERSION, IDLE_STATE_VERSION):
        raise GameDecodeError(f"unknown state version (this build reads {STATE_VERSION} "
                              f"and {IDLE_STATE_VERSION})")
    obj = _fields(obj, 12 if version == STATE_VERSION else 13, "state")
    _, config, ledger, seats, shooter, point, rolls, pending, recent, next_id, bets, hand = obj[:12]
    idle = _items(obj[12], "idle") if version == IDLE_STATE_VERSION else []
    if version == IDLE_STATE_VERSION and not idle:
        raise GameDecodeError("a version 3 state has idle players (else it is version 2)")
    players, ints, flags = FIELD_KINDS["bytes"][1], FIELD_KINDS["int"][1], FIELD_KINDS["bool"][1]
    try:
        state = CrapsState(
            config=_decode_config(config),
            ledger=_decode_ledger(ledger),
            seats=tuple(players(p) for p in _items(seats, "seats")),
            shooter=FIELD_KINDS["bytes | None"][1](shooter),
            point=FIELD_KINDS["int | None"][1](point),
            roll_number=ints(rolls),
            roll_pending=flags(pending),
            recent_rolls=tuple(_roll_pair(r) for r in _items(recent, "recent rolls")),
            next_bet_id=ints(next_id),
            bets=tuple(_bet_from_wire(b) for b in _items(bets, "bets")),
            hand=ints(hand),
            idle=tuple(players(p) for p in idle),
        )
        check_state(state)
    except (StateInvariantError, ValueError) as exc:
        raise GameDecodeError(f"not a valid craps state: {exc}") from None
    return state


# A state nests four arrays deep (state, ledger, accounts, each account) and holds at most
# a bet and an escrow per bet of every seat, plus accounts, rolls and config.
STATE_DEPTH = 4
MAX_STATE_BETS = MAX_PLAYERS * MAX_BETS_PER_PLAYER
MAX_STATE_ARRAYS = 3 * MAX_STATE_BETS + 1024


def _unpack_state(data: bytes) -> Any:
    # Items: each bet's fields and its escrow's four, with room for accounts, seats, rolls.
    return unpack(data, MAX_STATE_BYTES, max_depth=STATE_DEPTH, max_arrays=MAX_STATE_ARRAYS,
                  max_items=(len(_BET_FIELDS) + 8) * MAX_STATE_BETS + 4096,
                  max_array_len=MAX_STATE_BETS)


def _config_field(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _decode_config(obj: Any) -> TableConfig:
    specs = fields(TableConfig)
    items = _fields(obj, len(specs), "config")
    values: list[Any] = [tuple(v) if type(v) is list else v for v in items]
    return TableConfig(*values)


def _decode_ledger(obj: Any) -> Ledger:
    ints, players = FIELD_KINDS["int"][1], FIELD_KINDS["bytes"][1]
    bankroll, bank, bought_in, cashed_out, accounts, escrows = _fields(obj, 6, "ledger")
    return Ledger(
        bankroll=ints(bankroll),
        bank=ints(bank),
        bought_in=ints(bought_in),
        cashed_out=ints(cashed_out),
        accounts=tuple(
            Account(players(p), ints(b))
            for p, b in (_fields(a, 2, "account") for a in _items(accounts, "accounts"))
        ),
        escrows=tuple(
            Escrow(ints(i), players(p), ints(a), ints(m))
            for i, p, a, m in (_fields(e, 4, "escrow") for e in _items(escrows, "escrows"))
        ),
    )


_BET_FIELDS = tuple(FIELD_KINDS[str(spec.type)] for spec in fields(Bet))


def _bet_to_wire(bet: Bet) -> list[Any]:
    specs = zip(fields(Bet), _BET_FIELDS, strict=True)
    return [encode(getattr(bet, spec.name)) for spec, (encode, _) in specs]


def _bet_from_wire(obj: Any) -> Bet:
    items = _fields(obj, len(_BET_FIELDS), "bet")
    return Bet(*(decode(item) for (_, decode), item in zip(_BET_FIELDS, items, strict=True)))


def _roll_pair(obj: Any) -> tuple[int, int]:
    die1, die2 = _fields(obj, 2, "roll")
    ints = FIELD_KINDS["int"][1]
    return ints(die1), ints(die2)


def _items(obj: Any, what: str) -> list[Any]:
    if type(obj) is not list:
        raise GameDecodeError(f"{what}: expected a list")
    return obj


def _fields(obj: Any, count: int, what: str) -> list[Any]:
    if type(obj) is not list or len(obj) != count:
        raise GameDecodeError(f"{what}: expected a list of {count} items")
    return obj
