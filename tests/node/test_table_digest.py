"""`GET /v1/tables/{id}` reads the state digest from a cache: hashing the whole snapshot
happens once per executed state, not once per read (four real nodes in one process)."""

from __future__ import annotations

import shutil
from contextlib import AsyncExitStack

import msgpack
import trio

from bitcraps.accel._ed25519_cpu import verify_one
from bitcraps.consensus import SignatureCheck
from bitcraps.node.config import load_config
from bitcraps.node.daemon import open_node
from bitcraps.node.identity import IDENTITY_FILE, load_identity
from bitcraps.node.process_cluster import add, make_cluster


def verify(checks: list[SignatureCheck]) -> list[bool]:
    return [verify_one(*check) for check in checks]


async def test_the_digest_is_computed_once_per_sequence_number() -> None:
    daemons = make_cluster(4)
    daemon = daemons[0]
    try:
        async with AsyncExitStack() as stack:
            nodes = []
            for each in daemons:
                config = load_config(each.data_dir / "node.toml")
                identity = load_identity(each.data_dir / IDENTITY_FILE)
                nodes.append(await stack.enter_async_context(
                    open_node(config, identity, verify_batch=verify)))
            node = nodes[0]
            [table] = node.tables_by_id.values()
            with trio.fail_after(30):
                await node.submit(daemon.table_id, bytes.fromhex(add(b"k")))
            first = node.table_game(daemon.table_id)
            computed = table.digests_computed
            for _ in range(20):
                assert node.table_game(daemon.table_id)["state_digest"] == first["state_digest"]
                assert node.tables()[0]["state_digest"] == first["state_digest"]
            assert table.digests_computed == computed  # reads alone never hash again

            with trio.fail_after(30):
                reply = await node.submit(daemon.table_id, bytes.fromhex(add(b"k")))
            assert msgpack.unpackb(bytes.fromhex(reply["result"])) == [b"ok", 2]
            second = node.table_game(daemon.table_id)
            assert second["last_executed_seq"] > first["last_executed_seq"]
            assert second["state_digest"] != first["state_digest"]
            assert second["state_digest"] == table.shell.replica.state_digest().hex()
            node.table_game(daemon.table_id)
            assert table.digests_computed == computed + 1
    finally:
        shutil.rmtree(daemon.data_dir.parent, ignore_errors=True)
