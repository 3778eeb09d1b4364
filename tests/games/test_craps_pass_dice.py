"""Giving up the dice (`PassDice`): only the shooter, only before the next roll is asked for;
the dice go to the next seat, the point and every bet stand, and each hand of the dice is a
new turn (`state.turn`) that never repeats, so a timeout vote for an old turn cannot count."""

from __future__ import annotations

from random import Random

import pytest
from craps_helpers import ALICE, BOB, CAROL, TABLE, act, roll_total, table
from hypothesis import given, settings
from hypothesis import strategies as st

from bitcraps.games.craps import (
    ActionRejected,
    BetKind,
    Code,
    DicePassed,
    Join,
    Leave,
    PassDice,
    PlaceBet,
    Roll,
    RollRequest,
    ShooterChanged,
    TableConfig,
    check_state,
)


def test_a_timed_out_shooter_loses_the_dice_and_the_point_and_bets_stand() -> None:
    state = table(players=(ALICE, BOB, CAROL))
    state, _ = act(state, PlaceBet(ALICE, BetKind.PASS, 10))
    state, _ = act(state, PlaceBet(BOB, BetKind.DONT_PASS, 10))
    state, _ = roll_total(state, 6)
    state, _ = act(state, PlaceBet(CAROL, BetKind.PLACE, 12, 8))
    before = state
    state, events = act(state, PassDice(ALICE, state.roll_number, timed_out=True))
    assert events == (DicePassed(ALICE, before.roll_number, True), ShooterChanged(ALICE, BOB))
    assert state.shooter == BOB and state.hand == before.hand + 1
    assert (state.point, state.bets, state.ledger) == (before.point, before.bets, before.ledger)
    assert state.roll_number == before.roll_number
    check_state(state)
    # the new shooter continues the same point: a 6 wins Alice's pass bet
    state, events = roll_total(state, 6)
    assert any(getattr(e, "player", None) == ALICE and e.paid for e in events)  # type: ignore


def test_only_the_shooter_at_the_next_roll_and_before_the_request() -> None:
    state = table(players=(ALICE, BOB))
    for action, code in [
        (PassDice(BOB, 0), Code.NOT_SHOOTER),
        (PassDice(ALICE, 1), Code.STALE_ROLL),
    ]:
        rejection = TABLE.validate(state, action)
        assert rejection is not None and rejection.code is code
        with pytest.raises(ActionRejected):
            act(state, action)
    pending, _ = act(state, RollRequest(ALICE, 0))
    rejection = TABLE.validate(pending, PassDice(ALICE, 0, timed_out=True))
    assert rejection is not None and rejection.code is Code.ROLL_PENDING
    assert pending.turn is None  # a shooter who asked for the roll is not timing out
    empty = TABLE.initial_state(TableConfig())
    rejection = TABLE.validate(empty, PassDice(ALICE, 0))
    assert rejection is not None and rejection.code is Code.NO_SHOOTER


def test_a_lone_shooter_keeps_the_dice_in_a_new_turn() -> None:
    state = table(players=(ALICE,))
    turn = state.turn
    state, events = act(state, PassDice(ALICE, 0, timed_out=True))
    assert events[-1] == ShooterChanged(ALICE, ALICE) and state.shooter == ALICE
    assert state.turn != turn and state.turn == (ALICE, 0, 2)
    state, _ = act(state, Join(BOB, 100))
    state, _ = act(state, PassDice(ALICE, 0))
    assert state.shooter == BOB


def test_every_change_of_hands_is_a_new_turn_and_no_turn_repeats() -> None:
    """Alice -> Bob -> Alice at the same roll number: two different turns."""
    state = table(players=(ALICE, BOB))
    assert state.turn == (ALICE, 0, 1)
    state, _ = act(state, PassDice(ALICE, 0, timed_out=True))
    state, _ = act(state, PassDice(BOB, 0, timed_out=True))
    assert state.turn == (ALICE, 0, 3)
    state, _ = act(state, Leave(ALICE))  # the shooter leaving passes the dice at once
    assert state.turn == (BOB, 0, 4)
    state, _ = roll_total(state, 4)
    state, _ = roll_total(state, 7)  # seven-out with one seat: back to Bob, a new hand
    assert state.turn == (BOB, 2, 5)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**32), players=st.integers(1, 3))
def test_turns_strictly_advance_and_passes_move_no_chip(seed: int, players: int) -> None:
    """Random rolls, passes (good and bad), leaves and joins: (roll_number, hand) only ever
    grows, a pass changes nothing but the shooter and the hand, and chips are conserved."""
    rng = Random(seed)  # hypothesis prints the seed of a failing run
    everyone = (ALICE, BOB, CAROL)
    state = table(players=everyone[:players], buy_in=1_000)
    last = (state.roll_number, state.hand)
    for _ in range(120):
        who = rng.choice(everyone)
        move = rng.choice(["pass", "pass", "roll", "bet", "leave", "join"])
        if move == "pass":
            action: object = PassDice(who, state.roll_number + (rng.random() < 0.1),
                                      rng.random() < 0.5)
        elif move == "roll":
            action = Roll(state.shooter or who, state.roll_number, rng.randint(1, 6),
                          rng.randint(1, 6))
        elif move == "bet":
            action = PlaceBet(who, BetKind.FIELD, 10)
        elif move == "leave":
            action = Leave(who)
        else:
            action = Join(who, 500)
        if TABLE.validate(state, action) is not None:  # type: ignore[arg-type]
            continue
        before = state
        state, _ = act(state, action)  # type: ignore[arg-type]
        check_state(state)
        ledger = state.ledger
        assert ledger.total_chips() == ledger.bankroll + ledger.bought_in - ledger.cashed_out
        now = (state.roll_number, state.hand)
        assert now >= last and (now != last or state.shooter == before.shooter)
        last = now
        if isinstance(action, PassDice):
            assert (state.bets, state.ledger, state.point, state.seats) == (
                before.bets, before.ledger, before.point, before.seats)
            assert state.turn != before.turn
    assert TABLE.decode_state(TABLE.encode_state(state)) == state
