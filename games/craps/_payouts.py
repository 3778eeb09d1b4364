"""What each bet pays when it wins, as a ratio to its stake ("7 to 6" is 7/6)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ._config import TableConfig
from ._kinds import ONE_ROLL_BETS, BetKind, hop_faces
from ._money import bank_pays, player_pays

TRUE_ODDS = {4: Fraction(2), 5: Fraction(3, 2), 6: Fraction(6, 5)}
TRUE_ODDS |= {8: TRUE_ODDS[6], 9: TRUE_ODDS[5], 10: TRUE_ODDS[4]}
PLACE_PAYS = {4: Fraction(9, 5), 5: Fraction(7, 5), 6: Fraction(7, 6)}
PLACE_PAYS |= {8: PLACE_PAYS[6], 9: PLACE_PAYS[5], 10: PLACE_PAYS[4]}
HARDWAY_PAYS = {4: Fraction(7), 6: Fraction(9), 8: Fraction(9), 10: Fraction(7)}
CRAPS = frozenset({2, 3, 12})

# Horn: a quarter of the stake on each of 2, 3, 11, 12; the winning quarter is paid at its
# own odds (30:1 or 15:1) and the other three quarters lose. C&E: half on any craps (7:1),
# half on 11 (15:1). The ratios below are those nets on the whole stake.
HORN_HIGH = Fraction(30 - 3, 4)
HORN_LOW = Fraction(15 - 3, 4)
C_AND_E_CRAPS = Fraction(7 - 1, 2)
C_AND_E_ELEVEN = Fraction(15 - 1, 2)


@dataclass(frozen=True, slots=True)
class Dice:
    """Two die faces, each 1..6."""

    die1: int
    die2: int

    def __post_init__(self) -> None:
        for face in (self.die1, self.die2):
            if type(face) is not int or not 1 <= face <= 6:
                raise ValueError("a die face is an integer 1..6")

    @property
    def total(self) -> int:
        return self.die1 + self.die2

    @property
    def hard(self) -> bool:
        return self.die1 == self.die2


ALL_DICE = tuple(Dice(a, b) for a in range(1, 7) for b in range(1, 7))


def one_roll_pays(kind: BetKind, number: int | None, dice: Dice, cfg: TableConfig) -> Fraction:
    """The win ratio of a one-roll bet on this roll; 0 means it loses."""
    total = dice.total
    if kind is BetKind.FIELD:
        field = {2: Fraction(cfg.field_2_pays), 12: Fraction(cfg.field_12_pays)}
        return field.get(total, Fraction(1 if total in (3, 4, 9, 10, 11) else 0))
    if kind is BetKind.HOP:
        assert number is not None
        if sorted((dice.die1, dice.die2)) != list(hop_faces(number)):
            return Fraction(0)
        return Fraction(30 if dice.hard else 15)
    if kind is BetKind.HORN:
        return {2: HORN_HIGH, 12: HORN_HIGH, 3: HORN_LOW, 11: HORN_LOW}.get(total, Fraction(0))
    if kind is BetKind.C_AND_E:
        return C_AND_E_ELEVEN if total == 11 else C_AND_E_CRAPS if total in CRAPS else Fraction(0)
    ratio, wins = {
        BetKind.ANY_SEVEN: (4, total == 7),
        BetKind.ANY_CRAPS: (7, total in CRAPS),
        BetKind.ACES: (30, total == 2),
        BetKind.BOXCARS: (30, total == 12),
        BetKind.ACE_DEUCE: (15, total == 3),
        BetKind.YO: (15, total == 11),
    }[kind]
    return Fraction(ratio if wins else 0)


def multi_roll_pays(kind: BetKind, number: int) -> Fraction:
    """The win ratio of a bet that stays up until its number or a seven decides it."""
    if kind in (BetKind.ODDS, BetKind.BUY):
        return TRUE_ODDS[number]
    if kind in (BetKind.LAY_ODDS, BetKind.LAY):
        return 1 / TRUE_ODDS[number]
    if kind is BetKind.PLACE:
        return PLACE_PAYS[number]
    if kind is BetKind.HARDWAY:
        return HARDWAY_PAYS[number]
    return Fraction(1)  # line bets and big 6 / big 8 pay even money


def commission(kind: BetKind, number: int | None, stake: int, cfg: TableConfig) -> int:
    """The commission on a buy (a share of the stake) or a lay (a share of what it wins)."""
    if kind is BetKind.BUY:
        return player_pays(stake, cfg.commission_percent)
    if kind is BetKind.LAY:
        assert number is not None
        return player_pays(bank_pays(stake, multi_roll_pays(kind, number)), cfg.commission_percent)
    return 0


def max_ratio(kind: BetKind, number: int | None, cfg: TableConfig) -> Fraction:
    """The largest win ratio a bet could be paid at: what the bank must be able to cover."""
    if kind in ONE_ROLL_BETS:
        return max(one_roll_pays(kind, number, dice, cfg) for dice in ALL_DICE)
    if number is None:  # a line bet that has not moved to a number yet
        return Fraction(1)
    return multi_roll_pays(kind, number)
