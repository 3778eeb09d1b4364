"""A table this node hosts: its section, replica config, storage, shell, and its game host."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bitcraps.consensus import ReplicaConfig

from .config import TableSection
from .craps_host import CrapsHost
from .storage import SqliteStorage
from .table_shell import TableShell

__all__ = ["HostedTable", "describe_table"]


@dataclass
class HostedTable:
    section: TableSection
    config: ReplicaConfig
    storage: SqliteStorage
    shell: TableShell
    last_progress: float
    craps: CrapsHost | None = None


def describe_table(table: HostedTable) -> dict[str, Any]:
    replica = table.shell.replica
    return {
        "table_id": table.section.table_id,
        "game": table.section.game,
        "replicas": list(table.section.replicas),
        "replica_index": replica.index,
        "view": replica.view,
        "primary": table.config.primary(replica.view),
        "changing_view": replica.changing_view,
        "last_executed_seq": replica.last_executed_seq,
        "stable_checkpoint_seq": replica.stable_checkpoint_seq,
        "state_digest": replica.state_digest().hex(),
        "shell": asdict(table.shell.stats),
    }
