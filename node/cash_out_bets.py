"""What a cash-out leaves on a craps table: the player's bets still working.

A cash-out takes free chips only; chips on bets stay at risk until the bets are decided or
taken down. So a cash-out of everything (no amount) while bets are working is refused (409,
the bets listed) unless the player asks for it (``leave_bets``), and every cash-out's answer
says what stays: the bets still working, the chips on them, and whether the seat is kept (a
player who took every chip and has no bet left walks away; see docs/craps.md).
"""

from __future__ import annotations

from typing import Any

from bitcraps.games.craps import Bet, CrapsState, describe

from ._control import ControlError

__all__ = ["left_on_table", "refuse_open_bets"]

LISTED_BETS = 8  # bets named in a refusal's one line; the JSON lists them all


def left_on_table(state: CrapsState, player: bytes,
                  events: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The answer's fields: ``bets_working`` (each bet's id, kind, number, stake and the
    chips it holds), ``chips_on_bets`` (their total) and ``seated``. ``events`` are the
    cash-out's own, which say whether the player walked away even before this node's
    replica has executed it."""
    walked_away = any(event.get("type") == "Left" for event in events or ())
    bets = () if walked_away else state.bets_of(player)
    return {
        "bets_working": [{"bet_id": bet.bet_id, "kind": bet.kind.value, "number": bet.number,
                          "amount": bet.amount, "escrow": bet.escrow} for bet in bets],
        "chips_on_bets": sum(bet.escrow for bet in bets),
        "seated": not walked_away and player in state.seats,
    }


def refuse_open_bets(state: CrapsState, player: bytes, amount: int | None,
                     leave_bets: bool) -> None:
    """ControlError 409 for a cash-out of everything while bets are working, unless the
    player said to leave them (or named an amount: taking some chips is not leaving)."""
    bets = state.bets_of(player)
    if not bets or leave_bets or amount is not None:
        return
    shown = ", ".join(_named(bet) for bet in bets[:LISTED_BETS])
    if len(bets) > LISTED_BETS:
        shown += f" and {len(bets) - LISTED_BETS} more"
    total = sum(bet.escrow for bet in bets)
    plural = "s" if len(bets) > 1 else ""
    raise ControlError(
        f"you have {len(bets)} bet{plural} working ({total} chips: {shown}); a cash-out takes "
        f"only free chips and would leave them at risk on the table: take them down, let "
        f"them be decided, or cash out the free chips anyway with --leave-bets "
        f"(API: \"leave_bets\": true)", 409, left_on_table(state, player))


def _named(bet: Bet) -> str:
    return f"bet {bet.bet_id} {describe(bet.kind, bet.number)} {bet.amount}"
