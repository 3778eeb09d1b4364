"""A craps table's house rules: limits, odds multiples, field pays, commission, bankroll."""

from __future__ import annotations

from dataclasses import dataclass, fields

from .._ledger import MAX_CHIPS
from ._kinds import POINTS

MAX_PLAYERS = 64
MAX_BETS_PER_PLAYER = 256
MAX_SHOOTER_TIMEOUT_TICKS = 10_000_000
DEFAULT_SHOOTER_TIMEOUT_TICKS = 1_200
"""60 s at the node's default tick of 50 ms."""


@dataclass(frozen=True, slots=True)
class TableConfig:
    """House rules, fixed for the life of a table (they are part of its state).

    ``odds_multiples`` gives, for the points 4, 5, 6, 8, 9, 10 in that order, how many times
    the flat bet the odds behind it may be (3-4-5x by default). Lay odds are limited so that
    what they would win is at most that multiple of the flat bet. Field 2 and 12 pay
    ``field_2_pays``:1 and ``field_12_pays``:1. The ``*_on_come_out`` flags say whether a bet
    left at the table's default works on a come-out roll.

    ``shooter_timeout_ticks`` is for a replicated table's layer, not the rules: a shooter who
    has not asked for the next roll after that many of a replica's ticks loses the dice once
    f+1 replicas say so (`bitcraps.games.craps_app`). It is here so every replica has the same.
    """

    min_bet: int = 5
    max_bet: int = 5_000
    bankroll: int = 1_000_000
    odds_multiples: tuple[int, ...] = (3, 4, 5, 5, 4, 3)
    field_2_pays: int = 2
    field_12_pays: int = 3
    commission_percent: int = 5
    commission_on_win_only: bool = True
    come_odds_work_on_come_out: bool = False
    place_buy_work_on_come_out: bool = False
    lay_works_on_come_out: bool = False
    hardways_work_on_come_out: bool = False
    max_players: int = 16
    max_bets_per_player: int = 64
    shooter_timeout_ticks: int = DEFAULT_SHOOTER_TIMEOUT_TICKS

    def __post_init__(self) -> None:
        for spec in fields(self):
            value = getattr(self, spec.name)
            if spec.type in ("bool", bool) and type(value) is not bool:
                raise ValueError(f"{spec.name} must be a bool")
            if spec.type in ("int", int) and type(value) is not int:
                raise ValueError(f"{spec.name} must be an integer")
        _check_range("min_bet", self.min_bet, 1, MAX_CHIPS)
        _check_range("max_bet", self.max_bet, self.min_bet, MAX_CHIPS)
        _check_range("bankroll", self.bankroll, 0, MAX_CHIPS)
        _check_range("field_2_pays", self.field_2_pays, 1, 1000)
        _check_range("field_12_pays", self.field_12_pays, 1, 1000)
        _check_range("commission_percent", self.commission_percent, 0, 100)
        _check_range("max_players", self.max_players, 1, MAX_PLAYERS)
        _check_range("max_bets_per_player", self.max_bets_per_player, 1, MAX_BETS_PER_PLAYER)
        _check_range(
            "shooter_timeout_ticks", self.shooter_timeout_ticks, 1, MAX_SHOOTER_TIMEOUT_TICKS
        )
        multiples = self.odds_multiples
        if type(multiples) is not tuple or len(multiples) != len(POINTS):
            raise ValueError("odds_multiples must be a tuple of 6 integers (points 4..10)")
        for point, multiple in zip(POINTS, multiples, strict=True):
            if type(multiple) is not int or not 0 <= multiple <= 1000:
                raise ValueError(f"odds multiple for {point} must be an integer in [0, 1000]")

    def odds_multiple(self, point: int) -> int:
        return self.odds_multiples[POINTS.index(point)]


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value}")
