"""Four nodes in one process through `open_node`: real libp2p, real SQLite, real metrics."""

from __future__ import annotations

import shutil
from contextlib import AsyncExitStack

import msgpack
import trio
from prometheus_client import generate_latest

from bitcraps.accel._ed25519_cpu import verify_one
from bitcraps.consensus import SignatureCheck
from bitcraps.node.config import load_config
from bitcraps.node.daemon import Node, open_node
from bitcraps.node.identity import IDENTITY_FILE, load_identity
from bitcraps.node.process_cluster import add, make_cluster


def verify(checks: list[SignatureCheck]) -> list[bool]:
    return [verify_one(*check) for check in checks]


def metric(node: Node, name: str) -> float:
    text = generate_latest(node.metrics_registry).decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name) and not line.startswith("#"))


async def test_open_node_serves_commits_and_counts() -> None:
    daemons = make_cluster(4)
    try:
        async with AsyncExitStack() as stack:
            nodes = []
            for daemon in daemons:
                config = load_config(daemon.data_dir / "node.toml")
                identity = load_identity(daemon.data_dir / IDENTITY_FILE)
                nodes.append(await stack.enter_async_context(
                    open_node(config, identity, verify_batch=verify)))
            with trio.fail_after(30):
                for expected in range(1, 11):
                    reply = await nodes[1].submit(daemons[0].table_id, bytes.fromhex(add(b"n")))
                    assert msgpack.unpackb(bytes.fromhex(reply["result"])) == [b"ok", expected]
            tables = nodes[1].tables()
            assert tables[0]["last_executed_seq"] >= 1 and tables[0]["game"] == "kv"
            status = nodes[1].status()
            assert status["healthy"] is True and status["tables"] == 1
            assert metric(nodes[1], "bitcraps_transport_frames_total") > 0
            assert metric(nodes[1], "bitcraps_storage_write_seconds_count") > 0
            assert metric(nodes[1], "bitcraps_requests_committed_total") == 10
            assert metric(nodes[1], "bitcraps_peers_connected") == 3
            assert nodes[0].metrics_registry is not nodes[1].metrics_registry
    finally:
        shutil.rmtree(daemons[0].data_dir.parent, ignore_errors=True)
