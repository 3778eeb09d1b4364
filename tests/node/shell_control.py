"""The control API's table routes (`TableControl`) over in-process table shells: real
replicas, request ledgers and craps hosts, on a virtual clock; served to an in-process HTTP
client through the real Starlette app."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import httpx
from shell_table import Table

from bitcraps.node.api import build_app
from bitcraps.node.craps_host import CrapsHost
from bitcraps.node.hosted_table import HostedTable
from bitcraps.node.table_control import TableControl

TOKEN = "shell-control-token"


class ShellControl(TableControl):
    def __init__(self) -> None:
        self.tables_by_id: dict[bytes, HostedTable] = {}
        self.physics: Any = None

    def host(self, table: Table, index: int, craps: CrapsHost | None = None) -> str:
        """Serve shell `index` of `table` as a hosted table; its id in hex."""
        shell = table.shells[index]
        assert shell is not None
        table_id = table.config.table_id
        section: Any = SimpleNamespace(table_id=table_id.hex(),
                                       game="kv" if craps is None else "craps")
        storage: Any = None
        self.tables_by_id[table_id] = HostedTable(section, table.config, storage, shell, 0.0,
                                                  craps=craps)
        return table_id.hex()

    def http(self) -> httpx.AsyncClient:
        """A client of the real API app over this control, in process."""
        app = build_app(self, TOKEN)  # type: ignore[arg-type]  # the table routes only
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://bitcraps",
                                 headers={"authorization": f"Bearer {TOKEN}"})
