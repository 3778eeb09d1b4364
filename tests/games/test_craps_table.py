"""The table around the bets: rejections, take-downs, the shooter, the bank, cashing out."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from craps_helpers import ALICE, BOB, CAROL, TABLE, act, roll_total, settled, table

from bitcraps.games.craps import (
    Action,
    ActionRejected,
    BetKind,
    CashedOut,
    CashOut,
    Code,
    CrapsState,
    Join,
    Leave,
    Left,
    Outcome,
    PlaceBet,
    PlaceOdds,
    Roll,
    RollCall,
    Rolled,
    RollRequest,
    ShooterChanged,
    TableConfig,
    TakeDown,
    TurnOff,
    TurnOn,
    check_state,
)

K = BetKind


def _point(state: CrapsState, point: int = 6) -> CrapsState:
    return roll_total(state, point)[0]


def _bet(
    state: CrapsState, kind: BetKind, amount: int = 10, number: int | None = None
) -> CrapsState:
    return act(state, PlaceBet(ALICE, kind, amount, number))[0]


def _pending(state: CrapsState) -> CrapsState:
    return act(state, RollRequest(ALICE, state.roll_number))[0]


Setup = Callable[[], CrapsState]
two = lambda: table(players=(ALICE, BOB))  # noqa: E731

# (setup, action, expected code): each action must be rejected, leaving the state unchanged.
REJECTIONS: dict[str, tuple[Setup, Action, Code]] = {
    "place 7": (table, PlaceBet(ALICE, K.PLACE, 10, 7), Code.UNKNOWN_BET),
    "hard 5": (table, PlaceBet(ALICE, K.HARDWAY, 10, 5), Code.UNKNOWN_BET),
    "hop 1-7": (table, PlaceBet(ALICE, K.HOP, 10, 17), Code.UNKNOWN_BET),
    "hop 4-2 (out of order)": (table, PlaceBet(ALICE, K.HOP, 10, 42), Code.UNKNOWN_BET),
    "big 5": (table, PlaceBet(ALICE, K.BIG, 10, 5), Code.UNKNOWN_BET),
    "place with no number": (table, PlaceBet(ALICE, K.PLACE, 10), Code.UNKNOWN_BET),
    "pass with a number": (table, PlaceBet(ALICE, K.PASS, 10, 4), Code.UNKNOWN_BET),
    "pass on a point": (lambda: _point(table()), PlaceBet(ALICE, K.PASS, 10), Code.WRONG_PHASE),
    "dont pass on a point": (
        lambda: _point(table()),
        PlaceBet(ALICE, K.DONT_PASS, 10),
        Code.WRONG_PHASE,
    ),
    "come on a come-out": (table, PlaceBet(ALICE, K.COME, 10), Code.WRONG_PHASE),
    "dont come on a come-out": (table, PlaceBet(ALICE, K.DONT_COME, 10), Code.WRONG_PHASE),
    "odds before the point": (
        lambda: _bet(table(), K.PASS),
        PlaceOdds(ALICE, 1, 10),
        Code.WRONG_PHASE,
    ),
    "odds on a come bet in the box": (
        lambda: _bet(_point(table()), K.COME),
        PlaceOdds(ALICE, 1, 10),
        Code.WRONG_PHASE,
    ),
    "under the minimum": (table, PlaceBet(ALICE, K.FIELD, 4), Code.UNDER_MINIMUM),
    "over the maximum": (table, PlaceBet(ALICE, K.FIELD, 5_001), Code.OVER_LIMIT),
    "over the maximum on one spot": (
        lambda: _bet(table(), K.FIELD, 5_000),
        PlaceBet(ALICE, K.FIELD, 5),
        Code.OVER_LIMIT,
    ),
    "odds over 3x on 4": (
        lambda: _point(_bet(table(), K.PASS), 4),
        PlaceOdds(ALICE, 1, 31),
        Code.OVER_LIMIT,
    ),
    "odds over 5x on 6, in two goes": (
        lambda: act(_point(_bet(table(), K.PASS), 6), PlaceOdds(ALICE, 1, 30))[0],
        PlaceOdds(ALICE, 1, 21),
        Code.OVER_LIMIT,
    ),
    "lay odds winning over 4x on 5": (
        lambda: _point(_bet(table(), K.DONT_PASS), 5),
        PlaceOdds(ALICE, 1, 61),
        Code.OVER_LIMIT,
    ),
    "horn not a multiple of 4": (table, PlaceBet(ALICE, K.HORN, 10), Code.BAD_AMOUNT),
    "c and e not even": (table, PlaceBet(ALICE, K.C_AND_E, 5), Code.BAD_AMOUNT),
    "more than the balance": (
        lambda: table(buy_in=100),
        PlaceBet(ALICE, K.FIELD, 101),
        Code.INSUFFICIENT_CHIPS,
    ),
    "bank cannot cover": (
        lambda: table(TableConfig(bankroll=100)),
        PlaceBet(ALICE, K.BOXCARS, 5),
        Code.BANK_CANNOT_COVER,
    ),
    "bank cannot cover with others' bets": (
        lambda: _bet(table(TableConfig(bankroll=100)), K.ANY_SEVEN, 25),
        PlaceBet(ALICE, K.FIELD, 5),
        Code.BANK_CANNOT_COVER,
    ),
    "take down another's bet": (
        lambda: _bet(two(), K.FIELD),
        TakeDown(BOB, 1),
        Code.NOT_YOUR_BET,
    ),
    "odds on another's bet": (
        lambda: _point(_bet(two(), K.PASS)),
        PlaceOdds(BOB, 1, 10),
        Code.NOT_YOUR_BET,
    ),
    "turn off another's bet": (
        lambda: _bet(two(), K.PLACE, 12, 6),
        TurnOff(BOB, 1),
        Code.NOT_YOUR_BET,
    ),
    "no such bet": (table, TakeDown(ALICE, 99), Code.NO_SUCH_BET),
    "pass down on a point": (
        lambda: _point(_bet(table(), K.PASS)),
        TakeDown(ALICE, 1),
        Code.CONTRACT_BET,
    ),
    "come down once travelled": (
        lambda: _point(_bet(_point(table(), 6), K.COME), 5),
        TakeDown(ALICE, 1),
        Code.CONTRACT_BET,
    ),
    "turn off a pass bet": (lambda: _bet(table(), K.PASS), TurnOff(ALICE, 1), Code.CANNOT_TURN_OFF),
    "turn on a field bet": (lambda: _bet(table(), K.FIELD), TurnOn(ALICE, 1), Code.CANNOT_TURN_OFF),
    "odds on a place bet": (
        lambda: _bet(table(), K.PLACE, 10, 4),
        PlaceOdds(ALICE, 1, 10),
        Code.NO_ODDS,
    ),
    "bet while not seated": (table, PlaceBet(BOB, K.FIELD, 10), Code.NOT_SEATED),
    "cash out while not seated": (table, CashOut(BOB), Code.NOT_SEATED),
    "leave while not seated": (table, Leave(BOB), Code.NOT_SEATED),
    "table full": (lambda: table(TableConfig(max_players=1)), Join(BOB, 10), Code.TABLE_FULL),
    "too many bets": (
        lambda: _bet(_bet(table(TableConfig(max_bets_per_player=2)), K.FIELD), K.YO),
        PlaceBet(ALICE, K.ACES, 10),
        Code.TOO_MANY_BETS,
    ),
    "roll by another player": (two, Roll(BOB, 0, 3, 4), Code.NOT_SHOOTER),
    "roll request by another player": (two, RollRequest(BOB, 0), Code.NOT_SHOOTER),
    "roll at an empty table": (
        lambda: TABLE.initial_state(),
        Roll(ALICE, 0, 3, 4),
        Code.NO_SHOOTER,
    ),
    "stale roll": (table, Roll(ALICE, 1, 3, 4), Code.STALE_ROLL),
    "replayed roll": (lambda: roll_total(table(), 8)[0], Roll(ALICE, 0, 3, 4), Code.STALE_ROLL),
    "bet while the dice roll": (
        lambda: _pending(table()),
        PlaceBet(ALICE, K.FIELD, 10),
        Code.ROLL_PENDING,
    ),
    "take down while the dice roll": (
        lambda: _pending(_bet(table(), K.FIELD)),
        TakeDown(ALICE, 1),
        Code.ROLL_PENDING,
    ),
    "second roll request": (lambda: _pending(table()), RollRequest(ALICE, 0), Code.ROLL_PENDING),
    "shooter leaves while the dice roll": (
        lambda: _pending(table()),
        Leave(ALICE),
        Code.ROLL_PENDING,
    ),
    "leave with bets up": (lambda: _bet(table(), K.FIELD), Leave(ALICE), Code.OPEN_BETS),
    "cash out more than free": (
        lambda: _bet(table(buy_in=100), K.FIELD, 50),
        CashOut(ALICE, 51),
        Code.INSUFFICIENT_CHIPS,
    ),
    "cash out with nothing free": (
        lambda: _bet(table(buy_in=100), K.FIELD, 100),
        CashOut(ALICE),
        Code.NOTHING_TO_CASH_OUT,
    ),
    "buy in past the chip limit": (table, Join(BOB, 2**62), Code.OVER_LIMIT),
}


@pytest.mark.parametrize(("setup", "action", "code"), REJECTIONS.values(), ids=REJECTIONS.keys())
def test_rejected_actions_say_why_and_change_nothing(
    setup: Setup, action: Action, code: Code
) -> None:
    state = setup()
    before = TABLE.encode_state(state)
    rejection = TABLE.validate(state, action)
    assert rejection is not None and rejection.code is code, rejection
    assert rejection.reason.strip()
    with pytest.raises(ActionRejected) as caught:
        TABLE.apply(state, action, b"")
    assert caught.value.rejection == rejection
    assert TABLE.encode_state(state) == before


def test_what_may_come_down() -> None:
    state = table()
    state, (pass_bet,) = act(state, PlaceBet(ALICE, K.PASS, 10))
    state, (dont,) = act(state, PlaceBet(ALICE, K.DONT_PASS, 10))
    state, (hard,) = act(state, PlaceBet(ALICE, K.HARDWAY, 10, 8))
    assert TABLE.validate(state, TakeDown(ALICE, pass_bet.bet_id)) is None  # no point yet
    state = _point(state, 4)
    state, (lay_odds,) = act(state, PlaceOdds(ALICE, dont.bet_id, 40))
    rejection = TABLE.validate(state, TakeDown(ALICE, pass_bet.bet_id))
    assert rejection is not None and rejection.code is Code.CONTRACT_BET
    state, events = act(state, TakeDown(ALICE, dont.bet_id))  # a don't bet may come down
    returned = {e.bet_id: (e.outcome, e.returned) for e in events if hasattr(e, "returned")}
    assert returned == {
        dont.bet_id: (Outcome.RETURNED, 10),
        lay_odds.bet_id: (Outcome.RETURNED, 40),
    }
    state, events = act(state, TakeDown(ALICE, hard.bet_id))
    assert settled(events, hard.bet_id) is not None
    assert [bet.bet_id for bet in state.bets] == [pass_bet.bet_id]
    check_state(state)


def test_the_dice_pass_on_a_seven_out_in_join_order_and_stay_on_a_point_made() -> None:
    state = table(players=(ALICE, BOB, CAROL))
    assert state.shooter == ALICE
    state, _ = roll_total(state, 7)  # a natural on the come-out: Alice keeps the dice
    state, _ = roll_total(state, 5)
    state, events = roll_total(state, 5)
    assert state.shooter == ALICE and events[0].call is RollCall.POINT_MADE
    state, _ = roll_total(state, 9)
    state, events = roll_total(state, 7)
    assert events[0].call is RollCall.SEVEN_OUT
    assert events[-1] == ShooterChanged(ALICE, BOB) and state.shooter == BOB
    for shooter in (CAROL, ALICE):
        state, _ = roll_total(state, 4)
        state, _ = roll_total(state, 7)
        assert state.shooter == shooter


def test_a_shooter_who_leaves_passes_the_dice_and_the_point_stands() -> None:
    state = table(players=(ALICE, BOB))
    state = _point(state, 8)
    state, events = act(state, Leave(ALICE))
    assert [type(e) for e in events] == [CashedOut, Left, ShooterChanged]
    assert state.shooter == BOB and state.point == 8 and state.seats == (BOB,)
    assert state.balance(ALICE) is None
    state, events = act(state, Leave(BOB))
    assert events[-1] == ShooterChanged(BOB, None) and state.shooter is None
    state, _ = act(state, Join(CAROL, 50))
    assert state.shooter == CAROL and state.point == 8
    check_state(state)


def test_a_roll_request_freezes_bets_until_its_roll() -> None:
    state = table(players=(ALICE, BOB))
    state, (requested,) = act(state, RollRequest(ALICE, 0))
    assert state.roll_pending
    state, events = act(state, CashOut(BOB, 10))  # free chips may still leave
    state, events = act(state, Roll(ALICE, 0, 6, 5))
    assert isinstance(events[0], Rolled) and not state.roll_pending
    assert TABLE.validate(state, PlaceBet(ALICE, K.FIELD, 10)) is None


def test_cash_out_some_then_all() -> None:
    state = table(buy_in=1_000)
    state, (joined,) = act(state, Join(ALICE, 500))
    assert joined.balance == 1_500 and not joined.seated
    state = _bet(state, K.FIELD, 100)
    state, (cashed,) = act(state, CashOut(ALICE, 400))
    assert cashed == CashedOut(ALICE, 400, 1_000)
    state, (cashed,) = act(state, CashOut(ALICE))
    assert cashed == CashedOut(ALICE, 1_000, 0)
    assert state.ledger.cashed_out == 1_400 and state.ledger.bought_in == 1_500
    check_state(state)


def test_the_bank_reserves_each_bets_largest_win_and_frees_it_when_settled() -> None:
    state = table(TableConfig(bankroll=1_000))
    state = _bet(state, K.HOP, 10, 11)  # hop 1-1 can win 300
    state = _bet(state, K.HORN, 8)  # can win 54
    assert state.ledger.exposure() == 354 and state.ledger.bank_free() == 646
    state, _ = roll_total(state, 2)  # both win: 300 + 54 paid
    assert state.ledger.exposure() == 0 and state.ledger.bank == 1_000 - 354
    check_state(state)


def test_recent_rolls_keep_the_last_ten() -> None:
    state = table()
    for total in (2, 3, 12, 11, 7, 2, 3, 12, 11, 7, 2, 3):
        state, _ = roll_total(state, total)
    assert len(state.recent_rolls) == 10 and state.roll_number == 12
    assert state.recent_rolls[-1] == (1, 2)
