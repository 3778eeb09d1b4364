"""Applying an action the validator accepted: the next state and the events it produced."""

from __future__ import annotations

from dataclasses import replace

from .._api import ActionRejected
from ._actions import (
    Action,
    CashOut,
    Join,
    Leave,
    PassDice,
    PlaceBet,
    PlaceOdds,
    Roll,
    RollRequest,
    TakeDown,
    TurnOff,
    TurnOn,
)
from ._bets import max_win, new_bet
from ._events import (
    BetPlaced,
    BetSwitched,
    CashedOut,
    DicePassed,
    Event,
    Joined,
    Left,
    RollRequested,
    ShooterChanged,
)
from ._kinds import BetKind, Working
from ._roll import apply_roll, next_shooter, settle
from ._rules import RETURN
from ._state import Bet, CrapsState
from ._validate import validate

Result = tuple[CrapsState, tuple[Event, ...]]


def apply(state: CrapsState, action: Action) -> Result:
    rejection = validate(state, action)
    if rejection is not None:
        raise ActionRejected(rejection)
    state = _acted(state, action)
    if isinstance(action, Join):
        return _join(state, action)
    if isinstance(action, PlaceBet):
        return _place(state, action.player, action.kind, action.number, action.amount, None)
    if isinstance(action, PlaceOdds):
        base = state.bet(action.bet_id)
        assert base is not None and base.number is not None
        kind = BetKind.ODDS if base.kind in (BetKind.PASS, BetKind.COME) else BetKind.LAY_ODDS
        return _place(state, action.player, kind, base.number, action.amount, base.bet_id)
    if isinstance(action, TakeDown):
        return _take_down(state, action.bet_id)
    if isinstance(action, (TurnOff, TurnOn)):
        working = Working.ON if isinstance(action, TurnOn) else Working.OFF
        bets = tuple(
            replace(bet, working=working) if bet.bet_id == action.bet_id else bet
            for bet in state.bets
        )
        return replace(state, bets=bets), (BetSwitched(action.bet_id, working),)
    if isinstance(action, RollRequest):
        requested = RollRequested(action.shooter, action.roll_number)
        return replace(state, roll_pending=True), (requested,)
    if isinstance(action, Roll):
        return apply_roll(state, action)
    if isinstance(action, PassDice):
        return _pass_dice(state, action)
    if isinstance(action, CashOut):
        return _cash_out_action(state, action)
    return _leave(state, action)


def _acted(state: CrapsState, action: Action) -> CrapsState:
    """A player who acts (anything the table accepts but losing the dice by timeout) is no
    longer idle: the dice come to them again."""
    if not state.idle or (isinstance(action, PassDice) and action.timed_out):
        return state
    actor = action.shooter if isinstance(action, (RollRequest, Roll, PassDice)) else action.player
    if actor not in state.idle:
        return state
    return replace(state, idle=tuple(seat for seat in state.idle if seat != actor))


def _join(state: CrapsState, action: Join) -> Result:
    ledger = state.ledger.with_buy_in(action.player, action.buy_in)
    balance = ledger.balance(action.player)
    assert balance is not None
    seated = action.player not in state.seats
    events: list[Event] = [Joined(action.player, action.buy_in, balance, seated)]
    seats = (*state.seats, action.player) if seated else state.seats
    shooter, hand = state.shooter, state.hand
    if shooter is None:
        shooter, hand = action.player, hand + 1
        events.append(ShooterChanged(None, shooter))
    new_state = replace(state, ledger=ledger, seats=seats, shooter=shooter, hand=hand)
    return new_state, tuple(events)


def _pass_dice(state: CrapsState, action: PassDice) -> Result:
    """The dice go to the next seat that is not idle (back to the shooter if no one else may
    take them); the point and every bet stand, as when a shooter leaves the table. A shooter
    who lost them by timeout is idle until they act again."""
    idle = state.idle
    if action.timed_out and action.shooter not in idle:
        idle = tuple(seat for seat in state.seats if seat in idle or seat == action.shooter)
    following = next_shooter(state.seats, action.shooter, idle)
    events = (
        DicePassed(action.shooter, action.roll_number, action.timed_out),
        ShooterChanged(action.shooter, following),
    )
    return replace(state, shooter=following, hand=state.hand + 1, idle=idle), events


def _place(
    state: CrapsState,
    player: bytes,
    kind: BetKind,
    number: int | None,
    amount: int,
    base: int | None,
) -> Result:
    bet = new_bet(state.next_bet_id, player, kind, number, amount, state.config, base)
    ledger = state.ledger.with_escrow(bet.bet_id, player, bet.escrow, max_win(bet, state.config))
    placed = BetPlaced(bet.bet_id, player, kind, number, amount, bet.escrow, base)
    new_state = replace(
        state, ledger=ledger, bets=(*state.bets, bet), next_bet_id=state.next_bet_id + 1
    )
    return new_state, (placed,)


def _take_down(state: CrapsState, bet_id: int) -> Result:
    """The bet and any odds behind it come back to the player."""
    doomed = [bet for bet in state.bets if bet_id in (bet.bet_id, bet.base)]
    ledger = state.ledger
    events: list[Event] = []
    for bet in doomed:
        ledger, settled = settle(ledger, bet, RETURN, state)
        events.append(settled)
    kept: tuple[Bet, ...] = tuple(bet for bet in state.bets if bet_id not in (bet.bet_id, bet.base))
    return replace(state, ledger=ledger, bets=kept), tuple(events)


def _cash_out(state: CrapsState, player: bytes, amount: int) -> Result:
    ledger = state.ledger.with_cash_out(player, amount)
    balance = ledger.balance(player)
    assert balance is not None
    return replace(state, ledger=ledger), (CashedOut(player, amount, balance),)


def _cash_out_action(state: CrapsState, action: CashOut) -> Result:
    """Free chips off the table. A player left with no chips and no bets walks away: the
    seat is given up as by `Leave` (so the dice never go to an empty seat), but for the
    shooter while a roll is pending, whose seat the roll still needs."""
    player = action.player
    amount = action.amount if action.amount is not None else state.balance(player)
    assert amount is not None
    state, events = _cash_out(state, player, amount)
    pending_shooter = state.roll_pending and state.shooter == player
    if state.balance(player) or state.bets_of(player) or pending_shooter:
        return state, events
    state, left = _leave(state, Leave(player))
    return state, events + left


def _leave(state: CrapsState, action: Leave) -> Result:
    player = action.player
    events: list[Event] = []
    balance = state.balance(player) or 0
    if balance:
        state, cashed = _cash_out(state, player, balance)
        events.extend(cashed)
    seats = tuple(seat for seat in state.seats if seat != player)
    events.append(Left(player))
    shooter, hand = state.shooter, state.hand
    if shooter == player:
        following = next_shooter(state.seats, player, (*state.idle, player))
        shooter = None if following == player else following
        hand += 1
        events.append(ShooterChanged(player, shooter))
    ledger = state.ledger.without_account(player)
    new_state = replace(state, ledger=ledger, seats=seats, shooter=shooter, hand=hand)
    return new_state, tuple(events)
