"""The one rounding rule: a fraction of a chip always goes to the bank.

Chips are integers. Where the exact amount has a fraction, what the bank pays is rounded
down and what the player pays (a commission) is rounded up. Every payout and commission in
the game goes through `whole_chips`, so the rule is applied the same way everywhere.
"""

from __future__ import annotations

from fractions import Fraction


def whole_chips(exact: Fraction, *, paid_by_bank: bool) -> int:
    """Round an exact chip amount in the bank's favour."""
    if paid_by_bank:
        return exact.numerator // exact.denominator
    return -(-exact.numerator // exact.denominator)


def bank_pays(stake: int, ratio: Fraction) -> int:
    """Winnings on ``stake`` at ``ratio``:1 (``ratio`` 7/6 is "7 to 6"), rounded down."""
    return whole_chips(stake * ratio, paid_by_bank=True)


def player_pays(base: int, percent: int) -> int:
    """``percent`` per cent of ``base``, rounded up: a commission."""
    return whole_chips(Fraction(base * percent, 100), paid_by_bank=False)
