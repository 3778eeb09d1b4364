"""The bets on a craps layout, which numbers each takes, and how each behaves over time."""

from __future__ import annotations

from enum import Enum

POINTS = (4, 5, 6, 8, 9, 10)


class BetKind(Enum):
    """A bet on the layout; the value is its name on the wire and in the docs."""

    PASS = "pass"
    DONT_PASS = "dont_pass"
    COME = "come"
    DONT_COME = "dont_come"
    ODDS = "odds"  # taken behind a pass or come bet
    LAY_ODDS = "lay_odds"  # laid behind a don't pass or don't come bet
    FIELD = "field"
    PLACE = "place"
    BUY = "buy"
    LAY = "lay"
    BIG = "big"  # big 6 / big 8
    HARDWAY = "hardway"
    ANY_SEVEN = "any_seven"
    ANY_CRAPS = "any_craps"
    ACES = "aces"
    ACE_DEUCE = "ace_deuce"
    YO = "yo"
    BOXCARS = "boxcars"
    HORN = "horn"
    C_AND_E = "c_and_e"
    HOP = "hop"


class Working(Enum):
    """Whether a bet acts on the next roll: the table's default for it, or the player's call."""

    DEFAULT = 0
    ON = 1
    OFF = 2


LINE_BETS = frozenset({BetKind.PASS, BetKind.DONT_PASS, BetKind.COME, BetKind.DONT_COME})
DONT_BETS = frozenset({BetKind.DONT_PASS, BetKind.DONT_COME})
ODDS_BETS = frozenset({BetKind.ODDS, BetKind.LAY_ODDS})
NUMBER_BETS = frozenset({BetKind.PLACE, BetKind.BUY, BetKind.LAY, BetKind.BIG, BetKind.HARDWAY})
ONE_ROLL_BETS = frozenset(
    {
        BetKind.FIELD,
        BetKind.ANY_SEVEN,
        BetKind.ANY_CRAPS,
        BetKind.ACES,
        BetKind.ACE_DEUCE,
        BetKind.YO,
        BetKind.BOXCARS,
        BetKind.HORN,
        BetKind.C_AND_E,
        BetKind.HOP,
    }
)
# Bets the player may switch off and on again; every other bet always works.
SWITCHABLE_BETS = NUMBER_BETS | ODDS_BETS
# Bets whose stake must split evenly over their parts.
STAKE_DIVISOR = {BetKind.HORN: 4, BetKind.C_AND_E: 2}


def hop_code(low: int, high: int) -> int:
    """The ``number`` of a hop bet on faces ``low`` and ``high``: 10*low + high, low <= high."""
    if not 1 <= low <= high <= 6:
        raise ValueError(f"a hop is two faces 1..6 in order, got {low} and {high}")
    return 10 * low + high


def hop_faces(code: int) -> tuple[int, int]:
    low, high = divmod(code, 10)
    return low, high


HOP_CODES = frozenset(hop_code(a, b) for a in range(1, 7) for b in range(a, 7))

_NUMBERS: dict[BetKind, frozenset[int]] = {
    BetKind.PLACE: frozenset(POINTS),
    BetKind.BUY: frozenset(POINTS),
    BetKind.LAY: frozenset(POINTS),
    BetKind.BIG: frozenset({6, 8}),
    BetKind.HARDWAY: frozenset({4, 6, 8, 10}),
    BetKind.HOP: HOP_CODES,
}


def numbers_for(kind: BetKind) -> frozenset[int]:
    """The numbers a bet of this kind is placed on; empty if it takes none."""
    return _NUMBERS.get(kind, frozenset())


def takes_number(kind: BetKind, number: int | None) -> bool:
    """Whether a bet of this kind may be placed with this ``number`` (None: no number)."""
    numbers = numbers_for(kind)
    return number in numbers if numbers else number is None


def describe(kind: BetKind, number: int | None) -> str:
    """How a player would call the bet: "place 6", "hop 2-4", "pass"."""
    name = kind.value.replace("_", " ")
    if number is None:
        return name
    if kind is BetKind.HOP:
        low, high = hop_faces(number)
        return f"hop {low}-{high}"
    if kind is BetKind.BIG:
        return f"big {number}"
    return f"{name} {number}"
