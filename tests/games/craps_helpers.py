"""Shared helpers for the craps tests: players, dice for each total, driving a table."""

from __future__ import annotations

from bitcraps.games.craps import (
    Action,
    CrapsState,
    CrapsTable,
    Event,
    Join,
    Roll,
    Settled,
    TableConfig,
)

TABLE = CrapsTable()
ALICE = bytes(range(32))
BOB = bytes(range(1, 33))
CAROL = bytes(range(2, 34))

# Easy (or only) faces for each total; HARD for the doubles.
FACES = {
    2: (1, 1),
    3: (1, 2),
    4: (1, 3),
    5: (1, 4),
    6: (2, 4),
    7: (3, 4),
    8: (3, 5),
    9: (4, 5),
    10: (4, 6),
    11: (5, 6),
    12: (6, 6),
}
HARD = {4: (2, 2), 6: (3, 3), 8: (4, 4), 10: (5, 5)}


def table(
    config: TableConfig | None = None, players: tuple[bytes, ...] = (ALICE,), buy_in: int = 10_000
) -> CrapsState:
    state = TABLE.initial_state(config or TableConfig())
    for player in players:
        state, _ = TABLE.apply(state, Join(player, buy_in))
    return state


def act(state: CrapsState, action: Action) -> tuple[CrapsState, tuple[Event, ...]]:
    return TABLE.apply(state, action, b"")


def roll(state: CrapsState, faces: tuple[int, int]) -> tuple[CrapsState, tuple[Event, ...]]:
    assert state.shooter is not None
    return act(state, Roll(state.shooter, state.roll_number, *faces))


def roll_total(state: CrapsState, total: int) -> tuple[CrapsState, tuple[Event, ...]]:
    return roll(state, FACES[total])


def settled(events: tuple[Event, ...], bet_id: int) -> Settled | None:
    found = [e for e in events if isinstance(e, Settled) and e.bet_id == bet_id]
    assert len(found) <= 1
    return found[0] if found else None
