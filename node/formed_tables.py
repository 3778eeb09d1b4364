"""Tables formed at run time (from a charter): each in its own cancel scope, so it can close.

A table someone else formed costs this node a replica, a database and dials to its fellow
replicas for as long as it is open. One that never starts (its first request never commits;
for craps, its dice key is never generated) within `node.table_start_timeout_s` of being
formed, or that commits nothing for `node.table_idle_timeout_s`, is closed: its tasks end,
its storage closes, its stored charter is deleted and one line is logged.

What happens to its other files (`<id>.sqlite`, the client stamp file `<id>.client-stamps`,
this replica's DKG secret `<id>.dkg-seed`) depends on whether it ever executed anything:

- It executed nothing here (no request, so no dice key): its files are released, so a
  stranger who keeps forming tables that never start leaves nothing behind on disk. Its
  replica may have voted, though, and a replica must never contradict its votes: its id is
  first added, durably, to the node's retired tables (`retired_tables`), and a charter or
  `[[tables]]` block naming it is refused from then on, so it is never opened again from
  scratch. Only when that list is full (or cannot be written) does it keep its files.
- It executed something: its files stay, as one unit with its database (kept for the
  record). They are only consistent together: the same charter opened again (its creator may
  offer it again) resumes from the database, whose log holds the DKG dealing made from that
  seed, and its clients number on from the stamp file's ceiling. Deleting the seed or the
  stamps alone would make this replica deal a second, conflicting DKG secret or reuse
  timestamps. Removing such a closed table's files (`tables/<id>.*`) is the operator's
  choice, all of them at once.

Tables from `[[tables]]` in node.toml are the operator's and never expire.
The formation time survives restarts (the charter file's age), so a restart does not give a
table that never started a new lease. Each close is counted in the host protocol's events
(`table_closed:never_started`, `table_closed:idle`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import trio

from ._charter import Charter
from .config import NodeConfig, TableSection
from .hosted_table import HostedTable
from .retired_tables import RetiredTables, release_table_files

if TYPE_CHECKING:
    from trio_typing import TaskStatus

    from .table_formation import CharterStore, TableFormation

__all__ = ["MAX_CHECK_INTERVAL_S", "FormedTable", "FormedTables", "TableRetired",
           "check_interval_s", "executed_nothing", "expiry_reason", "has_started"]

MAX_CHECK_INTERVAL_S = 5.0


class TableRetired(ValueError):
    """A charter or `[[tables]]` block names a table this node retired (`retired_tables`)."""


@dataclass
class FormedTable:
    charter: Charter
    formed_at: float  # trio time; earlier than the open when the charter is older
    cancel_scope: trio.CancelScope
    done: trio.Event


def has_started(table: HostedTable) -> bool:
    """The table has done what a table is for: a craps table has its dice key, any other
    table has executed a request."""
    if table.craps is not None:
        return bool(table.craps.app.dice_ready)
    return table.shell.replica.last_executed_seq > 0


def executed_nothing(table: HostedTable) -> bool:
    """This replica never executed a request of the table (so it has no dice key either):
    closing it, it may release the table's files once the table is retired."""
    if table.craps is not None and table.craps.app.dice_ready:
        return False
    return table.shell.replica.last_executed_seq == 0


def expiry_reason(table: HostedTable, formed: FormedTable, now: float, *,
                  start_timeout_s: float, idle_timeout_s: float) -> str | None:
    """Why the table should close now, or None (a timeout of 0 never expires)."""
    if not has_started(table):
        if start_timeout_s and now - formed.formed_at >= start_timeout_s:
            return f"never started within {start_timeout_s:g} s of being formed"
        return None
    if idle_timeout_s and now - table.last_progress >= idle_timeout_s:
        return f"idle: nothing committed for {idle_timeout_s:g} s"
    return None


def check_interval_s(start_timeout_s: float, idle_timeout_s: float) -> float:
    """How often to look: a quarter of the shortest timeout, between 0.05 and 5 s."""
    timeouts = [t for t in (start_timeout_s, idle_timeout_s) if t > 0]
    if not timeouts:
        return MAX_CHECK_INTERVAL_S
    return min(MAX_CHECK_INTERVAL_S, max(0.05, min(timeouts) / 4))


