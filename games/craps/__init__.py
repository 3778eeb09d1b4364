"""bitcraps.games.craps: the craps rules engine and its chip ledger, pure and deterministic.

    table = CrapsTable()
    state = table.initial_state(TableConfig(min_bet=5, max_bet=500, bankroll=100_000))
    state, events = table.apply(state, Join(alice, 1_000))
    state, events = table.apply(state, PlaceBet(alice, BetKind.PASS, 10))
    state, events = table.apply(state, Roll(alice, state.roll_number, 3, 4))  # a natural

See docs/craps.md for the bets, payouts, rounding and bank-coverage rules.
"""

from .._api import ActionRejected, Code, Game, GameDecodeError, Rejection, state_digest
from .._ledger import Ledger, LedgerError
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
from ._bets import max_win
from ._codec import (
    decode_action,
    decode_events,
    decode_state,
    encode_action,
    encode_events,
    encode_state,
)
from ._config import DEFAULT_SHOOTER_TIMEOUT_TICKS, MAX_SHOOTER_TIMEOUT_TICKS, TableConfig
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
from ._kinds import POINTS, BetKind, Working, describe, hop_code, numbers_for
from ._money import bank_pays, player_pays, whole_chips
from ._payouts import Dice
from ._rules import Outcome, RollCall
from ._state import Bet, CrapsState
from ._table import CrapsTable

__all__ = [
    "DEFAULT_SHOOTER_TIMEOUT_TICKS",
    "MAX_SHOOTER_TIMEOUT_TICKS",
    "ActionRejected",
    "Code",
    "Game",
    "GameDecodeError",
    "Ledger",
    "LedgerError",
    "Rejection",
    "state_digest",
    "Action",
    "Bet",
    "BetKind",
    "BetPlaced",
    "BetSwitched",
    "BetTravelled",
    "CashOut",
    "CashedOut",
    "CrapsState",
    "CrapsTable",
    "Dice",
    "DicePassed",
    "Event",
    "Join",
    "Joined",
    "Leave",
    "Left",
    "Outcome",
    "POINTS",
    "PassDice",
    "PlaceBet",
    "PlaceOdds",
    "Roll",
    "RollCall",
    "RollRequest",
    "RollRequested",
    "Rolled",
    "Settled",
    "ShooterChanged",
    "StateInvariantError",
    "TableConfig",
    "TakeDown",
    "TurnOff",
    "TurnOn",
    "Working",
    "bank_pays",
    "check_state",
    "decode_action",
    "decode_events",
    "decode_state",
    "describe",
    "encode_action",
    "encode_events",
    "encode_state",
    "hop_code",
    "max_win",
    "numbers_for",
    "player_pays",
    "whole_chips",
]
