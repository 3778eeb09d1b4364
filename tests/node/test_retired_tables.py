"""A formed table that never started releases its disk, and its id is never opened again.

A stranger who keeps forming tables that never start must not leave a database, a DKG seed
and a client stamp file behind for each: once such a table expires, its files are deleted.
Its replica may have voted, so its id goes on the node's durable list of retired tables
first, and a charter (host protocol, or stored) or a ``[[tables]]`` block naming it is refused
from then on. One real node in process (real libp2p on loopback, SQLite, craps table) and a
py-libp2p stranger with its own key speaking the host protocol's raw frames."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import structlog
import trio
from test_host_abuse import Attacker, host_event, scrape, stored_charters, verify

from bitcraps.node._charter import CHARTER, OFFER, Charter, HostRequest
from bitcraps.node.config import NodeConfig, load_config
from bitcraps.node.daemon import Node, _section_for, open_node
from bitcraps.node.identity import IDENTITY_FILE, NodeIdentity, load_identity
from bitcraps.node.process_cluster import make_cluster
from bitcraps.node.retired_tables import RETIRED_FILE, RetiredTables, table_files
from bitcraps.node.storage import table_db_path
from bitcraps.transports.libp2p_transport import open_libp2p_transport


@asynccontextmanager
async def one_node_config(**node_settings: Any) -> AsyncIterator[tuple[NodeConfig,
                                                                         NodeIdentity]]:
    [daemon] = make_cluster(1, shared_table=False)
    try:
        config = load_config(daemon.data_dir / "node.toml")
        config = config.model_copy(update={"node": config.node.model_copy(
            update=node_settings)})
        yield config, load_identity(daemon.data_dir / IDENTITY_FILE)
    finally:
        shutil.rmtree(daemon.data_dir.parent, ignore_errors=True)


@asynccontextmanager
async def stranger(node: Node) -> AsyncIterator[Attacker]:
    identity = NodeIdentity.generate()
    async with open_libp2p_transport(identity.seed,
                                     listen_addrs=("/ip4/127.0.0.1/tcp/0",)) as transport:
        attacker = Attacker(transport, identity)
        attacker.knows(node)
        yield attacker


async def form(attacker: Attacker, node: Node, charter: Charter) -> str:
    """The stranger's OFFER then CHARTER; the charter's answer ('' when accepted)."""
    offered = await attacker.ask(node, HostRequest(OFFER, charter.salt, charter.game))
    assert offered.ok, offered.reason
    answer = await attacker.ask(node, HostRequest(CHARTER, charter.table_id, charter=charter))
    return "" if answer.ok else answer.reason


def existing(data_dir: Path, table_id: bytes) -> list[str]:
    return [path.name[len(table_id.hex()):] for path in table_files(data_dir, table_id)
            if path.exists()]


async def closed(logs: list[dict[str, Any]]) -> dict[str, Any]:
    while not any(e["event"] == "table closed" for e in logs):
        await trio.sleep(0.05)  # polls the node's own state, up to the caller's deadline
    [line] = [e for e in logs if e["event"] == "table closed"]
    return line


async def test_a_strangers_table_that_never_started_releases_its_files_and_stays_retired(
) -> None:
    async with one_node_config(table_start_timeout_s=1.0) as (config, identity):
        me = identity.public_key
        fakes = [NodeIdentity.generate().public_key for _ in range(2)]
        async with open_node(config, identity, verify_batch=verify) as node, \
                stranger(node) as attacker:
            charter = attacker.charter([attacker.key, me, *fakes], [(), (), (), ()],
                                       os.urandom(16), game="craps")
            table_id = charter.table_id
            with structlog.testing.capture_logs() as logs, trio.fail_after(60):
                assert await form(attacker, node, charter) == ""
                # Open: its database and this replica's DKG secret are on disk.
                assert {".sqlite", ".dkg-seed"} <= set(existing(config.data_dir, table_id))
                line = await closed(logs)
            assert "never started" in line["reason"] and line["files"] == "released"
            assert existing(config.data_dir, table_id) == [] and stored_charters(node) == []
            assert table_id in RetiredTables.open(config.data_dir)
            assert (config.data_dir / RETIRED_FILE).read_bytes() == table_id

            with trio.fail_after(60):  # the same charter again, after a fresh offer: refused
                refused = await form(attacker, node, charter)
                text = await scrape(node)
            assert "retired that table" in refused
            assert host_event(text, "charter_refused", "retired") == 1
            assert table_id not in node.tables_by_id and stored_charters(node) == []
            assert existing(config.data_dir, table_id) == []

        # What a crash between the retirement's steps would leave (its charter, a database),
        # and a [[tables]] block naming it: at the next start, neither opens it.
        node.charters.save(charter)
        table_db_path(config.data_dir, table_id).write_bytes(b"")
        config = config.model_copy(update={"tables": (_section_for(charter),), "network": (
            config.network.model_copy(update={"listen_addrs": ("/ip4/127.0.0.1/tcp/0",)}))})
        with structlog.testing.capture_logs() as logs:
            async with open_node(config, identity, verify_batch=verify) as node:
                assert node.tables_by_id == {}
        refusals = [e for e in logs if e["event"] in ("table not opened",
                                                      "stored table charter not opened")]
        assert [e["event"] for e in refusals] == ["table not opened",
                                                  "stored table charter not opened"]
        assert all("is retired on this node" in e.get("reason", e.get("error", ""))
                   for e in refusals)
        assert stored_charters(node) == [] and existing(config.data_dir, table_id) == []


async def test_our_own_table_that_never_started_is_released_too() -> None:
    async with one_node_config(table_start_timeout_s=1.0) as (config, identity):
        async with open_node(config, identity, verify_batch=verify) as node:
            with structlog.testing.capture_logs() as logs, trio.fail_after(60):
                table_id = bytes.fromhex((await node.create_table("kv", 1))["table_id"])
                assert ".sqlite" in existing(config.data_dir, table_id)
                line = await closed(logs)  # no request ever executed
            assert line["files"] == "released" and existing(config.data_dir, table_id) == []
            assert table_id in node.retired_tables


async def test_a_table_that_started_keeps_its_files_and_is_not_retired() -> None:
    async with one_node_config(table_idle_timeout_s=1.0) as (config, identity):
        async with open_node(config, identity, verify_batch=verify) as node:
            with structlog.testing.capture_logs() as logs, trio.fail_after(60):
                table_id = bytes.fromhex((await node.create_table("craps", 1))["table_id"])
                line = await closed(logs)  # its dice key made, then idle
            assert "idle" in line["reason"] and line["files"] == "kept"
            assert {".sqlite", ".dkg-seed", ".client-stamps"} <= set(
                existing(config.data_dir, table_id))
            assert table_id not in node.retired_tables
            assert not (config.data_dir / RETIRED_FILE).exists()