class FormedTables:
    """The daemon's tables formed at run time (a mixin of `Node`): open, expire, close."""

    config: NodeConfig
    tables_by_id: dict[bytes, HostedTable]
    charters: CharterStore
    formation: TableFormation | None
    log: Any
    lobby: Any
    retired_tables: RetiredTables  # loaded when the node starts, before any table opens
    _formed: dict[bytes, FormedTable]
    _open_table: Callable[[trio.Nursery, TableSection], Awaitable[None]]

    def _formed_tables(self) -> dict[bytes, FormedTable]:
        formed: dict[bytes, FormedTable] | None = getattr(self, "_formed", None)
        if formed is None:
            formed = self._formed = {}
        return formed

    def hosted_for(self, creator: bytes) -> int:
        """How many tables formed by `creator` this node hosts (its own included)."""
        return sum(1 for f in self._formed_tables().values() if f.charter.creator == creator)

    async def _run_formed(self, charter: Charter, section: TableSection, *,
                          task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """The table's tasks, in a scope of their own that `_close_formed` cancels."""
        done = trio.Event()
        try:
            async with trio.open_nursery() as nursery:
                await self._open_table(nursery, section)
                age_s = await trio.to_thread.run_sync(self.charters.age_s, charter.table_id)
                self._formed_tables()[charter.table_id] = FormedTable(
                    charter, trio.current_time() - age_s, nursery.cancel_scope, done)
                task_status.started()
        finally:
            done.set()

    async def _close_formed(self, table_id: bytes, reason: str, counted_as: str) -> None:
        """Close a formed table; `counted_as` is the reason in the node's metrics."""
        if self.formation is not None:
            self.formation.count("table_closed", counted_as)
        formed = self._formed_tables().pop(table_id)
        table = self.tables_by_id.pop(table_id)
        formed.cancel_scope.cancel()
        await formed.done.wait()
        table.storage.close()
        # Retired (durably) before anything is deleted, the charter last: a crash in between
        # leaves a charter that is refused and cleaned up at the next start.
        released = executed_nothing(table) and await self._retire(table_id)
        if released:
            await self._release_files(table_id)
        await trio.to_thread.run_sync(self.charters.delete, table_id)
        if self.lobby is not None:
            with trio.move_on_after(1.0):
                await self.lobby.withdraw(table_id)
        self.log.warning("table closed", table_id=table_id.hex(), reason=reason,
                         creator=formed.charter.creator.hex(),
                         files="released" if released else "kept")

    def retired_refusal(self, table_id: bytes) -> str | None:
        """Why the table may not open here (it is retired), or None."""
        if table_id not in self.retired_tables:
            return None
        return (f"table {table_id.hex()} is retired on this node: it never started here and "
                "its files were released; it is never opened again from scratch (its replica "
                "may have voted)")

    async def _refuse_retired(self, table_id: bytes) -> None:
        """Raise `TableRetired` for a retired table, once what a crash between the steps of
        its retirement left (its charter, its files) is gone."""
        refusal = self.retired_refusal(table_id)
        if refusal is None:
            return
        await trio.to_thread.run_sync(self.charters.delete, table_id)
        await self._release_files(table_id)
        raise TableRetired(refusal)

    async def _retire(self, table_id: bytes) -> bool:
        """Add the table to the retired list, durably; False (it keeps its files) when the
        list is full or cannot be written."""
        retired = self.retired_tables
        if retired.full:
            self.log.warning("retired tables list full: a closed table keeps its files",
                             table_id=table_id.hex(), path=str(retired.path))
            return False
        try:
            await trio.to_thread.run_sync(retired.add, table_id)
        except OSError as exc:
            self.log.error("table not retired: it keeps its files", table_id=table_id.hex(),
                           path=str(retired.path), error=exc.strerror or type(exc).__name__)
            return False
        return True

    async def _release_files(self, table_id: bytes) -> None:
        data_dir = self.config.data_dir
        try:
            await trio.to_thread.run_sync(release_table_files, data_dir, table_id)
        except OSError as exc:  # retired all the same: never opened, removed at next refusal
            self.log.error("a retired table's files not removed", table_id=table_id.hex(),
                           error=exc.strerror or type(exc).__name__)

    async def _expire_tables(self) -> None:
        """Close the formed tables that never started or went idle, forever."""
        while True:
            node = self.config.node
            timeouts = {"start_timeout_s": node.table_start_timeout_s,
                        "idle_timeout_s": node.table_idle_timeout_s}
            await trio.sleep(check_interval_s(*timeouts.values()))
            now = trio.current_time()
            for table_id, formed in list(self._formed_tables().items()):
                table = self.tables_by_id.get(table_id)
                reason = None if table is None else expiry_reason(table, formed, now,
                                                                  **timeouts)
                if reason is not None and table is not None:
                    counted_as = "idle" if has_started(table) else "never_started"
                    await self._close_formed(table_id, reason, counted_as)
