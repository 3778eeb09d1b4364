"""A player's craps action from API JSON: a hostile body is a 400, never a crash."""

from __future__ import annotations

from typing import Any

import pytest

from bitcraps.games.craps import BetKind, Join, PassDice, PlaceBet
from bitcraps.node._control import ControlError
from bitcraps.node._craps_actions import action_from_json

PLAYER = bytes(range(32))


def deep(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def test_actions_from_json() -> None:
    assert action_from_json(PLAYER, {"action": "join", "buy_in": 500}) == Join(PLAYER, 500)
    assert action_from_json(PLAYER, {"action": "bet", "kind": "place", "amount": 30,
                                     "number": 6}) == PlaceBet(PLAYER, BetKind.PLACE, 30, 6)


@pytest.mark.parametrize("body", [
    {"action": deep(100_000)},
    {"action": "bet", "kind": deep(100_000), "amount": 5},
    {"action": "bet", "kind": "x" * 10_000, "amount": 5},
])
def test_unknown_names_are_400_without_echoing_what_was_sent(body: dict[str, Any]) -> None:
    """Echoing a nested list's repr raised RecursionError: an HTTP 500."""
    with pytest.raises(ControlError) as refused:
        action_from_json(PLAYER, body)
    assert refused.value.status == 400
    assert len(str(refused.value)) < 400


def test_a_short_unknown_name_is_echoed() -> None:
    with pytest.raises(ControlError, match="unknown bet 'martingale'"):
        action_from_json(PLAYER, {"action": "bet", "kind": "martingale", "amount": 5})


def test_pass_is_the_players_pass_dice_at_the_next_roll_unless_named() -> None:
    assert action_from_json(PLAYER, {"action": "pass"}, roll_number=7) == PassDice(PLAYER, 7)
    assert action_from_json(PLAYER, {"action": "pass", "roll_number": 3},
                            roll_number=7) == PassDice(PLAYER, 3)
    for bad in ("3", -1, True, deep(1000)):
        with pytest.raises(ControlError) as refused:
            action_from_json(PLAYER, {"action": "pass", "roll_number": bad})
        assert refused.value.status == 400 and len(str(refused.value)) < 400
    # a player's pass never takes the dice by timeout: only the table's votes do that
    assert not action_from_json(PLAYER, {"action": "pass", "timed_out": True}).timed_out
