"""Craps itself, without chips: what a roll does to the point and to each bet on the layout."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from fractions import Fraction

from ._config import TableConfig
from ._kinds import DONT_BETS, LINE_BETS, ODDS_BETS, ONE_ROLL_BETS, POINTS, BetKind, Working
from ._payouts import CRAPS, Dice, multi_roll_pays, one_roll_pays


class Outcome(Enum):
    WIN = "win"
    LOSE = "lose"
    PUSH = "push"  # a tie: the stake comes back (don't pass / don't come on the barred 12)
    RETURNED = "returned"  # the bet came down unresolved: taken down, or off when decided


class RollCall(Enum):
    """What the stickman calls: the roll's meaning for the point."""

    NATURAL = "natural"  # 7 or 11 on the come-out
    CRAPS = "craps"  # 2, 3 or 12 on the come-out
    POINT_SET = "point_set"
    POINT_MADE = "point_made"
    SEVEN_OUT = "seven_out"
    NO_DECISION = "no_decision"  # any other roll while a point is on


@dataclass(frozen=True, slots=True)
class Decision:
    """A bet is decided: ``ratio`` is its win ratio when the outcome is a win."""

    outcome: Outcome
    ratio: Fraction = Fraction(0)


@dataclass(frozen=True, slots=True)
class Travel:
    """A come or pass bet moves to the number just rolled."""

    number: int


LOSE = Decision(Outcome.LOSE)
PUSH = Decision(Outcome.PUSH)
RETURN = Decision(Outcome.RETURNED)


def call_roll(point: int | None, dice: Dice) -> tuple[RollCall, int | None]:
    """The roll's call and the point after it (None: the next roll is a come-out)."""
    total = dice.total
    if point is None:
        if total in (7, 11):
            return RollCall.NATURAL, None
        if total in CRAPS:
            return RollCall.CRAPS, None
        return RollCall.POINT_SET, total
    if total == point:
        return RollCall.POINT_MADE, None
    if total == 7:
        return RollCall.SEVEN_OUT, None
    return RollCall.NO_DECISION, point


def is_working(kind: BetKind, working: Working, come_out: bool, cfg: TableConfig) -> bool:
    """Whether a bet acts on the next roll; only switchable bets can be anything but on."""
    if working is not Working.DEFAULT:
        return working is Working.ON
    if not come_out:
        return True
    return {
        BetKind.ODDS: cfg.come_odds_work_on_come_out,
        BetKind.PLACE: cfg.place_buy_work_on_come_out,
        BetKind.BUY: cfg.place_buy_work_on_come_out,
        BetKind.LAY: cfg.lay_works_on_come_out,
        BetKind.HARDWAY: cfg.hardways_work_on_come_out,
    }.get(kind, True)


def decide(
    kind: BetKind, number: int | None, working: bool, dice: Dice, cfg: TableConfig
) -> Decision | Travel | None:
    """What this roll does to one bet: decides it, moves it to a number, or nothing (None)."""
    if kind in ONE_ROLL_BETS:
        ratio = one_roll_pays(kind, number, dice, cfg)
        return Decision(Outcome.WIN, ratio) if ratio else LOSE
    if kind in LINE_BETS:
        return _decide_line(kind, number, dice)
    assert number is not None
    total = dice.total
    if total not in (7, number):
        return None
    if not working:
        # An odds bet that is off comes back when its line bet is decided; other bets stay.
        return RETURN if kind in ODDS_BETS else None
    wins_on_seven = kind in (BetKind.LAY, BetKind.LAY_ODDS)
    if kind is BetKind.HARDWAY and total == number and not dice.hard:
        return LOSE
    if (total == 7) == wins_on_seven:
        return Decision(Outcome.WIN, multi_roll_pays(kind, number))
    return LOSE


def _decide_line(kind: BetKind, number: int | None, dice: Dice) -> Decision | Travel | None:
    total = dice.total
    dont = kind in DONT_BETS
    if number is None:  # first roll of a pass bet (come-out) or of a come bet
        if total in POINTS:
            return Travel(total)
        if total == 12 and dont:
            return PUSH
        wins = total in (7, 11)
        return Decision(Outcome.WIN, Fraction(1)) if wins != dont else LOSE
    if total not in (7, number):
        return None
    wins = total == number
    return Decision(Outcome.WIN, Fraction(1)) if wins != dont else LOSE
