"""Idle seats: a player whose turn with the dice timed out is skipped when the dice next pass,
until they act again. Throwaway keys that sit down and never roll cost the table one timeout
each, not one per trip of the dice round the table."""

from __future__ import annotations

from random import Random

import pytest
from craps_helpers import ALICE, BOB, CAROL, TABLE, act, roll_total, table
from hypothesis import given, settings
from hypothesis import strategies as st

from bitcraps.games.craps import (
    BetKind,
    CashOut,
    GameDecodeError,
    Join,
    Leave,
    PassDice,
    PlaceBet,
    RollRequest,
    ShooterChanged,
    check_state,
    encode_state,
)

DAVE = bytes(range(3, 35))


def _time_out(state, shooter):  # type: ignore[no-untyped-def]
    return act(state, PassDice(shooter, state.roll_number, timed_out=True))


def test_a_timed_out_seat_is_skipped_on_the_next_trip_round_the_table() -> None:
    state = table(players=(ALICE, BOB, CAROL))
    state, events = _time_out(state, ALICE)
    assert events[-1] == ShooterChanged(ALICE, BOB) and state.idle == (ALICE,)
    state, _ = roll_total(state, 4)
    state, events = roll_total(state, 7)  # Bob sevens out: Carol
    assert events[-1] == ShooterChanged(BOB, CAROL)
    state, events = act(state, PassDice(CAROL, state.roll_number))  # Carol declines
    assert events[-1] == ShooterChanged(CAROL, BOB)  # Alice is skipped
    assert state.idle == (ALICE,)
    check_state(state)


@pytest.mark.parametrize("wake", [
    lambda s: PlaceBet(ALICE, BetKind.FIELD, 10),
    lambda s: Join(ALICE, 5),
    lambda s: CashOut(ALICE, 1),
])
def test_any_action_of_the_idle_player_makes_them_eligible_again(wake) -> None:  # type: ignore[no-untyped-def]
    state = table(players=(ALICE, BOB, CAROL))
    state, _ = _time_out(state, ALICE)
    state, _ = act(state, wake(state))
    assert state.idle == ()
    state, _ = act(state, PassDice(BOB, state.roll_number))
    state, events = act(state, PassDice(CAROL, state.roll_number))
    assert events[-1] == ShooterChanged(CAROL, ALICE)


def test_throwaway_seats_cost_one_timeout_each_not_one_per_round() -> None:
    """Alice plays; Bob, Carol and Dave sat down and never act. After each has timed out
    once, the dice stay with Alice: she rolls on without waiting for anyone's timeout."""
    state = table(players=(ALICE, BOB, CAROL, DAVE))
    timeouts = 0
    for _ in range(6):  # six hands of Alice's: each ends in a seven-out
        state, _ = roll_total(state, 4)
        state, _ = roll_total(state, 7)
        while state.shooter != ALICE:
            state, _ = _time_out(state, state.shooter)
            timeouts += 1
    assert timeouts == 3 and state.idle == (BOB, CAROL, DAVE)


def test_when_everyone_is_idle_the_dice_go_round_as_before() -> None:
    state = table(players=(ALICE, BOB))
    state, _ = _time_out(state, ALICE)
    state, events = _time_out(state, BOB)
    assert events[-1] == ShooterChanged(BOB, ALICE) and state.idle == (ALICE, BOB)
    state, _ = act(state, RollRequest(ALICE, state.roll_number))  # asking for a roll is acting
    assert state.idle == (BOB,)
    check_state(state)


def test_a_shooter_leaving_skips_idle_seats_and_an_idle_leaver_leaves_idle() -> None:
    state = table(players=(ALICE, BOB, CAROL))
    state, _ = _time_out(state, ALICE)  # Bob shoots, Alice idle
    state, events = act(state, Leave(BOB))
    assert events[-1] == ShooterChanged(BOB, CAROL)
    state, _ = act(state, Leave(ALICE))
    assert state.idle == () and state.seats == (CAROL,)
    check_state(state)


def test_idle_players_are_in_the_state_codec_canonical_and_strict() -> None:
    state = table(players=(ALICE, BOB, CAROL))
    assert encode_state(state)[1] == 2  # no idle player: a version 2 state, as before
    state, _ = _time_out(state, ALICE)
    state, _ = _time_out(state, BOB)
    data = TABLE.encode_state(state)
    assert data[1] == 3 and TABLE.decode_state(data) == state
    import msgpack

    wire = msgpack.unpackb(data, raw=False)
    for idle in ([], [BOB, ALICE], [ALICE, ALICE, BOB], [ALICE, DAVE], "x"):
        bad = msgpack.packb([*wire[:12], idle], use_bin_type=True)
        with pytest.raises(GameDecodeError):
            TABLE.decode_state(bad)
    with pytest.raises(GameDecodeError):  # version 2 carries no idle field
        TABLE.decode_state(msgpack.packb([2, *wire[1:]], use_bin_type=True))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**32))
def test_idle_seats_move_no_chip_and_are_never_chosen_while_another_may_shoot(
        seed: int) -> None:
    rng = Random(seed)  # hypothesis prints the seed of a failing run
    everyone = (ALICE, BOB, CAROL, DAVE)
    state = table(players=everyone[:3], buy_in=1_000)
    for _ in range(150):
        who = rng.choice(everyone)
        move = rng.choice(["timeout", "timeout", "pass", "roll", "bet", "leave", "join"])
        if move in ("timeout", "pass"):
            action: object = PassDice(state.shooter or who, state.roll_number, move == "timeout")
        elif move == "roll":
            action = RollRequest(state.shooter or who, state.roll_number)
        elif move == "bet":
            action = PlaceBet(who, BetKind.FIELD, 10)
        elif move == "leave":
            action = Leave(who)
        else:
            action = Join(who, 100)
        if TABLE.validate(state, action) is not None:  # type: ignore[arg-type]
            continue
        before = state
        state, _ = act(state, action)  # type: ignore[arg-type]
        if isinstance(action, RollRequest):
            state, _ = roll_total(state, rng.choice([4, 7, 11]))
        check_state(state)
        ledger = state.ledger
        assert ledger.total_chips() == ledger.bankroll + ledger.bought_in - ledger.cashed_out
        if state.shooter != before.shooter and state.shooter in state.idle:
            assert all(seat in state.idle for seat in state.seats)
        assert TABLE.decode_state(TABLE.encode_state(state)) == state
