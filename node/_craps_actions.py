"""A player's craps action from the control API's JSON, for the player this node is.

    {"action": "join", "buy_in": 500}
    {"action": "bet", "kind": "place", "amount": 30, "number": 6}
    {"action": "odds", "bet_id": 3, "amount": 20}
    {"action": "take_down" | "turn_off" | "turn_on", "bet_id": 3}
    {"action": "leave"}
    {"action": "pass", "roll_number"?: 12}   the shooter declines the dice (before that roll;
                                             default: the next roll, as the table stands)

Bet kinds are `BetKind` values (pass, dont_pass, come, dont_come, field, place, buy, lay,
big, hardway, any_seven, any_craps, aces, ace_deuce, yo, boxcars, horn, c_and_e, hop); a hop
bet's number is its two faces written together, low first (23 for a 2 and a 3).
"""

from __future__ import annotations

from typing import Any

from bitcraps.games.craps import (
    Action,
    BetKind,
    Join,
    Leave,
    PassDice,
    PlaceBet,
    PlaceOdds,
    TakeDown,
    TurnOff,
    TurnOn,
)
from bitcraps.games.craps._kinds import ODDS_BETS

from ._control import ControlError

__all__ = ["BET_KINDS", "action_from_json"]

BET_KINDS = tuple(kind.value for kind in BetKind if kind not in ODDS_BETS)
_BY_BET_ID: dict[str, type[TakeDown] | type[TurnOff] | type[TurnOn]] = {
    "take_down": TakeDown, "turn_off": TurnOff, "turn_on": TurnOn}


def action_from_json(player: bytes, body: dict[str, Any], *, roll_number: int = 0) -> Action:
    """The action `body` names, or ControlError (400) saying which field is wrong.
    `roll_number` is the table's next roll, what a pass without its own names."""
    name = body.get("action")
    if type(name) is not str:
        name = None  # a list or an object is no action's name (and unhashable)
    try:
        if name == "join":
            return Join(player, _int(body, "buy_in"))
        if name == "bet":
            kind = body.get("kind")
            if kind not in BET_KINDS:
                raise ControlError(f"unknown bet{_named(kind)}; bets: {', '.join(BET_KINDS)}")
            number = body.get("number")
            if number is not None:
                number = _int(body, "number")
            return PlaceBet(player, BetKind(kind), _int(body, "amount"), number)
        if name == "odds":
            return PlaceOdds(player, _int(body, "bet_id"), _int(body, "amount"))
        if name in _BY_BET_ID:
            return _BY_BET_ID[name](player, _int(body, "bet_id"))
        if name == "leave":
            return Leave(player)
        if name == "pass":
            given = _int(body, "roll_number") if "roll_number" in body else roll_number
            return PassDice(player, given)
    except ValueError as exc:  # the action's own checks: range, shape
        raise ControlError(str(exc)) from None
    raise ControlError(f"unknown action{_named(name)}; actions: join, bet, odds, take_down, "
                       f"turn_off, turn_on, leave, pass (roll and cash out have their own "
                       f"routes)")


def _int(body: dict[str, Any], name: str) -> int:
    value = body.get(name)
    if type(value) is not int:
        raise ControlError(f"field {name!r} must be an integer")
    return value


def _named(value: object) -> str:
    """A client's name for something, echoed only when it is a short plain string: never
    the repr of whatever JSON it sent (a deep list's repr raises RecursionError)."""
    if type(value) is str and len(value) <= 32 and value.isprintable():
        return f" '{value}'"
    return ""
