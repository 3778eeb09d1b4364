"""A node keeps its request ledger in its data dir: after the daemon restarts, a retry with
the same idempotency key is answered with the first outcome, not executed again (one real
node in process, twice: real libp2p, SQLite files, replica and shell)."""

from __future__ import annotations

import shutil

import msgpack

from bitcraps.node.config import load_config
from bitcraps.node.daemon import open_node
from bitcraps.node.identity import IDENTITY_FILE, load_identity
from bitcraps.node.process_cluster import add, free_port, make_cluster
from bitcraps.node.storage import table_db_path


async def test_a_key_used_before_a_restart_is_not_executed_again() -> None:
    [daemon] = make_cluster(1, shared_table=True)
    try:
        config = load_config(daemon.data_dir / "node.toml")
        identity = load_identity(daemon.data_dir / IDENTITY_FILE)
        operation = bytes.fromhex(add(b"k"))
        async with open_node(config, identity) as node:
            first = await node.submit(daemon.table_id, operation, "order-1")
            batch = await node.submit_many(daemon.table_id, [operation], ["order-2"])
        assert msgpack.unpackb(bytes.fromhex(first["result"])) == [b"ok", 1]
        assert table_db_path(config.data_dir, bytes.fromhex(daemon.table_id)).with_suffix(
            ".requests").exists()
        # The same data dir, on another port: py-libp2p keeps the first one's listener
        # bound for as long as this process runs.
        listen = (f"/ip4/127.0.0.1/tcp/{free_port()}",)
        config = config.model_copy(update={"network": config.network.model_copy(
            update={"listen_addrs": listen})})
        async with open_node(config, identity) as node:
            again = await node.submit(daemon.table_id, operation, "order-1")
            assert again == first
            [batch_again] = await node.submit_many(daemon.table_id, [operation], ["order-2"])
            assert batch_again == batch[0]
            looked = await node.request_status(daemon.table_id, first["request_id"])
            assert looked["status"] == "executed" and looked["result"] == first["result"]
            fresh = await node.submit(daemon.table_id, operation)  # no key: a new request
        assert msgpack.unpackb(bytes.fromhex(fresh["result"])) == [b"ok", 3]
    finally:
        shutil.rmtree(daemon.data_dir.parent, ignore_errors=True)
