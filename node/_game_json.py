"""JSON views of game values for the control API: bytes as hex, enums by their value."""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any

from bitcraps.games.craps import CrapsState

__all__ = ["craps_state_json", "to_json"]


def to_json(value: Any) -> Any:
    """A dataclass, enum, bytes, tuple... as plain JSON values; events get a "type" field."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"type": type(value).__name__, **fields}
    if isinstance(value, Enum):
        return value.value if isinstance(value.value, str) else value.name.lower()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, tuple | list):
        return [to_json(item) for item in value]
    return value


def craps_state_json(state: CrapsState) -> dict[str, Any]:
    ledger = state.ledger
    return {
        "point": state.point,
        "shooter": None if state.shooter is None else state.shooter.hex(),
        "roll_number": state.roll_number,
        "roll_pending": state.roll_pending,
        "seats": [seat.hex() for seat in state.seats],
        "idle": [seat.hex() for seat in state.idle],  # skipped by the dice until they act
        "balances": {account.player.hex(): account.balance for account in ledger.accounts},
        "bets": [{k: v for k, v in to_json(bet).items() if k != "type"} for bet in state.bets],
        "recent_rolls": [list(dice) for dice in state.recent_rolls],
        "limits": {"min_bet": state.config.min_bet, "max_bet": state.config.max_bet},
        "bank": {"bankroll": ledger.bankroll, "bank": ledger.bank,
                 "escrowed": ledger.escrowed(), "exposure": ledger.exposure(),
                 "bought_in": ledger.bought_in, "cashed_out": ledger.cashed_out,
                 "total_chips": ledger.total_chips()},
    }
