"""A table this node hosts: its section, replica config, storage, shell, and its game host.

The state digest hashes the whole snapshot (tens of milliseconds at a megabyte), so it is
computed at most once per executed state: cached per (last executed sequence number, stable
checkpoint), which every execution and every state transfer changes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from bitcraps.consensus import ReplicaConfig

from .config import TableSection
from .craps_host import CrapsHost
from .storage import SqliteStorage
from .table_shell import TableShell
from .table_supervisor import TableSupervisor

__all__ = ["HostedTable", "describe_table", "table_failure"]


@dataclass
class HostedTable:
    section: TableSection
    config: ReplicaConfig
    storage: SqliteStorage
    shell: TableShell
    last_progress: float
    craps: CrapsHost | None = None
    supervisor: TableSupervisor | None = None
    digests_computed: int = 0
    _digest: tuple[tuple[int, int], bytes] | None = field(default=None, repr=False)

    def state_digest(self) -> bytes:
        """The replica's state digest, computed once per executed state."""
        replica = self.shell.replica
        key = (replica.last_executed_seq, replica.stable_checkpoint_seq)
        if self._digest is None or self._digest[0] != key:
            self._digest = (key, replica.state_digest())
            self.digests_computed += 1
        return self._digest[1]


def table_failure(table: HostedTable) -> str | None:
    """Why the table stopped (our own bug, `LocalProtocolError`), or None while it runs."""
    supervisor = table.supervisor
    failure = None if supervisor is None else supervisor.failure
    return failure or table.shell.replica.failure


def describe_table(table: HostedTable) -> dict[str, Any]:
    replica = table.shell.replica
    failure = table_failure(table)
    supervisor = table.supervisor
    return {
        "table_id": table.section.table_id,
        "game": table.section.game,
        "status": "failed" if failure else "running",
        "failure": failure,
        "faults": {} if supervisor is None else dict(supervisor.faults),
        "replicas": list(table.section.replicas),
        "replica_index": replica.index,
        "view": replica.view,
        "primary": table.config.primary(replica.view),
        "changing_view": replica.changing_view,
        "last_executed_seq": replica.last_executed_seq,
        "stable_checkpoint_seq": replica.stable_checkpoint_seq,
        "state_digest": None if failure else table.state_digest().hex(),
        "shell": asdict(table.shell.stats),
    }
