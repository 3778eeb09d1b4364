"""What the control API and web UI may ask of a running node (the daemon implements it)."""

from __future__ import annotations

from typing import Any, Protocol

from prometheus_client import CollectorRegistry


class ControlError(Exception):
    """A request the node refuses, with a message for the user. `status` is an HTTP code;
    `details` are further fields of the error's JSON body (a request's id and status)."""

    def __init__(self, message: str, status: int = 400,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.details = details or {}


class NodeControl(Protocol):
    @property
    def metrics_registry(self) -> CollectorRegistry: ...

    def identity(self) -> dict[str, Any]:
        """{"node_id": hex public key, "peer_id": libp2p peer id, "addresses": [multiaddr]}"""

    def status(self) -> dict[str, Any]:
        """{"node_id", "version", "uptime_s", "healthy", "tables", "peers", ...}"""

    def peers(self) -> list[dict[str, Any]]:
        """[{"peer": hex, "addresses": [...], "connected": bool, "transport": str}]"""

    async def connect_peer(self, address: str) -> dict[str, Any]:
        """Dial a multiaddr ending in /p2p/<peer id> now and keep it for this run:
        {"peer": hex, "peer_id", "address", "connected": true}; ControlError if it cannot."""

    def tables(self) -> list[dict[str, Any]]:
        """[{"table_id": hex, "game", "replicas": [hex], "view", "last_executed_seq", ...}]"""

    def lobby_tables(self) -> list[dict[str, Any]]:
        """The lobby's live tables, each once (its replicas' announcements merged):
        [{"table_id", "game", "replicas", "limits", "free_seats", "announcers",
        "announcer", "sequence", "age_s", ...}]"""

    def config_show(self) -> dict[str, Any]:
        """The effective configuration, secrets left out."""

    async def config_set(self, key: str, value: str) -> dict[str, Any]:
        """Change a setting that may change at run time; ControlError for any other."""

    async def create_table(self, game: str, replicas: int, *, min_bet: int = ...,
                           max_bet: int = ..., seats: int = ...,
                           shooter_timeout_s: int | None = ...) -> dict[str, Any]:
        """Form a table of `replicas` nodes (this one and replica-capable peers) and open it:
        the new table as `tables()` describes it; ControlError when it cannot be formed.
        `shooter_timeout_s` (craps) goes into the terms in ticks of this node's tick."""

    def table_game(self, table_id: str) -> dict[str, Any]:
        """One hosted table (`tables()`'s fields) and, for craps, {"craps": the game}."""

    async def table_act(self, table_id: str, body: dict[str, Any],
                        key: str | None = None) -> dict[str, Any]:
        """This node's player acts at a craps table: {"events": [...]}; ControlError 409
        with the table's reason when it refuses. An idempotency `key` already used answers
        with that action's outcome."""

    async def table_roll(self, table_id: str) -> dict[str, Any]:
        """Roll as the shooter and wait for the coin: {"roll", "dice", "events", ...}."""

    def table_roll_record(self, table_id: str, roll: int) -> dict[str, Any]:
        """A past roll with what checks it: {"record", "threshold_key", "dice", ...}."""

    async def table_dice_key(self, table_id: str) -> dict[str, Any]:
        """The table's dice key and f+1 replicas' signed replies stating it: {"version",
        "table_id", "terms", "dice_key", "replies"} (`dice_key.make_dice_key_proof`)."""

    async def table_roll_animation(self, table_id: str, roll: int) -> dict[str, Any]:
        """A past roll's dice physics replayed: {"frames", ..., "matches_executed_roll"}."""

    async def table_cash_out(self, table_id: str, amount: int | None, *,
                             leave_bets: bool = False) -> dict[str, Any]:
        """Cash out (all free chips when `amount` is None): {"events", "receipt",
        "bets_working", "chips_on_bets", "seated"}; all chips while bets are working is
        refused (409) unless `leave_bets` (`cash_out_bets`)."""

    async def submit_many(self, table_id: str, operations: list[bytes],
                          keys: list[str | None] | None = None) -> list[dict[str, Any]]:
        """Several requests committed together, each with its idempotency key (or None):
        one outcome per operation, in order (`request_outcomes`: executed, pending or
        not executed, each with its request id once sent)."""

    async def submit(self, table_id: str, operation: bytes,
                     key: str | None = None) -> dict[str, Any]:
        """Commit one request on a table this node hosts and wait for f+1 matching replies:
        {"table_id", "request_id", "status": "executed", "timestamp", "result": hex}; with
        an idempotency `key` already used, the first request's outcome. ControlError 503
        with {"status": "pending", "request_id"} while its outcome is unknown."""

    async def request_status(self, table_id: str, request_id: str,
                             wait_s: float = 0.0) -> dict[str, Any]:
        """A request this node sent for the API, by id: {"request_id", "status": pending |
        executed | not_executed | lost, ...}; waits up to `wait_s` while it is pending."""

    def request_stop(self) -> None:
        """Begin a clean shutdown (the API answers first)."""
