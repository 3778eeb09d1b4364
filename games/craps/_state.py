"""A craps table's whole state: rules, chips, seats, shooter, point and every open bet."""

from __future__ import annotations

from dataclasses import dataclass

from .._ledger import Ledger
from ._config import TableConfig
from ._kinds import BetKind, Working

RECENT_ROLLS = 10


@dataclass(frozen=True, slots=True)
class Bet:
    """One open bet. ``number`` is the bet's number (its point once a line bet has moved);
    ``commission`` is the commission escrowed with the stake when it is charged up front;
    ``base`` is the line bet an odds bet sits behind."""

    bet_id: int
    player: bytes
    kind: BetKind
    number: int | None
    amount: int
    commission: int = 0
    base: int | None = None
    working: Working = Working.DEFAULT

    @property
    def escrow(self) -> int:
        return self.amount + self.commission


@dataclass(frozen=True, slots=True)
class CrapsState:
    """Immutable; `CrapsTable.apply` returns a new one.

    ``seats`` are the seated players in join order (the order the dice travel in);
    ``point`` is None on a come-out roll; ``roll_number`` counts the rolls made;
    ``roll_pending`` is set between a `RollRequest` and its `Roll`, when no bet may change;
    ``hand`` counts the times the dice were handed to a shooter (every `ShooterChanged`), so
    ``(shooter, roll_number, hand)`` names the current shooter's turn and never recurs: a
    table layer's "this shooter did not roll in time" votes name it (`turn`).
    """

    config: TableConfig
    ledger: Ledger
    seats: tuple[bytes, ...] = ()
    shooter: bytes | None = None
    point: int | None = None
    roll_number: int = 0
    roll_pending: bool = False
    recent_rolls: tuple[tuple[int, int], ...] = ()
    next_bet_id: int = 1
    bets: tuple[Bet, ...] = ()
    hand: int = 0
    idle: tuple[bytes, ...] = ()

    @property
    def turn(self) -> tuple[bytes, int, int] | None:
        """``(shooter, roll_number, hand)`` while a shooter holds the dice and has not asked
        for the roll yet; None with no shooter or while a roll is pending."""
        if self.shooter is None or self.roll_pending:
            return None
        return self.shooter, self.roll_number, self.hand

    @property
    def come_out(self) -> bool:
        return self.point is None

    def bet(self, bet_id: int) -> Bet | None:
        for bet in self.bets:
            if bet.bet_id == bet_id:
                return bet
        return None

    def bets_of(self, player: bytes) -> tuple[Bet, ...]:
        return tuple(bet for bet in self.bets if bet.player == player)

    def odds_on(self, base_id: int) -> tuple[Bet, ...]:
        return tuple(bet for bet in self.bets if bet.base == base_id)

    def balance(self, player: bytes) -> int | None:
        return self.ledger.balance(player)

    def spot_total(self, player: bytes, kind: BetKind, number: int | None) -> int:
        """What the player already has on this spot of the layout."""
        return sum(
            bet.amount
            for bet in self.bets
            if bet.player == player and bet.kind is kind and bet.number == number
        )
