"""Whether an action may be applied to a state now, and if not, the reason the player sees."""

from __future__ import annotations

from fractions import Fraction

from .._api import Code, Rejection
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
from ._kinds import LINE_BETS, STAKE_DIVISOR, SWITCHABLE_BETS, BetKind, describe, takes_number
from ._payable import check_odds_amount, check_pays
from ._payouts import multi_roll_pays
from ._state import Bet, CrapsState

CONTRACT_BETS = frozenset({BetKind.PASS, BetKind.COME})


def validate(state: CrapsState, action: Action) -> Rejection | None:
    if isinstance(action, Join):
        return _validate_join(state, action)
    if isinstance(action, PlaceBet):
        return _seated(state, action.player) or _not_pending(state) or _validate_bet(state, action)
    if isinstance(action, PlaceOdds):
        return _seated(state, action.player) or _not_pending(state) or _validate_odds(state, action)
    if isinstance(action, TakeDown):
        return _validate_take_down(state, action)
    if isinstance(action, (TurnOff, TurnOn)):
        return _validate_switch(state, action)
    if isinstance(action, (RollRequest, Roll, PassDice)):
        return _validate_roll(state, action)
    if isinstance(action, CashOut):
        return _validate_cash_out(state, action)
    if isinstance(action, Leave):
        return _validate_leave(state, action)
    raise TypeError(f"not a craps action: {type(action).__name__}")


def _validate_join(state: CrapsState, action: Join) -> Rejection | None:
    if action.player not in state.seats and len(state.seats) >= state.config.max_players:
        return Rejection(Code.TABLE_FULL, f"all {state.config.max_players} seats are taken")
    return state.ledger.check_buy_in(action.buy_in)


def _validate_bet(state: CrapsState, action: PlaceBet) -> Rejection | None:
    cfg, kind, number = state.config, action.kind, action.number
    name = describe(kind, number)
    if not takes_number(kind, number):
        return Rejection(Code.UNKNOWN_BET, f"there is no {name} bet on this layout")
    if kind in (BetKind.PASS, BetKind.DONT_PASS) and not state.come_out:
        return Rejection(Code.WRONG_PHASE, f"{name} is bet on the come-out; the point is on")
    if kind in (BetKind.COME, BetKind.DONT_COME) and state.come_out:
        return Rejection(Code.WRONG_PHASE, f"{name} is bet once a point is on; this is a come-out")
    if action.amount < cfg.min_bet:
        return Rejection(Code.UNDER_MINIMUM, f"the table minimum is {cfg.min_bet}")
    on_spot = state.spot_total(action.player, kind, number)
    if on_spot + action.amount > cfg.max_bet:
        return Rejection(
            Code.OVER_LIMIT,
            f"the table maximum is {cfg.max_bet} and you have {on_spot} on {name}",
        )
    divisor = STAKE_DIVISOR.get(kind, 1)
    if action.amount % divisor:
        return Rejection(Code.BAD_AMOUNT, f"a {name} bet must be a multiple of {divisor}")
    bet = new_bet(state.next_bet_id, action.player, kind, number, action.amount, cfg)
    return (
        check_pays(bet, cfg)
        or _room_for_bet(state, action.player)
        or state.ledger.check_escrow(action.player, bet.escrow, max_win(bet, cfg))
    )


def _validate_odds(state: CrapsState, action: PlaceOdds) -> Rejection | None:
    base = _own_bet(state, action.player, action.bet_id)
    if isinstance(base, Rejection):
        return base
    if base.kind not in LINE_BETS:
        name = describe(base.kind, None)
        return Rejection(Code.NO_ODDS, f"odds go behind a line bet, not a {name} bet")
    if base.number is None:
        return Rejection(Code.WRONG_PHASE, "odds go behind a line bet once it has a point")
    point = base.number
    multiple = state.config.odds_multiple(point)
    total = action.amount + sum(bet.amount for bet in state.odds_on(base.bet_id))
    if base.kind in (BetKind.PASS, BetKind.COME):
        limit = multiple * base.amount
    else:  # lay odds: what they could win is at most the multiple of the flat bet
        limit = int(Fraction(multiple * base.amount) / multi_roll_pays(BetKind.LAY_ODDS, point))
    if total > limit:
        return Rejection(
            Code.OVER_LIMIT, f"odds behind bet {base.bet_id} are limited to {limit} chips"
        )
    kind = BetKind.ODDS if base.kind in (BetKind.PASS, BetKind.COME) else BetKind.LAY_ODDS
    cfg = state.config
    bet = new_bet(state.next_bet_id, action.player, kind, point, action.amount, cfg, base.bet_id)
    return (
        check_odds_amount(kind, point, action.amount)
        or check_pays(bet, cfg)
        or _room_for_bet(state, action.player)
        or state.ledger.check_escrow(action.player, bet.escrow, max_win(bet, cfg))
    )


