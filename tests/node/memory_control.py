"""A small real NodeControl for the control API tests, and a helper serving it on a Unix socket."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import trio
from prometheus_client import CollectorRegistry

from bitcraps.node._control import ControlError
from bitcraps.node._cookie import cookie_path, socket_path
from bitcraps.node.api import build_app
from bitcraps.node.api_server import serve_api, write_cookie
from bitcraps.node.metrics import NodeMetrics

RUNTIME_SETTINGS = {"log_level": str, "max_tables": int}
PENDING_ID = "5e" * 16  # the request an action answered "outcome unknown" for


@dataclass
class Table:
    table_id: str
    game: str
    replicas: list[str]
    view: int = 0
    log: list[bytes] = field(default_factory=list)


class InMemoryControl:
    """The NodeControl protocol over plain data: a node with two peers and one table."""

    def __init__(self, seed: int = 1) -> None:
        self.node_id = hashlib.sha256(b"node%d" % seed).hexdigest()
        self.metrics = NodeMetrics()
        self.created_with: dict[str, Any] = {}
        self.config: dict[str, Any] = {
            "log_level": "info",
            "max_tables": 8,
            "api": {"tcp_host": "127.0.0.1", "tcp_port": 8420},
        }
        self.peer_list = [
            {"peer": hashlib.sha256(b"peer-a").hexdigest(), "addresses": ["/ip4/10.0.0.2/tcp/4001"],
             "connected": True, "transport": "libp2p"},
            {"peer": hashlib.sha256(b"peer-b").hexdigest(), "addresses": [],
             "connected": False, "transport": "ble"},
        ]
        table_id = hashlib.sha256(b"table%d" % seed).hexdigest()
        self.table_map = {table_id: Table(table_id, "craps", [self.node_id] + [
            p["peer"] for p in self.peer_list] + [hashlib.sha256(b"peer-c").hexdigest()])}
        self.stop_requested = trio.Event()
        self.broken = False  # makes status() fail as a bug would
        self.keys_given: list[str | None] = []  # idempotency keys, as submit/table_act got
        self.act_answer = "events"  # or "pending": table_act's request outcome is unknown
        self.requests: dict[str, dict[str, Any]] = {}  # request_status's answers, by id
        self.lookups: list[tuple[str, float]] = []

    @property
    def metrics_registry(self) -> CollectorRegistry:
        return self.metrics.registry

    def identity(self) -> dict[str, Any]:
        return {"node_id": self.node_id, "peer_id": "12D3KooW" + self.node_id[:20],
                "addresses": ["/ip4/127.0.0.1/tcp/4001"]}

    def status(self) -> dict[str, Any]:
        if self.broken:
            raise RuntimeError("secret internal detail")
        return {"node_id": self.node_id, "version": "0.1.0", "uptime_s": 12.5, "healthy": True,
                "tables": len(self.table_map),
                "peers": sum(1 for p in self.peer_list if p["connected"])}

    def peers(self) -> list[dict[str, Any]]:
        return [dict(p) for p in self.peer_list]

    async def connect_peer(self, address: str) -> dict[str, Any]:
        _, _, peer = address.rpartition("/p2p/")
        if not peer:
            raise ControlError("not a peer address")
        self.peer_list.append({"peer": peer, "addresses": [address], "connected": True,
                               "transport": "libp2p"})
        return {"peer": peer, "peer_id": peer, "address": address, "connected": True}

    def tables(self) -> list[dict[str, Any]]:
        return [{"table_id": t.table_id, "game": t.game, "replicas": list(t.replicas),
                 "view": t.view, "last_executed_seq": len(t.log)}
                for t in self.table_map.values()]

    def lobby_tables(self) -> list[dict[str, Any]]:
        return [{"kind": "announce", "table_id": "ab" * 16, "game": "kv",
                 "replicas": ["cd" * 32], "limits": {"min_bet": 5, "max_bet": 500},
                 "free_seats": 3, "announcer": "cd" * 32, "sequence": 1, "age_s": 1.5}]

    def config_show(self) -> dict[str, Any]:
        return {k: dict(v) if isinstance(v, dict) else v for k, v in self.config.items()}

    async def config_set(self, key: str, value: str) -> dict[str, Any]:
        kind = RUNTIME_SETTINGS.get(key)
        if kind is None:
            raise ControlError(f"{key} cannot change while the node runs", 409)
        try:
            parsed = kind(value)
        except ValueError:
            raise ControlError(f"{key} must be {kind.__name__}") from None
        self.config[key] = parsed
        return {"key": key, "value": parsed}

    async def create_table(self, game: str, replicas: int, *, min_bet: int = 1,
                           max_bet: int = 1000, seats: int = 8,
                           shooter_timeout_s: int | None = None) -> dict[str, Any]:
        self.created_with = {"min_bet": min_bet, "max_bet": max_bet, "seats": seats,
                             "shooter_timeout_s": shooter_timeout_s}
        if replicas > 1 + len(self.peer_list):
            raise ControlError(f"found {1 + len(self.peer_list)} of {replicas} replicas", 503)
        table_id = hashlib.sha256(b"table-%d" % len(self.table_map)).hexdigest()[:32]
        members = [self.node_id] + [p["peer"] for p in self.peer_list][:replicas - 1]
        self.table_map[table_id] = Table(table_id, game, members)
        return self.tables()[-1]

    async def submit_many(self, table_id: str, operations: list[bytes],
                          keys: list[str | None] | None = None) -> list[dict[str, Any]]:
        given = keys or [None] * len(operations)
        return [await self.submit(table_id, operation, key)
                for operation, key in zip(operations, given, strict=True)]

    async def submit(self, table_id: str, operation: bytes,
                     key: str | None = None) -> dict[str, Any]:
        self.keys_given.append(key)
        table = self.table_map.get(table_id)
        if table is None:
            raise ControlError(f"no table {table_id}", 404)
        table.log.append(operation)
        self.metrics.requests_committed.labels(table=table_id).inc()
        self.metrics.table_progress(table_id, table.view, len(table.log))
        return {"table_id": table_id, "timestamp": len(table.log),
                "result": hashlib.sha256(operation).hexdigest()}

    def table_game(self, table_id: str) -> dict[str, Any]:
        if table_id not in self.table_map:
            raise ControlError(f"no table {table_id}", 404)
        return next(t for t in self.tables() if t["table_id"] == table_id)

    async def table_act(self, table_id: str, body: dict[str, Any],
                        key: str | None = None) -> dict[str, Any]:
        """An action answered as `act_answer` says: events, or (with "pending") a 503 for a
        request whose outcome is unknown, `PENDING_ID`, to look up in `requests`."""
        self.keys_given.append(key)
        if self.act_answer == "pending":
            raise ControlError("no quorum answered within 30 s; the request is still being "
                               "retransmitted (outcome unknown)", 503,
                               {"status": "pending", "request_id": PENDING_ID,
                                "table_id": table_id})
        return {"events": [{"type": "BetPlaced", "bet_id": 1, "player": self.node_id,
                            "kind": body.get("kind", "-"), "amount": body.get("amount", 0)}]}

    async def request_status(self, table_id: str, request_id: str,
                             wait_s: float = 0.0) -> dict[str, Any]:
        self.lookups.append((request_id, wait_s))
        if request_id not in self.requests:
            raise ControlError(f"table {table_id} has no record of request {request_id}", 404)
        return {"table_id": table_id, "request_id": request_id, **self.requests[request_id]}

    def table_roll_record(self, table_id: str, roll: int) -> dict[str, Any]:
        if table_id not in self.table_map:
            raise ControlError(f"no table {table_id}", 404)
        return {"roll": roll}

    async def table_cash_out(self, table_id: str, amount: int | None, *,
                             leave_bets: bool = False) -> dict[str, Any]:
        if table_id not in self.table_map:
            raise ControlError(f"no table {table_id}", 404)
        return {"events": [], "amount": amount, "leave_bets": leave_bets}

    def request_stop(self) -> None:
        self.stop_requested.set()


@dataclass
class Served:
    control: InMemoryControl
    data_dir: Path
    socket: Path
    token: str
    binds: list[str]
    shutdown: trio.Event


async def start_api(nursery: trio.Nursery, control: InMemoryControl, data_dir: Path,
                    **kwargs: Any) -> Served:
    token = write_cookie(cookie_path(data_dir))
    app = build_app(control, token, **kwargs)
    shutdown = trio.Event()
    binds = await nursery.start(partial(serve_api, app, unix_socket=socket_path(data_dir),
                                        shutdown=shutdown))
    return Served(control, data_dir, socket_path(data_dir), token, binds, shutdown)
