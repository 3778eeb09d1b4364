"""The chip ledger on its own: conservation, escrow, bank cover, settle exactly once."""

from __future__ import annotations

import pytest

from bitcraps.games._api import Code
from bitcraps.games._ledger import MAX_CHIPS, Ledger, LedgerError

P, Q = b"p" * 32, b"q" * 32


def test_chips_flow_and_add_up() -> None:
    ledger = Ledger.open(1_000).with_buy_in(P, 500).with_buy_in(Q, 200)
    ledger = ledger.with_escrow(1, P, 100, 300).with_escrow(2, Q, 50, 50)
    assert (ledger.balance(P), ledger.escrowed(), ledger.exposure()) == (400, 150, 350)
    assert ledger.bank_free() == 650
    ledger = ledger.with_settlement(1, returned=100, paid=300)  # P wins 3:1
    ledger = ledger.with_settlement(2, returned=0, paid=0)  # Q loses
    assert (ledger.balance(P), ledger.balance(Q), ledger.bank) == (800, 150, 750)
    ledger = ledger.with_cash_out(P, 800)
    assert ledger.total_chips() == 1_000 + 700 - 800
    ledger.check_invariants()
    assert ledger.without_account(P).balance(P) is None


def test_a_bet_settles_once() -> None:
    ledger = Ledger.open(100).with_buy_in(P, 10).with_escrow(1, P, 10, 10)
    ledger = ledger.with_settlement(1, 10, 0)
    with pytest.raises(LedgerError, match="not open"):
        ledger.with_settlement(1, 10, 0)


def test_checks_name_what_is_wrong() -> None:
    ledger = Ledger.open(100).with_buy_in(P, 10)
    assert ledger.check_escrow(Q, 1, 0).code is Code.NOT_SEATED
    assert ledger.check_escrow(P, 11, 0).code is Code.INSUFFICIENT_CHIPS
    assert ledger.check_escrow(P, 10, 101).code is Code.BANK_CANNOT_COVER
    assert ledger.check_escrow(P, 10, 100) is None
    assert ledger.check_cash_out(P, 11).code is Code.INSUFFICIENT_CHIPS
    assert ledger.check_buy_in(MAX_CHIPS).code is Code.OVER_LIMIT


def test_operations_against_the_checks_are_local_bugs() -> None:
    ledger = Ledger.open(100).with_buy_in(P, 10).with_escrow(5, P, 5, 5)
    with pytest.raises(LedgerError):
        ledger.with_escrow(6, P, 6, 0)  # only 5 free
    with pytest.raises(LedgerError):
        ledger.with_escrow(4, P, 1, 0)  # ids only increase
    with pytest.raises(LedgerError):
        ledger.with_settlement(5, returned=6, paid=0)  # more than escrowed
    with pytest.raises(LedgerError):
        ledger.with_settlement(5, returned=5, paid=6)  # more than reserved
    with pytest.raises(LedgerError):
        ledger.without_account(P)
    with pytest.raises(ValueError):
        Ledger.open(-1)
