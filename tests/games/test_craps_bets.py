"""Every bet on the layout: how it wins, loses or pushes, and what it pays."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from craps_helpers import ALICE, FACES, HARD, TABLE, act, roll, roll_total, settled, table

from bitcraps.games.craps import (
    BetKind,
    Code,
    CrapsState,
    Outcome,
    PlaceBet,
    PlaceOdds,
    TableConfig,
    TurnOff,
    TurnOn,
    hop_code,
)

K = BetKind
WIN, LOSE, PUSH, RETURNED = Outcome.WIN, Outcome.LOSE, Outcome.PUSH, Outcome.RETURNED
UPFRONT = TableConfig(commission_on_win_only=False)


@dataclass(frozen=True)
class Case:
    """Bet ``amount`` on ``kind``/``number`` (after rolling ``point``, if given), then roll
    ``rolls`` (totals, or face pairs): the last roll decides the bet as expected."""

    kind: BetKind
    number: int | None
    amount: int
    rolls: tuple[int | tuple[int, int], ...]
    outcome: Outcome
    paid: int = 0
    point: int | None = None
    commission: int = 0
    returned: int | None = None
    config: TableConfig = field(default_factory=TableConfig)

    def expected_returned(self, escrow: int) -> int:
        if self.returned is not None:
            return self.returned
        return 0 if self.outcome is LOSE else escrow if self.outcome is not WIN else self.amount


def C(kind, number, amount, rolls, outcome, paid=0, **kw) -> Case:  # noqa: ANN001
    return Case(kind, number, amount, tuple(rolls), outcome, paid, **kw)


CASES = {
    # pass line: naturals win, craps lose, a point wins before a seven
    "pass 7": C(K.PASS, None, 10, [7], WIN, 10),
    "pass 11": C(K.PASS, None, 10, [11], WIN, 10),
    "pass 2": C(K.PASS, None, 10, [2], LOSE),
    "pass 3": C(K.PASS, None, 10, [3], LOSE),
    "pass 12": C(K.PASS, None, 10, [12], LOSE),
    "pass point made": C(K.PASS, None, 10, [4, 8, 4], WIN, 10),
    "pass seven out": C(K.PASS, None, 10, [10, 7], LOSE),
    "dont pass 2": C(K.DONT_PASS, None, 10, [2], WIN, 10),
    "dont pass 3": C(K.DONT_PASS, None, 10, [3], WIN, 10),
    "dont pass bar 12": C(K.DONT_PASS, None, 10, [12], PUSH),
    "dont pass 7": C(K.DONT_PASS, None, 10, [7], LOSE),
    "dont pass 11": C(K.DONT_PASS, None, 10, [11], LOSE),
    "dont pass seven out": C(K.DONT_PASS, None, 10, [9, 11, 7], WIN, 10),
    "dont pass point made": C(K.DONT_PASS, None, 10, [4, 4], LOSE),
    # come / don't come: the same, starting on any roll once a point is on
    "come 7": C(K.COME, None, 10, [7], WIN, 10, point=6),
    "come 11": C(K.COME, None, 10, [11], WIN, 10, point=6),
    "come 2": C(K.COME, None, 10, [2], LOSE, point=6),
    "come 3": C(K.COME, None, 10, [3], LOSE, point=6),
    "come 12": C(K.COME, None, 10, [12], LOSE, point=6),
    "come travels and wins": C(K.COME, None, 10, [5, 5], WIN, 10, point=6),
    "come wins on a come-out": C(K.COME, None, 10, [5, 6, 5], WIN, 10, point=6),
    "come travels and loses": C(K.COME, None, 10, [5, 7], LOSE, point=6),
    "dont come 2": C(K.DONT_COME, None, 10, [2], WIN, 10, point=6),
    "dont come 3": C(K.DONT_COME, None, 10, [3], WIN, 10, point=6),
    "dont come bar 12": C(K.DONT_COME, None, 10, [12], PUSH, point=6),
    "dont come 7": C(K.DONT_COME, None, 10, [7], LOSE, point=6),
    "dont come 11": C(K.DONT_COME, None, 10, [11], LOSE, point=6),
    "dont come travels and wins": C(K.DONT_COME, None, 10, [5, 7], WIN, 10, point=6),
    "dont come travels and loses": C(K.DONT_COME, None, 10, [5, 5], LOSE, point=6),
    # field
    "field 2 pays double": C(K.FIELD, None, 10, [2], WIN, 20),
    "field 12 pays triple": C(K.FIELD, None, 10, [12], WIN, 30),
    "field 12 at 2:1": C(K.FIELD, None, 10, [12], WIN, 20, config=TableConfig(field_12_pays=2)),
    **{f"field {t}": C(K.FIELD, None, 10, [t], WIN, 10) for t in (3, 4, 9, 10, 11)},
    **{f"field {t} loses": C(K.FIELD, None, 10, [t], LOSE) for t in (5, 6, 7, 8)},
    # place: 9:5, 7:5, 7:6; off on the come-out by default
    "place 4": C(K.PLACE, 4, 10, [4], WIN, 18, point=5),
    "place 10": C(K.PLACE, 10, 10, [10], WIN, 18, point=5),
    "place 5": C(K.PLACE, 5, 10, [5], WIN, 14, point=4),
    "place 9": C(K.PLACE, 9, 10, [9], WIN, 14, point=4),
    "place 6": C(K.PLACE, 6, 12, [6], WIN, 14, point=4),
    "place 8": C(K.PLACE, 8, 12, [8], WIN, 14, point=4),
    "place 6 seven": C(K.PLACE, 6, 12, [5, 7], LOSE, point=4),
    "place 6 off on come-out": C(K.PLACE, 6, 12, [7, 6, 6], WIN, 14),
    # buy: true odds less 5% of the stake, on a win
    "buy 4": C(K.BUY, 4, 20, [4], WIN, 39, point=5, commission=1),
    "buy 10": C(K.BUY, 10, 20, [10], WIN, 39, point=5, commission=1),
    "buy 5": C(K.BUY, 5, 20, [5], WIN, 29, point=4, commission=1),
    "buy 9": C(K.BUY, 9, 20, [9], WIN, 29, point=4, commission=1),
    "buy 6": C(K.BUY, 6, 20, [6], WIN, 23, point=4, commission=1),
    "buy 8": C(K.BUY, 8, 20, [8], WIN, 23, point=4, commission=1),
    "buy 6 seven": C(K.BUY, 6, 20, [7], LOSE, point=4),
    "buy 4 up front wins": C(K.BUY, 4, 20, [4], WIN, 40, point=5, commission=1, config=UPFRONT),
    "buy 4 up front loses": C(K.BUY, 4, 20, [7], LOSE, point=5, commission=1, config=UPFRONT),
    # lay: wins on a seven at true odds less 5% of the win
    "lay 4": C(K.LAY, 4, 40, [7], WIN, 19, point=5, commission=1),
    "lay 10": C(K.LAY, 10, 40, [10], LOSE, point=5),
    "lay 5": C(K.LAY, 5, 30, [7], WIN, 19, point=4, commission=1),
    "lay 9": C(K.LAY, 9, 30, [9], LOSE, point=4),
    "lay 6": C(K.LAY, 6, 24, [7], WIN, 19, point=4, commission=1),
    "lay 8": C(K.LAY, 8, 24, [3, 8], LOSE, point=4),
    "lay 4 off on come-out": C(K.LAY, 4, 40, [7, 4, 7], WIN, 19, commission=1),
    "lay 4 up front wins": C(K.LAY, 4, 40, [7], WIN, 20, point=5, commission=1, config=UPFRONT),
    "lay 4 up front loses": C(K.LAY, 4, 40, [4], LOSE, point=5, commission=1, config=UPFRONT),
    # big 6 / big 8: even money, working on the come-out
    "big 6": C(K.BIG, 6, 10, [6], WIN, 10),
    "big 8": C(K.BIG, 8, 10, [8], WIN, 10),
    "big 6 come-out seven": C(K.BIG, 6, 10, [7], LOSE),
    "big 8 seven": C(K.BIG, 8, 10, [5, 7], LOSE, point=4),
    # hardways: lose to a seven or the easy way; off on the come-out by default
    "hard 4": C(K.HARDWAY, 4, 10, [HARD[4]], WIN, 70, point=5),
    "hard 10": C(K.HARDWAY, 10, 10, [HARD[10]], WIN, 70, point=5),
    "hard 6": C(K.HARDWAY, 6, 10, [HARD[6]], WIN, 90, point=5),
    "hard 8": C(K.HARDWAY, 8, 10, [HARD[8]], WIN, 90, point=5),
    "hard 4 easy": C(K.HARDWAY, 4, 10, [(1, 3)], LOSE, point=5),
    "hard 6 easy": C(K.HARDWAY, 6, 10, [(1, 5)], LOSE, point=5),
    "hard 8 easy": C(K.HARDWAY, 8, 10, [(2, 6)], LOSE, point=5),
    "hard 10 seven": C(K.HARDWAY, 10, 10, [7], LOSE, point=5),
    "hard 6 off on come-out": C(K.HARDWAY, 6, 10, [7, HARD[6], HARD[6]], WIN, 90),
    # one-roll propositions
    "any seven": C(K.ANY_SEVEN, None, 10, [7], WIN, 40),
    "any seven loses": C(K.ANY_SEVEN, None, 10, [6], LOSE),
    "any craps 2": C(K.ANY_CRAPS, None, 10, [2], WIN, 70),
    "any craps 3": C(K.ANY_CRAPS, None, 10, [3], WIN, 70),
    "any craps 12": C(K.ANY_CRAPS, None, 10, [12], WIN, 70),
    "any craps loses": C(K.ANY_CRAPS, None, 10, [7], LOSE),
    "aces": C(K.ACES, None, 10, [2], WIN, 300),
    "aces loses": C(K.ACES, None, 10, [3], LOSE),
    "boxcars": C(K.BOXCARS, None, 10, [12], WIN, 300),
    "boxcars loses": C(K.BOXCARS, None, 10, [11], LOSE),
    "ace deuce": C(K.ACE_DEUCE, None, 10, [3], WIN, 150),
    "ace deuce loses": C(K.ACE_DEUCE, None, 10, [2], LOSE),
    "yo": C(K.YO, None, 10, [11], WIN, 150),
    "yo loses": C(K.YO, None, 10, [12], LOSE),
    "horn 2": C(K.HORN, None, 8, [2], WIN, 54),
    "horn 12": C(K.HORN, None, 8, [12], WIN, 54),
    "horn 3": C(K.HORN, None, 8, [3], WIN, 24),
    "horn 11": C(K.HORN, None, 8, [11], WIN, 24),
    "horn loses": C(K.HORN, None, 8, [7], LOSE),
    "c and e 2": C(K.C_AND_E, None, 10, [2], WIN, 30),
    "c and e 3": C(K.C_AND_E, None, 10, [3], WIN, 30),
    "c and e 12": C(K.C_AND_E, None, 10, [12], WIN, 30),
    "c and e 11": C(K.C_AND_E, None, 10, [11], WIN, 70),
    "c and e loses": C(K.C_AND_E, None, 10, [7], LOSE),
    "hop 2-4": C(K.HOP, hop_code(2, 4), 10, [(2, 4)], WIN, 150),
    "hop 2-4 either order": C(K.HOP, hop_code(2, 4), 10, [(4, 2)], WIN, 150),
    "hop 2-4 loses to 3-3": C(K.HOP, hop_code(2, 4), 10, [(3, 3)], LOSE),
    "hop 3-3": C(K.HOP, hop_code(3, 3), 10, [(3, 3)], WIN, 300),
    "hop 3-3 loses to 2-4": C(K.HOP, hop_code(3, 3), 10, [(2, 4)], LOSE),
    "hop 1-6": C(K.HOP, hop_code(1, 6), 10, [(6, 1)], WIN, 150),
}


def _faces(roll_spec: int | tuple[int, int]) -> tuple[int, int]:
    return FACES[roll_spec] if isinstance(roll_spec, int) else roll_spec


def _with_point(state: CrapsState, point: int | None) -> CrapsState:
    if point is not None:
        state, _ = roll_total(state, point)
        assert state.point == point
    return state


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bet_is_decided_and_paid(case: Case) -> None:
    state = _with_point(table(case.config), case.point)
    state, (placed,) = act(state, PlaceBet(ALICE, case.kind, case.amount, case.number))
    balance_before = state.balance(ALICE)
    for index, faces in enumerate(map(_faces, case.rolls)):
        state, events = roll(state, faces)
        result = settled(events, placed.bet_id)
        if index < len(case.rolls) - 1:
            assert result is None, f"decided early, on roll {index}: {result}"
    assert result is not None, "the last roll did not decide the bet"
    assert (result.outcome, result.paid, result.commission) == (
        case.outcome,
        case.paid,
        case.commission,
    )
    assert result.returned == case.expected_returned(placed.escrow)
    assert state.balance(ALICE) == balance_before + result.returned + result.paid
    assert state.bet(placed.bet_id) is None


TAKE_ODDS = [(4, 20, 40), (5, 20, 30), (6, 25, 30), (8, 25, 30), (9, 20, 30), (10, 20, 40)]
LAY_ODDS = [(4, 40, 20), (5, 30, 20), (6, 30, 25), (8, 30, 25), (9, 30, 20), (10, 40, 20)]


@pytest.mark.parametrize(("point", "odds", "paid"), TAKE_ODDS)
def test_pass_odds_pay_true_odds_and_lose_with_the_line(point: int, odds: int, paid: int) -> None:
    for decider, outcome in ((point, WIN), (7, LOSE)):
        state = table()
        state, (line,) = act(state, PlaceBet(ALICE, K.PASS, 10))
        state = _with_point(state, point)
        state, (bet,) = act(state, PlaceOdds(ALICE, line.bet_id, odds))
        assert bet.kind is K.ODDS and bet.number == point
        state, events = roll_total(state, decider)
        result = settled(events, bet.bet_id)
        assert result is not None and result.outcome is outcome
        assert result.paid == (paid if outcome is WIN else 0)


@pytest.mark.parametrize(("point", "odds", "paid"), LAY_ODDS)
def test_dont_pass_lay_odds_pay_true_odds(point: int, odds: int, paid: int) -> None:
    for decider, outcome in ((7, WIN), (point, LOSE)):
        state = table()
        state, (line,) = act(state, PlaceBet(ALICE, K.DONT_PASS, 10))
        state = _with_point(state, point)
        state, (bet,) = act(state, PlaceOdds(ALICE, line.bet_id, odds))
        assert bet.kind is K.LAY_ODDS
        state, events = roll_total(state, decider)
        result = settled(events, bet.bet_id)
        assert result is not None and result.outcome is outcome
        assert result.paid == (paid if outcome is WIN else 0)


def _come_with_odds(config: TableConfig, kind: BetKind, odds: int) -> tuple[CrapsState, int, int]:
    """A come bet travelled to 5 with odds behind it, then the point (6) made: a come-out."""
    state = _with_point(table(config), 6)
    state, (come,) = act(state, PlaceBet(ALICE, kind, 10))
    state, _ = roll_total(state, 5)
    state, (bet,) = act(state, PlaceOdds(ALICE, come.bet_id, odds))
    state, _ = roll_total(state, 6)
    assert state.come_out and state.bet(come.bet_id) is not None
    return state, come.bet_id, bet.bet_id


@pytest.mark.parametrize(("decider", "come_outcome"), [(5, WIN), (7, LOSE)])
def test_come_odds_are_off_on_the_come_out_and_come_back(
    decider: int, come_outcome: Outcome
) -> None:
    state, come_id, odds_id = _come_with_odds(TableConfig(), K.COME, 20)
    state, events = roll_total(state, decider)
    come, odds = settled(events, come_id), settled(events, odds_id)
    assert come is not None and come.outcome is come_outcome
    assert odds is not None and (odds.outcome, odds.returned, odds.paid) == (RETURNED, 20, 0)


def test_come_odds_work_on_the_come_out_when_the_table_says_so() -> None:
    state, _, odds_id = _come_with_odds(TableConfig(come_odds_work_on_come_out=True), K.COME, 20)
    state, events = roll_total(state, 5)
    odds = settled(events, odds_id)
    assert odds is not None and (odds.outcome, odds.paid) == (WIN, 30)


def test_come_odds_turned_on_work_on_the_come_out() -> None:
    state, _, odds_id = _come_with_odds(TableConfig(), K.COME, 20)
    state, _ = act(state, TurnOn(ALICE, odds_id))
    state, events = roll_total(state, 7)
    odds = settled(events, odds_id)
    assert odds is not None and odds.outcome is LOSE


def test_dont_come_lay_odds_work_on_the_come_out() -> None:
    state, come_id, odds_id = _come_with_odds(TableConfig(), K.DONT_COME, 30)
    state, events = roll_total(state, 7)
    come, odds = settled(events, come_id), settled(events, odds_id)
    assert come is not None and come.outcome is WIN
    assert odds is not None and (odds.outcome, odds.paid) == (WIN, 20)


def test_pass_odds_turned_off_come_back_on_a_seven_out() -> None:
    state = table()
    state, (line,) = act(state, PlaceBet(ALICE, K.PASS, 10))
    state = _with_point(state, 8)
    state, (odds,) = act(state, PlaceOdds(ALICE, line.bet_id, 50))
    state, _ = act(state, TurnOff(ALICE, odds.bet_id))
    state, events = roll_total(state, 7)
    result = settled(events, odds.bet_id)
    assert result is not None and (result.outcome, result.returned) == (RETURNED, 50)


def test_a_place_bet_turned_off_survives_a_seven_and_turned_on_works_on_the_come_out() -> None:
    state = _with_point(table(), 4)
    state, (bet,) = act(state, PlaceBet(ALICE, K.PLACE, 12, 6))
    state, _ = act(state, TurnOff(ALICE, bet.bet_id))
    state, events = roll_total(state, 6)
    assert settled(events, bet.bet_id) is None
    state, events = roll_total(state, 7)  # seven-out: the bet is off
    assert settled(events, bet.bet_id) is None and state.come_out
    state, _ = act(state, TurnOn(ALICE, bet.bet_id))
    state, events = roll_total(state, 6)  # a come-out roll, and the bet is on
    result = settled(events, bet.bet_id)
    assert result is not None and (result.outcome, result.paid) == (WIN, 14)


ROUNDING = [
    # (kind, number, amount, point, exact winnings, paid, commission)
    (K.PLACE, 6, 5, 4, "35/6", 5, 0),
    (K.PLACE, 5, 6, 4, "42/5", 8, 0),
    (K.PLACE, 4, 6, 5, "54/5", 10, 0),
    (K.BUY, 4, 10, 5, "20 less 1/2", 19, 1),
    (K.BUY, 6, 7, 4, "42/5 less 7/20", 7, 1),
]


@pytest.mark.parametrize(("kind", "number", "amount", "point", "exact", "paid", "fee"), ROUNDING)
def test_fractions_of_a_chip_go_to_the_bank(
    kind: BetKind, number: int, amount: int, point: int, exact: str, paid: int, fee: int
) -> None:
    state = _with_point(table(TableConfig(min_bet=1)), point)
    state, (bet,) = act(state, PlaceBet(ALICE, kind, amount, number))
    state, events = roll_total(state, number)
    result = settled(events, bet.bet_id)
    assert result is not None and (result.paid, result.commission) == (paid, fee), exact


def test_lay_rounds_down_and_commission_rounds_up_and_odds_never_round() -> None:
    state = table(TableConfig(min_bet=1))
    state, (line,) = act(state, PlaceBet(ALICE, K.PASS, 5))
    state = _with_point(state, 5)
    # 3:2 on 5 chips would be 7.5: odds on 5 are taken in even amounts, so they never round
    rejection = TABLE.validate(state, PlaceOdds(ALICE, line.bet_id, 5))
    assert rejection is not None and rejection.code is Code.BAD_AMOUNT
    state, (odds,) = act(state, PlaceOdds(ALICE, line.bet_id, 6))
    state, (lay,) = act(state, PlaceBet(ALICE, K.LAY, 5, 9))  # 2:3 on 5 is 10/3
    state, events = roll_total(state, 7)
    lay_result = settled(events, lay.bet_id)
    assert lay_result is not None and (lay_result.paid, lay_result.commission) == (2, 1)
    state, (line,) = act(state, PlaceBet(ALICE, K.PASS, 5))
    state = _with_point(state, 5)
    state, (odds,) = act(state, PlaceOdds(ALICE, line.bet_id, 6))
    state, events = roll_total(state, 5)
    odds_result = settled(events, odds.bet_id)
    assert odds_result is not None and odds_result.paid == 9
