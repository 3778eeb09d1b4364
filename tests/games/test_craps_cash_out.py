"""Cashing out: a player who takes every chip and has no bet left walks away from the table
(the seat is given up, the dice never go to it); one with bets working keeps the seat."""

from __future__ import annotations

from craps_helpers import ALICE, BOB, act, roll_total, table

from bitcraps.games.craps import (
    BetKind,
    CashedOut,
    CashOut,
    Left,
    PlaceBet,
    RollRequest,
    ShooterChanged,
    check_state,
)


def test_cashing_out_everything_with_no_bets_gives_up_the_seat_and_the_dice() -> None:
    state = table(players=(ALICE, BOB), buy_in=100)
    assert state.shooter == ALICE
    state, events = act(state, CashOut(ALICE))
    assert events == (CashedOut(ALICE, 100, 0), Left(ALICE), ShooterChanged(ALICE, BOB))
    assert state.seats == (BOB,) and state.shooter == BOB and state.balance(ALICE) is None
    state, _ = roll_total(state, 4)
    state, _ = roll_total(state, 7)  # a seven-out: the dice stay with the one seat left
    assert state.shooter == BOB
    check_state(state)


def test_cashing_out_the_whole_balance_by_amount_walks_away_too() -> None:
    state = table(players=(ALICE, BOB), buy_in=100)
    state, events = act(state, CashOut(BOB, 100))
    assert events == (CashedOut(BOB, 100, 0), Left(BOB))
    assert state.seats == (ALICE,) and state.shooter == ALICE


def test_a_player_with_bets_working_keeps_the_seat_and_the_bets() -> None:
    state = table(players=(ALICE, BOB), buy_in=100)
    state, _ = act(state, PlaceBet(ALICE, BetKind.PASS, 10))
    state, events = act(state, CashOut(ALICE))
    assert events == (CashedOut(ALICE, 90, 0),)
    assert ALICE in state.seats and state.shooter == ALICE and len(state.bets_of(ALICE)) == 1


def test_part_of_the_chips_keeps_the_seat() -> None:
    state, events = act(table(buy_in=100), CashOut(ALICE, 40))
    assert events == (CashedOut(ALICE, 40, 60),) and state.seats == (ALICE,)


def test_the_shooter_with_a_roll_pending_keeps_the_seat_the_roll_needs() -> None:
    state = table(players=(ALICE, BOB), buy_in=100)
    state, _ = act(state, RollRequest(ALICE, 0))
    state, events = act(state, CashOut(ALICE))
    assert events == (CashedOut(ALICE, 100, 0),)
    assert state.shooter == ALICE and ALICE in state.seats
    state, _ = roll_total(state, 7)  # the roll lands; the player may then leave
    check_state(state)
