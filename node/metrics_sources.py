"""Metrics read from the node's parts when Prometheus scrapes: transport drops, table
shells' counters, the host protocol's events.

Those parts keep their own counters (`statistics()`); a collector turns them into metric
families at scrape time, so nothing is counted twice and no part imports Prometheus. Each
source is a function the node passes in; one that raises is skipped for that scrape (a
scrape never fails because one part is mid-change).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["HostProtocolCollector", "TableCollector", "TransportCollector"]

TOP_PEERS = 32
"""Per-peer drop counts exported for the peers that dropped most (label cardinality)."""

_TRANSPORT_TOTALS = ("frames_sent", "frames_received", "bytes_sent", "bytes_received",
                     "frames_dropped", "send_failures", "connections_opened",
                     "connections_closed")


class TransportCollector(Collector):
    """`TransportStatistics` of one transport: drops by reason and by peer, its events."""

    def __init__(self, name: str, statistics: Callable[[], Any]) -> None:
        self._name = name
        self._statistics = statistics

    def describe(self) -> Iterable[Metric]:
        return list(self._families())

    def collect(self) -> Iterable[Metric]:
        try:
            stats = self._statistics()
        except Exception:  # a part mid-change: skipped for this scrape
            return []
        return list(self._families(stats))

    def _families(self, stats: Any = None) -> Iterator[Metric]:
        label = ["transport"]
        dropped = CounterMetricFamily(
            "bitcraps_transport_dropped", "Incoming frames dropped, by reason (queue_full, "
            "queue_bytes, crowded, evicted, closed, oversized, partial)",
            labels=[*label, "reason"])
        by_peer = CounterMetricFamily(
            "bitcraps_transport_peer_dropped",
            f"Incoming frames dropped, by sending peer (the {TOP_PEERS} that dropped most)",
            labels=[*label, "peer"])
        events = CounterMetricFamily(
            "bitcraps_transport_events", "Transport events: oversized and partial frames, "
            "rejected streams, idle resets, handler errors, ...", labels=[*label, "event"])
        if stats is not None:
            for reason, count in sorted(stats.dropped_by_reason.items()):
                dropped.add_metric([self._name, reason], count)
            top = sorted(stats.dropped_by_peer.items(), key=lambda kv: -kv[1])[:TOP_PEERS]
            for peer, count in top:
                by_peer.add_metric([self._name, peer.hex()], count)
            for event, count in sorted({**_totals(stats), **stats.extra}.items()):
                events.add_metric([self._name, event], count)
        yield from (dropped, by_peer, events)


class TableCollector(Collector):
    """Each hosted table shell's counters: frames in and dropped, not-a-replica senders,
    throttled requests, bad signatures, duplicates (replayed envelopes), ..."""

    def __init__(self, tables: Callable[[], Iterable[tuple[str, Mapping[str, int]]]]) -> None:
        self._tables = tables

    def describe(self) -> Iterable[Metric]:
        return [self._family()]

    def collect(self) -> Iterable[Metric]:
        family = self._family()
        try:
            for table, counters in self._tables():
                for name, value in sorted(counters.items()):
                    if isinstance(value, int):
                        family.add_metric([table, name], value)
        except Exception:  # a table opening or closing as we read: skipped this scrape
            return [self._family()]
        return [family]

    @staticmethod
    def _family() -> CounterMetricFamily:
        return CounterMetricFamily(
            "bitcraps_table_shell", "A table shell's counters, by table and counter "
            "(bad_signatures, not_replica, throttled, duplicates, inbox_dropped, ...)",
            labels=["table", "counter"])


class HostProtocolCollector(Collector):
    """The host protocol's (`/bitcraps/host/1.0.0`) event counters, when it keeps any: a
    key "offer_refused:full" is event "offer_refused", reason "full" (reason "" if none)."""

    def __init__(self, statistics: Callable[[], Mapping[str, int]]) -> None:
        self._statistics = statistics

    def describe(self) -> Iterable[Metric]:
        return [self._family()]

    def collect(self) -> Iterable[Metric]:
        family = self._family()
        try:
            counts = dict(self._statistics())
        except Exception:
            return [family]
        for key, count in sorted(counts.items()):
            if isinstance(count, int):
                event, _, reason = key.partition(":")
                family.add_metric([event, reason], count)
        return [family]

    @staticmethod
    def _family() -> CounterMetricFamily:
        return CounterMetricFamily("bitcraps_host_protocol_events",
                                   "Host protocol events (offers and charters accepted "
                                   "and refused, tables closed, requests refused), by reason",
                                   labels=["event", "reason"])


def _totals(stats: Any) -> dict[str, int]:
    return {name: getattr(stats, name) for name in _TRANSPORT_TOTALS}
