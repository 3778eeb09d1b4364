"""The application a simulated replica runs: its `CrapsApp`, watched roll by roll.

`ObservedTable` is the `Application` the replica executes; it passes every call through to
the table and reports each roll the table applies to the scenario's `RollWatch`, which checks
as the run goes that

- one executed operation moves the table by at most one roll, and a table never applies a
  roll twice or goes back to an earlier roll (a restarted replica is a new table: it may
  execute its log again from its last checkpoint);
- the dice the craps state recorded are the roll record's, which are the coin's;
- every replica, in every incarnation, gets the same seed and dice for a roll number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bitcraps.consensus import ExecutionContext

from .craps_app import CrapsApp

__all__ = ["ObservedTable", "RollWatch"]


@dataclass
class RollWatch:
    """What the honest replicas' tables did with each roll; violations go to `report`."""

    report: Callable[[str], None]
    outcomes: dict[int, tuple[bytes, tuple[int, int], int]] = field(default_factory=dict)
    applied: int = 0

    def rolled(self, replica: int, table: CrapsApp, before: int, seen: set[int]) -> None:
        after = table.state.roll_number
        self.applied += 1
        where = f"replica {replica}"
        if after != before + 1:
            self.report(f"rolls: {where} went from roll {before} to {after} in one operation")
        if before in seen:
            self.report(f"rolls: {where} applied roll {before} twice")
        seen.add(before)
        rolled = table.rolls.get(before)
        if rolled is None:
            self.report(f"rolls: {where} applied roll {before} with no roll record")
            return
        record = rolled.record
        if record.roll != before or table.state.recent_rolls[-1:] != (record.dice,):
            self.report(f"fair: {where} applied dice {table.state.recent_rolls[-1:]} for roll "
                        f"{before}, its record says roll {record.roll} dice {record.dice}")
        first = self.outcomes.setdefault(before, (record.seed, record.dice, replica))
        if first[:2] != (record.seed, record.dice):
            self.report(f"agreement: replicas {first[2]} and {replica} rolled roll {before} "
                        f"differently ({first[1]} and {record.dice})")

    def restored(self, replica: int, before: int, after: int) -> None:
        if after < before:
            self.report(f"rolls: replica {replica}'s table went back from roll {before} to "
                        f"{after} on a state transfer")


class ObservedTable:
    """An `Application`: the replica's `CrapsApp` plus the watch (None: not watched, as for a
    Byzantine replica, whose state nothing promises)."""

    def __init__(self, table: CrapsApp, replica: int, watch: RollWatch | None) -> None:
        self.table = table
        self.replica = replica
        self._watch = watch
        self._seen: set[int] = set()

    def execute(self, operation: bytes, context: ExecutionContext) -> bytes:
        before = self.table.state.roll_number
        result = self.table.execute(operation, context)
        if self._watch is not None and self.table.state.roll_number != before:
            self._watch.rolled(self.replica, self.table, before, self._seen)
        return result

    def snapshot(self) -> bytes:
        return self.table.snapshot()

    def restore(self, snapshot: bytes) -> None:
        before = self.table.state.roll_number
        self.table.restore(snapshot)
        if self._watch is not None:
            self._watch.restored(self.replica, before, self.table.state.roll_number)

    def digest(self) -> bytes:
        return self.table.digest()