def _validate_take_down(state: CrapsState, action: TakeDown) -> Rejection | None:
    bet = _own_bet(state, action.player, action.bet_id)
    if isinstance(bet, Rejection):
        return bet
    if bet.kind in CONTRACT_BETS and bet.number is not None:
        return Rejection(
            Code.CONTRACT_BET,
            f"a {describe(bet.kind, None)} bet cannot come down once it has a point",
        )
    return _not_pending(state)


def _validate_switch(state: CrapsState, action: TurnOff | TurnOn) -> Rejection | None:
    bet = _own_bet(state, action.player, action.bet_id)
    if isinstance(bet, Rejection):
        return bet
    if bet.kind not in SWITCHABLE_BETS:
        return Rejection(
            Code.CANNOT_TURN_OFF,
            f"a {describe(bet.kind, None)} bet always works; only place, buy, lay, big 6/8, "
            "hardways and odds can be turned off and on",
        )
    return _not_pending(state)


def _validate_roll(
    state: CrapsState, action: RollRequest | Roll | PassDice
) -> Rejection | None:
    """A roll, its request or giving up the dice: only the shooter, only at the next roll,
    and (but for the `Roll` itself) not while the dice are rolling."""
    if state.shooter is None:
        return Rejection(Code.NO_SHOOTER, "no one is seated to shoot")
    if action.shooter != state.shooter:
        return Rejection(Code.NOT_SHOOTER, "only the shooter holds the dice")
    if action.roll_number != state.roll_number:
        return Rejection(
            Code.STALE_ROLL,
            f"the next roll is number {state.roll_number}, not {action.roll_number}",
        )
    if not isinstance(action, Roll) and state.roll_pending:
        return Rejection(Code.ROLL_PENDING, "the dice are already rolling")
    return None


def _validate_cash_out(state: CrapsState, action: CashOut) -> Rejection | None:
    seated = _seated(state, action.player)
    if seated is not None:
        return seated
    amount = action.amount if action.amount is not None else state.balance(action.player) or 0
    return state.ledger.check_cash_out(action.player, amount)


def _validate_leave(state: CrapsState, action: Leave) -> Rejection | None:
    seated = _seated(state, action.player)
    if seated is not None:
        return seated
    if state.bets_of(action.player):
        return Rejection(Code.OPEN_BETS, "you still have bets on the layout")
    if action.player == state.shooter:
        return _not_pending(state)
    return None


# --- shared checks -----------------------------------------------------------------------


def _seated(state: CrapsState, player: bytes) -> Rejection | None:
    if player not in state.seats:
        return Rejection(Code.NOT_SEATED, "you are not seated at this table")
    return None


def _not_pending(state: CrapsState) -> Rejection | None:
    if state.roll_pending:
        return Rejection(Code.ROLL_PENDING, "the dice are rolling; no bet can change now")
    return None


def _room_for_bet(state: CrapsState, player: bytes) -> Rejection | None:
    most = state.config.max_bets_per_player
    if len(state.bets_of(player)) >= most:
        return Rejection(Code.TOO_MANY_BETS, f"a player may have at most {most} open bets")
    return None


def _own_bet(state: CrapsState, player: bytes, bet_id: int) -> Bet | Rejection:
    bet = state.bet(bet_id)
    if bet is None:
        return Rejection(Code.NO_SUCH_BET, f"there is no open bet {bet_id}")
    if bet.player != player:
        return Rejection(Code.NOT_YOUR_BET, f"bet {bet_id} belongs to another player")
    return bet
