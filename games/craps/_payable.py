"""Bets that can pay: a win leaves the player at least one chip ahead, and odds pay exactly.

Rounding goes to the bank (`_money`), so a small enough bet could win nothing: a buy of 1 on 6
wins 1 and is charged 1, a lay of 1 on 4 wins half a chip. Such a bet can only lose or push,
and the table refuses it (`cannot_pay`, naming the least stake that wins a chip). Odds are
taken (and laid) in the multiples that make true odds a whole number of chips, as casinos
take them, so that the odds' house edge is 0 for every amount the table accepts.
"""

from __future__ import annotations

from .._api import Code, Rejection
from ._bets import COMMISSION_BETS, max_win, new_bet
from ._config import TableConfig
from ._kinds import BetKind, describe
from ._payouts import multi_roll_pays
from ._state import Bet

LEAST_SEARCH_CHIPS = 256
"""How far above a refused stake the least paying one is looked for (a bounded search)."""


def best_win_net(bet: Bet, cfg: TableConfig) -> int:
    """What the bet's best win leaves the player ahead: winnings less every commission."""
    return max_win(bet, cfg) - bet.commission


def check_pays(bet: Bet, cfg: TableConfig) -> Rejection | None:
    """None if the bet's best win pays at least one chip; else a `cannot_pay` refusal."""
    if best_win_net(bet, cfg) >= 1:
        return None
    name = describe(bet.kind, bet.number)
    why = "after rounding"
    if bet.kind in COMMISSION_BETS and cfg.commission_percent:
        why = f"after rounding and the {cfg.commission_percent}% commission"
    least = _least_paying(bet, cfg)
    if least is None:
        return Rejection(Code.CANNOT_PAY, f"a {name} bet at this table wins nothing {why}")
    return Rejection(
        Code.CANNOT_PAY,
        f"a {name} bet of {bet.amount} chips wins nothing {why}; "
        f"the least that wins a chip is {least}",
    )


def _least_paying(bet: Bet, cfg: TableConfig) -> int | None:
    top = min(cfg.max_bet, bet.amount + LEAST_SEARCH_CHIPS)
    for amount in range(bet.amount + 1, top + 1):
        trial = new_bet(bet.bet_id, bet.player, bet.kind, bet.number, amount, cfg, bet.base)
        if best_win_net(trial, cfg) >= 1:
            return amount
    return None


def odds_multiple_chips(kind: BetKind, point: int) -> int:
    """The chips odds on ``point`` come in so that they pay true odds exactly: 2 on 5 and 9,
    5 on 6 and 8, 1 on 4 and 10; laid: 2 on 4 and 10, 3 on 5 and 9, 6 on 6 and 8."""
    return multi_roll_pays(kind, point).denominator


def check_odds_amount(kind: BetKind, point: int, amount: int) -> Rejection | None:
    """None if ``amount`` of odds (``ODDS`` or ``LAY_ODDS``) on ``point`` pays exactly."""
    multiple = odds_multiple_chips(kind, point)
    if amount % multiple == 0:
        return None
    lay = kind is BetKind.LAY_ODDS
    return Rejection(
        Code.BAD_AMOUNT,
        f"{'lay odds' if lay else 'odds'} on {point} are {'laid' if lay else 'taken'} "
        f"in multiples of {multiple} chips, "
        "so that they pay true odds exactly",
    )
