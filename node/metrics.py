"""Prometheus metrics of one node, in the node's own registry.

Each `NodeMetrics` has its own `CollectorRegistry` (never the global default), so several
nodes in one process (the tests, `local_cluster`) register the same names without clashing.
The control API serves ``control.metrics_registry`` on ``/metrics``, and so does the optional
metrics listener (`metrics_listener`, ``[metrics] listen``) without the control token.

Besides the node's own series the registry holds the process's (``process_*``: CPU, memory,
open files, start time) and ``bitcraps_build_info{version,python}``; the tables' game
counters (actions by outcome, bets, rolls, cash-outs) are fed by their audit trail
(`table_audit`), and view changes by the replicas' events.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, ProcessCollector

from .metrics_sources import HostProtocolCollector, TableCollector, TransportCollector

__all__ = ["NodeMetrics"]

_STORAGE_BUCKETS_S = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class NodeMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.messages_in = Counter(
            "bitcraps_messages_received", "Protocol messages received from peers, by table",
            ["table"], registry=r)
        self.messages_rejected = Counter(
            "bitcraps_messages_rejected",
            "Messages dropped: undecodable, bad signature, or Byzantine evidence", ["reason"],
            registry=r)
        self.requests_committed = Counter(
            "bitcraps_requests_committed", "Client requests executed, by table", ["table"],
            registry=r)
        self.view = Gauge("bitcraps_view", "Current PBFT view, by table", ["table"], registry=r)
        self.last_executed_seq = Gauge(
            "bitcraps_last_executed_seq", "Highest executed sequence number, by table",
            ["table"], registry=r)
        self.transport_frames = Counter(
            "bitcraps_transport_frames", "Frames sent and received, by transport and direction",
            ["transport", "direction"], registry=r)
        self.peers_connected = Gauge(
            "bitcraps_peers_connected", "Peers with an open connection, by transport",
            ["transport"], registry=r)
        self.storage_write_seconds = Histogram(
            "bitcraps_storage_write_seconds", "Time to make one Ready durable (commit + fsync)",
            buckets=_STORAGE_BUCKETS_S, registry=r)
        self.lobby_dropped = Counter(
            "bitcraps_lobby_dropped", "Lobby gossip messages dropped, by reason", ["reason"],
            registry=r)
        self.healthy = Gauge("bitcraps_healthy", "1 while the node is healthy", registry=r)
        self.table_faults = Counter(
            "bitcraps_table_faults", "Exceptions contained in a table's tasks, by table, part "
            "(replica, game) and outcome (restarted, stopped)", ["table", "part", "outcome"],
            registry=r)
        self.tables_failed = Gauge(
            "bitcraps_tables_failed", "Hosted tables stopped by our own bug", registry=r)
        self._game_counters(r)
        self.view_changes_started = Counter(
            "bitcraps_view_changes_started", "View changes this replica started, by table",
            ["table"], registry=r)
        self.view_changes = Counter(
            "bitcraps_view_changes", "New views this replica entered, by table", ["table"],
            registry=r)
        ProcessCollector(registry=r)
        Info("bitcraps_build", "The running bitcraps version", registry=r).info(
            {"version": _version(), "python": platform.python_version()})

    def _game_counters(self, r: CollectorRegistry) -> None:
        self.table_actions = Counter(
            "bitcraps_table_actions", "Players' actions a table executed, by table, action "
            "(join, bet, odds, take_down, turn_off, turn_on, roll_request, pass, cashout, "
            "leave) and outcome (ok, refused)", ["table", "action", "outcome"], registry=r)
        self.bets_placed = Counter("bitcraps_bets_placed", "Bets placed, by table", ["table"],
                                   registry=r)
        self.chips_bet = Counter("bitcraps_chips_bet", "Chips staked on bets placed, by table",
                                 ["table"], registry=r)
        self.rolls = Counter("bitcraps_rolls", "Rolls thrown, by table", ["table"], registry=r)
        self.cash_outs = Counter("bitcraps_cash_outs", "Cash-outs, by table", ["table"],
                                 registry=r)
        self.chips_cashed_out = Counter("bitcraps_chips_cashed_out",
                                        "Chips cashed out, by table", ["table"], registry=r)

    def watch_transport(self, name: str, statistics: Callable[[], Any]) -> None:
        """Export a transport's `statistics()` at each scrape: drops by reason and by peer
        (`bitcraps_transport_dropped_total`, `..._peer_dropped_total`), oversized and
        partial frames, rejected streams and its other events (`..._events_total`)."""
        self.registry.register(TransportCollector(name, statistics))

    def watch_tables(self,
                     tables: Callable[[], Iterable[tuple[str, Mapping[str, int]]]]) -> None:
        """Export each table shell's counters (`bitcraps_table_shell_total{table,counter}`):
        bad signatures, replayed envelopes, refused senders, throttled requests, drops."""
        self.registry.register(TableCollector(tables))

    def watch_host_protocol(self, statistics: Callable[[], Mapping[str, int]]) -> None:
        """Export the host protocol's event counters (`bitcraps_host_protocol_events_total`)."""
        self.registry.register(HostProtocolCollector(statistics))

    def table_progress(self, table: str, view: int, last_executed_seq: int) -> None:
        self.view.labels(table=table).set(view)
        self.last_executed_seq.labels(table=table).set(last_executed_seq)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bitcraps")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"
