"""A table's chip ledger: player balances, the bank, and the chips escrowed for open bets.

Game-agnostic and immutable: every operation returns a new `Ledger`. The game decides what a
bet wins; the ledger makes sure the chips add up:

- a buy-in brings chips onto the table, a cash-out takes a player's free chips off it;
- a bet's stake (and any commission charged up front) is escrowed when it is placed;
- a bet is accepted only if the bank could pay it even if every open bet won at its largest
  payout at once (``exposure``, the sum of those payouts, never exceeds the bank);
- a bet is settled exactly once: its escrow entry is removed, part of it returned to the
  player, the rest kept by the bank, and the bank pays the winnings;
- conservation: balances + escrow + bank == bankroll + bought_in - cashed_out, always.

Checks that a player can cause return a `Rejection` (``check_*``); the ``with_*`` operations
raise `LedgerError` when called against those checks, which is a bug in the game, not a move.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ._api import Code, Rejection

MAX_CHIPS = 2**62  # on the table at once
MAX_LIFETIME_BUY_INS = 2**63 - 1  # so every count fits a signed 64-bit integer on the wire


class LedgerError(Exception):
    """The game asked the ledger for something its own checks forbid: a local bug."""


@dataclass(frozen=True, slots=True)
class Account:
    player: bytes
    balance: int


@dataclass(frozen=True, slots=True)
class Escrow:
    """Chips held for one open bet, and the most the bank could have to pay on it."""

    bet_id: int
    player: bytes
    amount: int
    max_win: int


@dataclass(frozen=True, slots=True)
class Ledger:
    bankroll: int
    bank: int
    bought_in: int = 0
    cashed_out: int = 0
    accounts: tuple[Account, ...] = ()  # sorted by player
    escrows: tuple[Escrow, ...] = ()  # sorted by bet id

    @classmethod
    def open(cls, bankroll: int) -> Ledger:
        if type(bankroll) is not int or not 0 <= bankroll <= MAX_CHIPS:
            raise ValueError(f"bankroll must be an integer in [0, {MAX_CHIPS}]")
        return cls(bankroll=bankroll, bank=bankroll)

    # --- reading -------------------------------------------------------------------------

    def balance(self, player: bytes) -> int | None:
        """The player's free chips, or None if the player has no account."""
        for account in self.accounts:
            if account.player == player:
                return account.balance
        return None

    def escrow(self, bet_id: int) -> Escrow | None:
        for entry in self.escrows:
            if entry.bet_id == bet_id:
                return entry
        return None

    def escrowed(self) -> int:
        return sum(entry.amount for entry in self.escrows)

    def exposure(self) -> int:
        """The most the bank could owe if every open bet won its largest payout at once."""
        return sum(entry.max_win for entry in self.escrows)

    def bank_free(self) -> int:
        return self.bank - self.exposure()

    def total_chips(self) -> int:
        return sum(a.balance for a in self.accounts) + self.escrowed() + self.bank

    # --- checks a player's action can fail -----------------------------------------------

    def check_buy_in(self, amount: int) -> Rejection | None:
        if amount < 1:
            return Rejection(Code.BAD_AMOUNT, "a buy-in must be at least 1 chip")
        if self.total_chips() + amount > MAX_CHIPS:
            return Rejection(Code.OVER_LIMIT, f"the table holds at most {MAX_CHIPS} chips")
        if self.bought_in + amount > MAX_LIFETIME_BUY_INS:
            return Rejection(Code.OVER_LIMIT, "this table has taken all the buy-ins it can")
        return None

    def check_cash_out(self, player: bytes, amount: int) -> Rejection | None:
        balance = self.balance(player)
        if balance is None:
            return Rejection(Code.NOT_SEATED, "you have no chips at this table")
        if amount < 1:
            return Rejection(Code.NOTHING_TO_CASH_OUT, "you have no free chips to cash out")
        if amount > balance:
            return Rejection(
                Code.INSUFFICIENT_CHIPS,
                f"you asked to cash out {amount} chips but have {balance} free",
            )
        return None

    def check_escrow(self, player: bytes, amount: int, max_win: int) -> Rejection | None:
        balance = self.balance(player)
        if balance is None:
            return Rejection(Code.NOT_SEATED, "you have no chips at this table")
        if amount > balance:
            return Rejection(
                Code.INSUFFICIENT_CHIPS, f"this bet needs {amount} chips and you have {balance}"
            )
        free = self.bank_free()
        if max_win > free:
            return Rejection(
                Code.BANK_CANNOT_COVER,
                f"this bet could win {max_win} chips and the bank can cover {max(free, 0)} more",
            )
        return None

    # --- operations ----------------------------------------------------------------------

    def with_buy_in(self, player: bytes, amount: int) -> Ledger:
        self._require(self.check_buy_in(amount))
        balance = self.balance(player) or 0
        return replace(
            self,
            bought_in=self.bought_in + amount,
            accounts=self._set_balance(player, balance + amount),
        )

    def with_cash_out(self, player: bytes, amount: int) -> Ledger:
        self._require(self.check_cash_out(player, amount))
        balance = self.balance(player) or 0
        return replace(
            self,
            cashed_out=self.cashed_out + amount,
            accounts=self._set_balance(player, balance - amount),
        )

    def with_escrow(self, bet_id: int, player: bytes, amount: int, max_win: int) -> Ledger:
        self._require(self.check_escrow(player, amount, max_win))
        if amount < 1 or max_win < 0:
            raise LedgerError(f"bet {bet_id}: escrow {amount} and max win {max_win} are invalid")
        if self.escrows and bet_id <= self.escrows[-1].bet_id:
            raise LedgerError(f"bet {bet_id}: ids must increase")
        balance = self.balance(player) or 0
        return replace(
            self,
            accounts=self._set_balance(player, balance - amount),
            escrows=(*self.escrows, Escrow(bet_id, player, amount, max_win)),
        )

    def with_settlement(self, bet_id: int, returned: int, paid: int) -> Ledger:
        """Close bet ``bet_id``: ``returned`` of its escrow goes back to the player, the rest to
        the bank, and the bank pays the player ``paid`` (at most the bet's ``max_win``)."""
        entry = self.escrow(bet_id)
        if entry is None:
            raise LedgerError(f"bet {bet_id} is not open (settled twice?)")
        if not 0 <= returned <= entry.amount or not 0 <= paid <= entry.max_win:
            raise LedgerError(
                f"bet {bet_id}: cannot return {returned} of {entry.amount} and pay {paid} "
                f"(at most {entry.max_win})"
            )
        balance = self.balance(entry.player) or 0
        return replace(
            self,
            bank=self.bank + entry.amount - returned - paid,
            accounts=self._set_balance(entry.player, balance + returned + paid),
            escrows=tuple(e for e in self.escrows if e.bet_id != bet_id),
        )

    def without_account(self, player: bytes) -> Ledger:
        """Close an empty account (no free chips, nothing escrowed)."""
        if self.balance(player) != 0 or any(e.player == player for e in self.escrows):
            raise LedgerError("only an empty account with no open bets can be closed")
        return replace(self, accounts=tuple(a for a in self.accounts if a.player != player))

    def check_invariants(self) -> None:
        """Raise LedgerError unless the chips add up and every amount is in range."""
        expected = self.bankroll + self.bought_in - self.cashed_out
        if self.total_chips() != expected:
            raise LedgerError(f"chips not conserved: {self.total_chips()} != {expected}")
        if any(a.balance < 0 for a in self.accounts):
            raise LedgerError("a balance is negative")
        if any(e.amount < 1 or e.max_win < 0 for e in self.escrows):
            raise LedgerError("an escrow entry is out of range")
        if self.bank < self.exposure():
            raise LedgerError(f"bank {self.bank} cannot cover exposure {self.exposure()}")
        players = [a.player for a in self.accounts]
        if players != sorted(set(players)):
            raise LedgerError("accounts are not sorted by player or repeat one")
        ids = [e.bet_id for e in self.escrows]
        if ids != sorted(set(ids)) or any(e.player not in players for e in self.escrows):
            raise LedgerError("escrow entries are unsorted, repeated or have no account")

    # --- helpers -------------------------------------------------------------------------

    def _set_balance(self, player: bytes, balance: int) -> tuple[Account, ...]:
        if balance < 0:
            raise LedgerError("a balance would go negative")
        others = [a for a in self.accounts if a.player != player]
        return tuple(sorted([*others, Account(player, balance)], key=lambda a: a.player))

    @staticmethod
    def _require(rejection: Rejection | None) -> None:
        if rejection is not None:
            raise LedgerError(f"operation the ledger's checks reject: {rejection}")
