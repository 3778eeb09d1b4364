"""JSON logs with node and table context; one metrics registry per node."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
import trio
from prometheus_client import generate_latest

from bitcraps.node.logs import bind_table, configure_logging, get_logger
from bitcraps.node.metrics import NodeMetrics


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    context = structlog.contextvars.get_contextvars()
    try:
        yield
    finally:
        root.handlers, root.level = handlers, level
        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(**context)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_with_node_and_table(restore_logging: None) -> None:
    out = io.StringIO()
    configure_logging("info", "ab" * 32, stream=out)
    log = get_logger("bitcraps.node.test")
    log.info("node.started", tables=2)
    bind_table(log, b"\x01\x02").warning("table.view_changed", view=3)
    log.debug("hidden")
    logging.getLogger("libp2p.pubsub").warning("peer %s misbehaved", "p1")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("node.crashed")

    started, changed, foreign, crashed = _lines(out)
    assert started["event"] == "node.started" and started["tables"] == 2
    assert started["level"] == "info" and started["node_id"] == "ab" * 32
    assert started["logger"] == "bitcraps.node.test"
    assert started["timestamp"].endswith("Z")
    assert changed["table_id"] == "0102" and changed["node_id"] == "ab" * 32
    assert foreign == {**foreign, "event": "peer p1 misbehaved", "level": "warning",
                       "logger": "libp2p.pubsub", "node_id": "ab" * 32}
    assert crashed["level"] == "error"
    assert crashed["exception"][0]["exc_type"] == "ValueError"


async def test_each_node_task_tree_logs_its_own_id(restore_logging: None) -> None:
    out = io.StringIO()
    configure_logging("info", None, stream=out)

    async def child(of: str) -> None:
        get_logger().info("child", of=of)

    async def node(node_id: str) -> None:
        structlog.contextvars.bind_contextvars(node_id=node_id)
        async with trio.open_nursery() as nursery:  # children inherit the context
            nursery.start_soon(child, node_id)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(node, "n1")
        nursery.start_soon(node, "n2")
    assert sorted((e["node_id"], e["of"]) for e in _lines(out)) == [("n1", "n1"), ("n2", "n2")]


def test_bad_level_is_refused(restore_logging: None) -> None:
    with pytest.raises(ValueError):
        configure_logging("loud", "n")


def test_two_nodes_register_the_same_metrics_without_clashing() -> None:
    first, second = NodeMetrics(), NodeMetrics()
    first.requests_committed.labels(table="t1").inc(3)
    first.table_progress("t1", view=2, last_executed_seq=7)
    second.messages_rejected.labels(reason="bad_signature").inc()
    second.transport_frames.labels(transport="ble", direction="in").inc(5)
    with first.storage_write_seconds.time():
        pass
    one = generate_latest(first.registry).decode()
    two = generate_latest(second.registry).decode()
    assert 'bitcraps_requests_committed_total{table="t1"} 3.0' in one
    assert 'bitcraps_view{table="t1"} 2.0' in one
    assert 'bitcraps_last_executed_seq{table="t1"} 7.0' in one
    assert "bitcraps_storage_write_seconds_count 1.0" in one
    assert 't1' not in two
    assert 'bitcraps_messages_rejected_total{reason="bad_signature"} 1.0' in two
    assert 'bitcraps_transport_frames_total{direction="in",transport="ble"} 5.0' in two


def test_parts_statistics_are_read_at_each_scrape() -> None:
    """Transport drops, table shell counters and host-protocol events come from the parts'
    own `statistics()` when scraped; a part that fails to answer costs only its series."""
    from bitcraps.transports._interface import TransportStatistics

    metrics = NodeMetrics()
    stats = TransportStatistics(frames_dropped=3, extra={"oversized_frames": 1},
                                dropped_by_reason={"oversized": 1, "queue_full": 2},
                                dropped_by_peer={b"\x01" * 32: 3})
    host: dict[str, int] = {"offer_refused:full": 4}
    metrics.watch_transport("libp2p", lambda: stats)
    metrics.watch_tables(lambda: [("t1", {"bad_signatures": 2, "duplicates": 5})])
    metrics.watch_host_protocol(lambda: host)
    text = generate_latest(metrics.registry).decode()
    assert 'bitcraps_transport_dropped_total{reason="oversized",transport="libp2p"} 1.0' in text
    assert ('bitcraps_transport_peer_dropped_total{peer="' + "01" * 32
            + '",transport="libp2p"} 3.0') in text
    assert 'bitcraps_transport_events_total{event="oversized_frames",transport="libp2p"} 1.0' \
        in text
    assert 'bitcraps_table_shell_total{counter="duplicates",table="t1"} 5.0' in text
    assert ('bitcraps_host_protocol_events_total{event="offer_refused",reason="full"} 4.0'
            in text)
    stats.dropped_by_reason["queue_full"] += 1
    del host["offer_refused:full"]
    host["charter_accepted"] = 1
    text = generate_latest(metrics.registry).decode()
    assert 'bitcraps_transport_dropped_total{reason="queue_full",transport="libp2p"} 3.0' in text
    assert 'bitcraps_host_protocol_events_total{event="charter_accepted",reason=""} 1.0' in text

    def broken() -> TransportStatistics:
        raise RuntimeError("mid-change")

    other = NodeMetrics()
    other.watch_transport("libp2p", broken)
    other.requests_committed.labels(table="t2").inc()
    assert 'bitcraps_requests_committed_total{table="t2"} 1.0' in \
        generate_latest(other.registry).decode()
