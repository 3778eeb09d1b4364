"""Everything that is true of every reachable craps state: checked on restore and in tests."""

from __future__ import annotations

from .._ledger import LedgerError
from ._bets import COMMISSION_BETS, max_win
from ._kinds import (
    LINE_BETS,
    ODDS_BETS,
    POINTS,
    SWITCHABLE_BETS,
    BetKind,
    Working,
    takes_number,
)
from ._payouts import commission
from ._state import RECENT_ROLLS, Bet, CrapsState


class StateInvariantError(ValueError):
    """A craps state that no sequence of valid actions could produce."""


def check_state(state: CrapsState) -> None:
    """Raise StateInvariantError naming the first thing wrong with ``state``."""
    try:
        state.ledger.check_invariants()
    except LedgerError as exc:
        raise StateInvariantError(f"ledger: {exc}") from None
    _check_table(state)
    ids = [bet.bet_id for bet in state.bets]
    if ids != sorted(set(ids)) or (ids and not 1 <= ids[0] <= ids[-1] < state.next_bet_id):
        raise StateInvariantError("bet ids are unsorted, repeated or not yet issued")
    for bet in state.bets:
        _check_bet(state, bet)
    escrows = state.ledger.escrows
    if len(escrows) != len(state.bets):
        raise StateInvariantError("open bets and escrow entries differ")
    for bet, entry in zip(state.bets, escrows, strict=True):
        expected = (bet.bet_id, bet.player, bet.escrow, max_win(bet, state.config))
        if (entry.bet_id, entry.player, entry.amount, entry.max_win) != expected:
            raise StateInvariantError(f"bet {bet.bet_id}: escrow entry does not match the bet")
    for player in state.seats:
        if len(state.bets_of(player)) > state.config.max_bets_per_player:
            raise StateInvariantError("a player has more open bets than the table allows")


def _check_table(state: CrapsState) -> None:
    seats = state.seats
    if len(set(seats)) != len(seats) or len(seats) > state.config.max_players:
        raise StateInvariantError("seats repeat a player or exceed the table's seats")
    if state.ledger.bankroll != state.config.bankroll:
        raise StateInvariantError("the ledger's bankroll is not the table's")
    if sorted(seats) != [account.player for account in state.ledger.accounts]:
        raise StateInvariantError("seated players and ledger accounts differ")
    if (state.shooter is None) != (not seats) or (state.shooter and state.shooter not in seats):
        raise StateInvariantError("the shooter must be seated, and there is one if anyone is")
    if state.idle != tuple(seat for seat in seats if seat in state.idle):
        raise StateInvariantError("idle players are seated, each once, in seat order")
    if state.point is not None and state.point not in POINTS:
        raise StateInvariantError(f"{state.point} is not a point")
    if state.shooter is not None and state.hand < 1:
        raise StateInvariantError("a shooter holds the dice that were never handed out")
    if state.roll_pending and state.shooter is None:
        raise StateInvariantError("a roll is pending with no shooter")
    if len(state.recent_rolls) > min(RECENT_ROLLS, state.roll_number):
        raise StateInvariantError("more recent rolls than rolls made")
    if any(not (1 <= a <= 6 and 1 <= b <= 6) for a, b in state.recent_rolls):
        raise StateInvariantError("a recent roll has a face outside 1..6")


def _check_bet(state: CrapsState, bet: Bet) -> None:
    where = f"bet {bet.bet_id}"
    if bet.amount < 1:
        raise StateInvariantError(f"{where}: stake must be positive")
    if bet.kind in (BetKind.PASS, BetKind.DONT_PASS) and bet.number != state.point:
        raise StateInvariantError(f"{where}: a pass line bet's number is the point")
    if bet.kind in (BetKind.COME, BetKind.DONT_COME) and bet.number is None and state.come_out:
        raise StateInvariantError(f"{where}: a come bet waits for its number only on a point")
    if bet.kind in LINE_BETS and bet.number not in (None, *POINTS):
        raise StateInvariantError(f"{where}: a line bet's number is a point")
    if bet.kind not in LINE_BETS | ODDS_BETS and not takes_number(bet.kind, bet.number):
        raise StateInvariantError(f"{where}: no such bet on the layout")
    if (bet.base is not None) != (bet.kind in ODDS_BETS):
        raise StateInvariantError(f"{where}: only odds bets sit behind another bet")
    if bet.base is not None:
        base = state.bet(bet.base)
        expected_kind = BetKind.ODDS
        if base is not None and base.kind in (BetKind.DONT_PASS, BetKind.DONT_COME):
            expected_kind = BetKind.LAY_ODDS
        if (
            base is None
            or base.kind not in LINE_BETS
            or base.player != bet.player
            or base.number is None
            or base.number != bet.number
            or bet.kind is not expected_kind
        ):
            raise StateInvariantError(f"{where}: odds must sit behind the player's line bet")
    if bet.working is not Working.DEFAULT and bet.kind not in SWITCHABLE_BETS:
        raise StateInvariantError(f"{where}: this bet cannot be switched")
    upfront = bet.kind in COMMISSION_BETS and not state.config.commission_on_win_only
    expected = commission(bet.kind, bet.number, bet.amount, state.config) if upfront else 0
    if bet.commission != expected:
        raise StateInvariantError(f"{where}: escrowed commission should be {expected}")
