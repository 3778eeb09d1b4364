"""Applying a roll: call it, decide or move every bet, settle the decided ones, pass the dice."""

from __future__ import annotations

from dataclasses import replace

from .._ledger import Ledger
from ._actions import Roll
from ._bets import payment
from ._events import BetTravelled, Event, Rolled, Settled, ShooterChanged
from ._payouts import Dice
from ._rules import Decision, RollCall, Travel, call_roll, decide, is_working
from ._state import RECENT_ROLLS, Bet, CrapsState


def apply_roll(state: CrapsState, action: Roll) -> tuple[CrapsState, tuple[Event, ...]]:
    cfg = state.config
    dice = Dice(action.die1, action.die2)
    call, point = call_roll(state.point, dice)
    events: list[Event] = [
        Rolled(action.roll_number, action.shooter, dice.die1, dice.die2, call, point)
    ]
    ledger = state.ledger
    kept: list[Bet] = []
    for bet in state.bets:
        working = is_working(bet.kind, bet.working, state.come_out, cfg)
        result = decide(bet.kind, bet.number, working, dice, cfg)
        if result is None:
            kept.append(bet)
        elif isinstance(result, Travel):
            kept.append(replace(bet, number=result.number))
            events.append(BetTravelled(bet.bet_id, result.number))
        else:
            ledger, settled = settle(ledger, bet, result, state)
            events.append(settled)
    shooter, hand = state.shooter, state.hand
    if call is RollCall.SEVEN_OUT:
        shooter, hand = next_shooter(state.seats, state.shooter, state.idle), hand + 1
        events.append(ShooterChanged(state.shooter, shooter))
    new_state = replace(
        state,
        ledger=ledger,
        shooter=shooter,
        hand=hand,
        point=point,
        roll_number=state.roll_number + 1,
        roll_pending=False,
        recent_rolls=(*state.recent_rolls, (dice.die1, dice.die2))[-RECENT_ROLLS:],
        bets=tuple(kept),
    )
    return new_state, tuple(events)


def settle(
    ledger: Ledger, bet: Bet, decision: Decision, state: CrapsState
) -> tuple[Ledger, Settled]:
    """Close one bet in the ledger; the event says where its chips went."""
    pay = payment(bet, decision, state.config)
    ledger = ledger.with_settlement(bet.bet_id, pay.returned, pay.paid)
    event = Settled(
        bet.bet_id,
        bet.player,
        bet.kind,
        bet.number,
        decision.outcome,
        bet.amount,
        pay.returned,
        pay.paid,
        pay.commission,
    )
    return ledger, event


def next_shooter(
    seats: tuple[bytes, ...], shooter: bytes | None, idle: tuple[bytes, ...] = ()
) -> bytes | None:
    """The first seat after ``shooter`` in join order, wrapping round, that is not ``idle``;
    the plain next seat when every seat is idle (None with no seats)."""
    if not seats:
        return None
    start = seats.index(shooter) + 1 if shooter in seats else 0
    order = seats[start:] + seats[:start]
    for seat in order:
        if seat not in idle:
            return seat
    return order[0]
