"""No bet the table accepts is a bet that cannot win anything, and odds pay true odds exactly.

The outside audit found bets whose win rounded down to nothing: 1 chip of lay odds on any point
(a win of 1/2, 2/3 or 5/6 of a chip), or a buy of 1 on 6 that wins 1 and is charged 1. Each
accepted bet here is played through every roll (all 21 distinct dice, three rolls deep, so
that a bet that is off on the come-out gets its point and then its number) until it wins, and
the best win must leave the player at least one chip ahead.
"""

from __future__ import annotations

from fractions import Fraction

from craps_helpers import ALICE, FACES, TABLE, act, roll_total
from hypothesis import given, settings
from hypothesis import strategies as st

from bitcraps.games.craps import (
    BetKind,
    BetPlaced,
    Code,
    CrapsState,
    Join,
    Outcome,
    PlaceBet,
    PlaceOdds,
    Roll,
    Settled,
    TableConfig,
    numbers_for,
)

K = BetKind
PLACEABLE = [kind for kind in BetKind if kind not in (K.ODDS, K.LAY_ODDS)]
DICE = [(a, b) for a in range(1, 7) for b in range(a, 7)]
TRUE_ODDS = {4: Fraction(2), 5: Fraction(3, 2), 6: Fraction(6, 5)}
TRUE_ODDS |= {8: TRUE_ODDS[6], 9: TRUE_ODDS[5], 10: TRUE_ODDS[4]}

configs = st.builds(
    TableConfig,
    min_bet=st.sampled_from([1, 2, 5]),
    commission_percent=st.sampled_from([0, 1, 5, 10, 50, 99, 100]),
    commission_on_win_only=st.booleans(),
    odds_multiples=st.sampled_from([(3, 4, 5, 5, 4, 3), (1, 1, 1, 1, 1, 1), (10,) * 6]),
)


def _seated(config: TableConfig, point: int | None) -> CrapsState:
    state, _ = act(TABLE.initial_state(config), Join(ALICE, 1_000_000))
    if point is not None:
        state, _ = roll_total(state, point)
    return state


def best_win(state: CrapsState, placed: BetPlaced) -> Settled | None:
    """The settlement of ``placed`` that leaves its player furthest ahead, over every sequence
    of up to three rolls; None if no roll sequence makes it win. Situations are told apart
    by the point and the bet alone (nothing else decides it), so each is explored once."""
    best: Settled | None = None
    frontier, seen = [state], {(state.point, state.bet(placed.bet_id))}
    for _ in range(3):
        following = []
        for before in frontier:
            for faces in DICE:
                assert before.shooter is not None
                after, events = act(before, Roll(before.shooter, before.roll_number, *faces))
                for event in events:
                    if isinstance(event, Settled) and event.bet_id == placed.bet_id:
                        if event.outcome is Outcome.WIN and (
                            best is None or _net(event, placed) > _net(best, placed)
                        ):
                            best = event
                        break
                else:
                    key = (after.point, after.bet(placed.bet_id))  # all that matters here
                    if key not in seen:
                        seen.add(key)
                        following.append(after)
        frontier = following
    return best


def _net(settled: Settled, placed: BetPlaced) -> int:
    return settled.returned + settled.paid - placed.escrow


