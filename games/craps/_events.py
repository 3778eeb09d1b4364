"""What happened at the table, in the order it happened: the result of applying an action."""

from __future__ import annotations

from dataclasses import dataclass

from ._kinds import BetKind, Working
from ._rules import Outcome, RollCall


@dataclass(frozen=True, slots=True)
class Joined:
    """``amount`` chips bought in; ``seated`` when this also gave the player a seat."""

    player: bytes
    amount: int
    balance: int
    seated: bool


@dataclass(frozen=True, slots=True)
class BetPlaced:
    """``escrow`` chips left the player's balance: the stake plus any up-front commission."""

    bet_id: int
    player: bytes
    kind: BetKind
    number: int | None
    amount: int
    escrow: int
    base: int | None


@dataclass(frozen=True, slots=True)
class BetSwitched:
    bet_id: int
    working: Working


@dataclass(frozen=True, slots=True)
class RollRequested:
    shooter: bytes
    roll_number: int


@dataclass(frozen=True, slots=True)
class Rolled:
    """``point`` is the point after the roll (None: the next roll is a come-out)."""

    roll_number: int
    shooter: bytes
    die1: int
    die2: int
    call: RollCall
    point: int | None


@dataclass(frozen=True, slots=True)
class BetTravelled:
    """A come bet (or a pass bet on the come-out) moved to its number."""

    bet_id: int
    number: int


@dataclass(frozen=True, slots=True)
class Settled:
    """Bet ``bet_id`` is closed. The player is credited ``returned + paid``: ``returned`` chips
    of the escrow come back and the bank pays ``paid`` (winnings, net of any commission taken
    from them). ``commission`` is the commission the bank kept on this bet."""

    bet_id: int
    player: bytes
    kind: BetKind
    number: int | None
    outcome: Outcome
    amount: int
    returned: int
    paid: int
    commission: int


@dataclass(frozen=True, slots=True)
class DicePassed:
    """``shooter`` gave up the dice before roll ``roll_number``: declined them, or, with
    ``timed_out``, lost them for not rolling in time. A `ShooterChanged` follows."""

    shooter: bytes
    roll_number: int
    timed_out: bool


@dataclass(frozen=True, slots=True)
class ShooterChanged:
    """The dice passed (seven-out, the shooter left or gave up the dice, or the first player
    sat down). ``shooter`` may be ``previous`` again when no one else is seated."""

    previous: bytes | None
    shooter: bytes | None


@dataclass(frozen=True, slots=True)
class CashedOut:
    """``amount`` chips left the table; the node turns this into a signed receipt."""

    player: bytes
    amount: int
    balance: int


@dataclass(frozen=True, slots=True)
class Left:
    player: bytes


Event = (
    Joined
    | BetPlaced
    | BetSwitched
    | RollRequested
    | Rolled
    | BetTravelled
    | Settled
    | ShooterChanged
    | CashedOut
    | Left
    | DicePassed
)
