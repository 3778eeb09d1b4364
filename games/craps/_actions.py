"""What players (and the table layer) ask a craps table to do. Each validates its own shape;
whether it is allowed now is `CrapsTable.validate`'s question."""

from __future__ import annotations

from dataclasses import dataclass

from .._ledger import MAX_CHIPS
from ._kinds import ODDS_BETS, BetKind

MAX_PLAYER_BYTES = 64
MAX_ID = 2**63 - 1


def _check_player(player: object) -> None:
    if type(player) is not bytes or not 1 <= len(player) <= MAX_PLAYER_BYTES:
        raise ValueError(f"a player id is 1..{MAX_PLAYER_BYTES} bytes")


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if type(value) is not int or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}]")


@dataclass(frozen=True, slots=True)
class Join:
    """Sit down (joining the dice rotation) with ``buy_in`` chips, or buy more if seated."""

    player: bytes
    buy_in: int

    def __post_init__(self) -> None:
        _check_player(self.player)
        _check_int("buy_in", self.buy_in, 1, MAX_CHIPS)


@dataclass(frozen=True, slots=True)
class PlaceBet:
    """A bet on the layout; ``number`` as `numbers_for(kind)` lists (None for the others)."""

    player: bytes
    kind: BetKind
    amount: int
    number: int | None = None

    def __post_init__(self) -> None:
        _check_player(self.player)
        if not isinstance(self.kind, BetKind) or self.kind in ODDS_BETS:
            raise ValueError("kind must be a BetKind other than odds (use PlaceOdds)")
        _check_int("amount", self.amount, 1, MAX_CHIPS)
        if self.number is not None:
            _check_int("number", self.number, 0, 99)


@dataclass(frozen=True, slots=True)
class PlaceOdds:
    """Odds behind the player's own line bet ``bet_id`` (taken or laid as that bet calls for)."""

    player: bytes
    bet_id: int
    amount: int

    def __post_init__(self) -> None:
        _check_player(self.player)
        _check_int("bet_id", self.bet_id, 1, MAX_ID)
        _check_int("amount", self.amount, 1, MAX_CHIPS)


@dataclass(frozen=True, slots=True)
class TakeDown:
    """Take an open bet back (and any odds behind it), where the rules allow."""

    player: bytes
    bet_id: int

    def __post_init__(self) -> None:
        _check_player(self.player)
        _check_int("bet_id", self.bet_id, 1, MAX_ID)


@dataclass(frozen=True, slots=True)
class TurnOff:
    """The bet stays on the layout but is not decided by the following rolls."""

    player: bytes
    bet_id: int

    def __post_init__(self) -> None:
        _check_player(self.player)
        _check_int("bet_id", self.bet_id, 1, MAX_ID)


@dataclass(frozen=True, slots=True)
class TurnOn:
    """The bet works on every roll, come-out rolls included, until turned off."""

    player: bytes
    bet_id: int

    def __post_init__(self) -> None:
        _check_player(self.player)
        _check_int("bet_id", self.bet_id, 1, MAX_ID)


@dataclass(frozen=True, slots=True)
class RollRequest:
    """The shooter asks for roll ``roll_number``; bets are frozen until its `Roll` arrives."""

    shooter: bytes
    roll_number: int

    def __post_init__(self) -> None:
        _check_player(self.shooter)
        _check_int("roll_number", self.roll_number, 0, MAX_ID)


@dataclass(frozen=True, slots=True)
class PassDice:
    """The shooter gives up the dice before roll ``roll_number``: they go to the next seat in
    join order, and the point and every bet stand. ``timed_out`` says the table took them
    because the shooter did not roll in time; only the table layer applies that one (a
    replicated table: once f+1 replicas voted so), a player may only decline the dice."""

    shooter: bytes
    roll_number: int
    timed_out: bool = False

    def __post_init__(self) -> None:
        _check_player(self.shooter)
        _check_int("roll_number", self.roll_number, 0, MAX_ID)
        if type(self.timed_out) is not bool:
            raise ValueError("timed_out must be a bool")


@dataclass(frozen=True, slots=True)
class Roll:
    """Roll ``roll_number`` landed ``die1``, ``die2``. Built by the table layer from the
    roll's seed; never accepted from a player as is."""

    shooter: bytes
    roll_number: int
    die1: int
    die2: int

    def __post_init__(self) -> None:
        _check_player(self.shooter)
        _check_int("roll_number", self.roll_number, 0, MAX_ID)
        _check_int("die1", self.die1, 1, 6)
        _check_int("die2", self.die2, 1, 6)


@dataclass(frozen=True, slots=True)
class CashOut:
    """Take ``amount`` free chips off the table (None: all of them); the seat is kept."""

    player: bytes
    amount: int | None = None

    def __post_init__(self) -> None:
        _check_player(self.player)
        if self.amount is not None:
            _check_int("amount", self.amount, 1, MAX_CHIPS)


@dataclass(frozen=True, slots=True)
class Leave:
    """Cash out every free chip and give up the seat; only with no open bets."""

    player: bytes

    def __post_init__(self) -> None:
        _check_player(self.player)


Action = (
    Join
    | PlaceBet
    | PlaceOdds
    | TakeDown
    | TurnOff
    | TurnOn
    | RollRequest
    | Roll
    | CashOut
    | Leave
    | PassDice
)
