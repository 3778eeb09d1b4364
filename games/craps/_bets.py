"""The chips side of a bet: what it escrows, the most it can win, and what a decision pays."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ._config import TableConfig
from ._kinds import BetKind
from ._money import bank_pays
from ._payouts import commission, max_ratio
from ._rules import Decision, Outcome
from ._state import Bet

COMMISSION_BETS = frozenset({BetKind.BUY, BetKind.LAY})


@dataclass(frozen=True, slots=True)
class Payment:
    """How a decided bet's chips move; see `Settled`."""

    returned: int
    paid: int
    commission: int


def new_bet(
    bet_id: int,
    player: bytes,
    kind: BetKind,
    number: int | None,
    amount: int,
    cfg: TableConfig,
    base: int | None = None,
) -> Bet:
    """A bet as placed: with the commission escrowed when the table charges it up front."""
    upfront = 0
    if kind in COMMISSION_BETS and not cfg.commission_on_win_only:
        upfront = commission(kind, number, amount, cfg)
    return Bet(bet_id, player, kind, number, amount, commission=upfront, base=base)


def payment(bet: Bet, decision: Decision, cfg: TableConfig) -> Payment:
    if decision.outcome in (Outcome.PUSH, Outcome.RETURNED):
        return Payment(returned=bet.escrow, paid=0, commission=0)
    if decision.outcome is Outcome.LOSE:
        return Payment(returned=0, paid=0, commission=bet.commission)
    winnings = bank_pays(bet.amount, decision.ratio)
    if bet.kind not in COMMISSION_BETS:
        return Payment(returned=bet.amount, paid=winnings, commission=0)
    if cfg.commission_on_win_only:
        fee = commission(bet.kind, bet.number, bet.amount, cfg)
        return Payment(returned=bet.amount, paid=winnings - fee, commission=fee)
    return Payment(returned=bet.amount, paid=winnings, commission=bet.commission)


def max_win(bet: Bet, cfg: TableConfig) -> int:
    """The most the bank could pay on this bet: the part of the bank it reserves."""
    ratio: Fraction = max_ratio(bet.kind, bet.number, cfg)
    return payment(bet, Decision(Outcome.WIN, ratio), cfg).paid