@settings(max_examples=400, deadline=None, derandomize=True)
@given(
    config=configs,
    kind=st.sampled_from(PLACEABLE),
    pick=st.integers(0, 20),
    amount=st.integers(1, 150),
)
def test_every_accepted_bet_can_win_at_least_one_chip(
    config: TableConfig, kind: BetKind, pick: int, amount: int
) -> None:
    numbers = sorted(numbers_for(kind)) or [None]
    number = numbers[pick % len(numbers)]
    state = _seated(config, 4 if kind in (K.COME, K.DONT_COME) else None)
    action = PlaceBet(ALICE, kind, amount, number)
    rejection = TABLE.validate(state, action)
    if rejection is not None:
        return
    state, events = act(state, action)
    placed = events[0]
    assert isinstance(placed, BetPlaced)
    win = best_win(state, placed)
    assert win is not None and _net(win, placed) >= 1, (kind, number, amount)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    config=configs,
    dont=st.booleans(),
    point=st.sampled_from(sorted(TRUE_ODDS)),
    flat=st.integers(5, 40),
    amount=st.integers(1, 400),
)
def test_every_accepted_odds_bet_pays_true_odds_exactly(
    config: TableConfig, dont: bool, point: int, flat: int, amount: int
) -> None:
    state = _seated(config, None)
    state, (line,) = act(state, PlaceBet(ALICE, K.DONT_PASS if dont else K.PASS, flat))
    state, _ = roll_total(state, point)
    action = PlaceOdds(ALICE, line.bet_id, amount)
    if TABLE.validate(state, action) is not None:
        return
    state, (placed,) = act(state, action)
    assert isinstance(placed, BetPlaced)
    state, events = act(state, Roll(ALICE, state.roll_number, *FACES[7 if dont else point]))
    (won,) = [e for e in events if isinstance(e, Settled) and e.bet_id == placed.bet_id]
    ratio = 1 / TRUE_ODDS[point] if dont else TRUE_ODDS[point]
    assert won.outcome is Outcome.WIN and won.paid == amount * ratio >= 1  # not rounded: 0 edge


AUDIT_CASES = [
    # (table, kind, number, amount): the audit's bets that could only lose or push
    (TableConfig(min_bet=1), K.BUY, 6, 1),
    (TableConfig(min_bet=1), K.BUY, 8, 1),
    (TableConfig(min_bet=1), K.LAY, 4, 1),
    (TableConfig(min_bet=1), K.LAY, 4, 2),
    (TableConfig(min_bet=1), K.LAY, 6, 2),
    (TableConfig(min_bet=1, commission_on_win_only=False), K.BUY, 6, 1),
]


def test_the_audits_bets_are_refused_with_a_reason_and_the_least_that_pays() -> None:
    for config, kind, number, amount in AUDIT_CASES:
        rejection = TABLE.validate(_seated(config, None), PlaceBet(ALICE, kind, amount, number))
        assert rejection is not None and rejection.code is Code.CANNOT_PAY
        assert "the least that wins a chip is" in rejection.reason
    state = _seated(TableConfig(min_bet=1), None)
    assert TABLE.validate(state, PlaceBet(ALICE, K.BUY, 2, 6)) is None
    assert TABLE.validate(state, PlaceBet(ALICE, K.LAY, 4, 4)) is None


def test_a_lay_at_a_full_commission_never_pays_and_says_so() -> None:
    state = _seated(TableConfig(commission_percent=100), None)
    rejection = TABLE.validate(state, PlaceBet(ALICE, K.LAY, 100, 4))
    assert rejection is not None and rejection.code is Code.CANNOT_PAY
    assert "100% commission" in rejection.reason


def test_lay_odds_of_one_chip_are_refused_and_odds_come_in_payable_multiples() -> None:
    for dont, point, amount, multiple in (
        (True, 4, 1, 2), (True, 5, 4, 3), (True, 6, 5, 6), (False, 5, 5, 2), (False, 6, 12, 5),
    ):
        state = _seated(TableConfig(), None)
        state, (line,) = act(state, PlaceBet(ALICE, K.DONT_PASS if dont else K.PASS, 10))
        state, _ = roll_total(state, point)
        rejection = TABLE.validate(state, PlaceOdds(ALICE, line.bet_id, amount))
        assert rejection is not None and rejection.code is Code.BAD_AMOUNT
        assert f"multiples of {multiple} chips" in rejection.reason
        assert TABLE.validate(state, PlaceOdds(ALICE, line.bet_id, multiple)) is None
