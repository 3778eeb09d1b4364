"""A hosted table in the lobby with its free seats as they are now, not as they were created.

Every replica of a table announces it (`transports.lobby` merges the announcements of one
table id into one listing). A craps table's free seats come from the game state every
replica agrees on (its seats less the players seated), so each replica re-announces the
table whenever that number changes: a supervised part of the table waits on the replica's
progress and publishes only on a change. Other games have no players; their terms' seats
are announced as they are.
"""

from __future__ import annotations

import weakref
from functools import partial
from typing import TYPE_CHECKING, Any

import trio

if TYPE_CHECKING:
    from trio_typing import TaskStatus

    from .hosted_table import HostedTable
    from .table_shell import TableShell

__all__ = ["announce_live", "free_seats"]

_watched: weakref.WeakSet[TableShell] = weakref.WeakSet()


def free_seats(table: HostedTable) -> int:
    """Seats a newcomer could take now."""
    if table.craps is None:
        return table.section.seats
    state = table.craps.app.state
    return max(0, state.config.max_players - len(state.seats))


async def announce_live(lobby: Any, table: HostedTable) -> None:
    """Announce the table with its free seats now and, once per table, keep them live."""
    announced = free_seats(table)
    await lobby.announce(table.section.terms, free_seats=announced)
    supervisor = table.supervisor
    if table.craps is None or supervisor is None or table.shell in _watched:
        return
    _watched.add(table.shell)
    await supervisor.start("lobby seats", partial(_reannounce_on_change, lobby, table,
                                                  announced))


async def _reannounce_on_change(lobby: Any, table: HostedTable, announced: int, *,
                                task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED
                                ) -> None:
    """Re-announce after each execution that changed the free seats, while the lobby still
    announces the table (never after the node withdrew it, stopping)."""
    task_status.started()
    table_id = table.section.terms.table_id
    while True:
        now = free_seats(table)
        if now != announced and lobby.is_announced(table_id):
            await lobby.announce(table.section.terms, free_seats=now)
            announced = now
        await table.shell.wait_progress()
