"""Three nodes in one process: each hosts its own table, the lobby carries the announcements
over real libp2p gossipsub (one node reaches the others only through its bootstrap list), a
stopped node's tables are withdrawn, and the drop counter is exported. A table of two
replicas is listed once, with its free seats as the game has them."""

from __future__ import annotations

import os
from contextlib import AsyncExitStack
from pathlib import Path

import trio
from prometheus_client import generate_latest

from bitcraps.accel._ed25519_cpu import verify_one
from bitcraps.consensus import SignatureCheck
from bitcraps.games.table_terms import TableTerms
from bitcraps.node.config import NodeConfig, parse_config
from bitcraps.node.daemon import Node, open_node
from bitcraps.node.identity import NodeIdentity, create_identity
from bitcraps.node.process_cluster import free_port
from bitcraps.node.table_blocks import new_terms, table_block
from bitcraps.transports._libp2p_host import peer_id_for

BOUND_S = 20


def verify(checks: list[SignatureCheck]) -> list[bool]:
    return [verify_one(*check) for check in checks]


def terms_of(identity: NodeIdentity, salt: str) -> TableTerms:
    """A one-replica table of `identity`'s, named by `salt`."""
    return new_terms("kv", [identity.public_key], min_bet=2, max_bet=20, seats=5,
                     salt=bytes.fromhex(salt))


def node_config(data_dir: Path, identity: NodeIdentity, port: int, salt: str | None,
                bootstrap: list[str], table: str | None = None) -> NodeConfig:
    """A node on `port`; hosting `identity`'s own kv table named by `salt`, or the
    ``[[tables]]`` block `table`."""
    if table is None:
        table = "" if salt is None else table_block(terms_of(identity, salt))
    peers = ", ".join(f'"{b}"' for b in bootstrap)
    return parse_config(f"""
[node]
data_dir = "{data_dir}"
[network]
listen_addrs = ["/ip4/127.0.0.1/tcp/{port}"]
bootstrap = [{peers}]
[consensus]
tick_ms = 10
{table}""", env={})


def lobby_ids(node: Node) -> set[str]:
    return {entry["table_id"] for entry in node.lobby_tables()}


async def test_nodes_see_each_others_tables_and_withdrawals(tmp_path: Path) -> None:
    ids = [create_identity(tmp_path / f"id{i}") for i in range(3)]
    ports = [free_port() for _ in range(3)]
    salts = [os.urandom(16).hex(), os.urandom(16).hex(), None]
    tables = [terms_of(ids[i], salts[i]).table_id.hex() for i in range(2)]
    addr = [f"/ip4/127.0.0.1/tcp/{port}/p2p/{peer_id_for(identity.public_key)}"
            for port, identity in zip(ports, ids, strict=True)]
    async with AsyncExitStack() as outer:
        a = await outer.enter_async_context(open_node(
            node_config(tmp_path / "a", ids[0], ports[0], salts[0], []), ids[0],
            verify_batch=verify))
        b = await outer.enter_async_context(open_node(
            node_config(tmp_path / "b", ids[1], ports[1], salts[1], []), ids[1],
            verify_batch=verify))
        async with AsyncExitStack() as inner:
            c = await inner.enter_async_context(open_node(
                node_config(tmp_path / "c", ids[2], ports[2], None, addr[:2]), ids[2],
                verify_batch=verify))
            want = {tables[0], tables[1]}
            with trio.fail_after(BOUND_S):
                for node in (a, b, c):
                    await node.lobby.wait_until(lambda _lobby, n=node: lobby_ids(n) == want)
            entry = next(e for e in c.lobby_tables() if e["table_id"] == tables[0])
            assert entry["game"] == "kv" and entry["free_seats"] == 5
            assert entry["limits"] == {"min_bet": 2, "max_bet": 20}
            assert entry["replicas"] == [ids[0].node_id] == [entry["announcer"]]
    text = generate_latest(a.metrics_registry).decode()
    assert 'bitcraps_lobby_dropped_total{reason="invalid"} 0.0' in text


async def test_stopped_node_withdraws_its_tables(tmp_path: Path) -> None:
    ids = [create_identity(tmp_path / f"id{i}") for i in range(2)]
    ports = [free_port() for _ in range(2)]
    salt = os.urandom(16).hex()
    table = terms_of(ids[1], salt).table_id.hex()
    async with AsyncExitStack() as outer:
        watcher = await outer.enter_async_context(open_node(
            node_config(tmp_path / "w", ids[0], ports[0], None, []), ids[0],
            verify_batch=verify))
        boot = f"/ip4/127.0.0.1/tcp/{ports[0]}/p2p/{peer_id_for(ids[0].public_key)}"
        async with AsyncExitStack() as inner:
            host = await inner.enter_async_context(open_node(
                node_config(tmp_path / "h", ids[1], ports[1], salt, [boot]), ids[1],
                verify_batch=verify))
            with trio.fail_after(BOUND_S):
                await watcher.lobby.wait_until(lambda _l: lobby_ids(watcher) == {table})
            assert lobby_ids(host) == {table}  # our own tables are in our lobby too
        with trio.fail_after(BOUND_S):
            await watcher.lobby.wait_until(lambda _l: lobby_ids(watcher) == set())


async def test_a_bootstrap_peer_added_at_run_time_is_dialed(tmp_path: Path) -> None:
    ids = [create_identity(tmp_path / f"id{i}") for i in range(2)]
    ports = [free_port() for _ in range(2)]
    salt = os.urandom(16).hex()
    table = terms_of(ids[1], salt).table_id.hex()
    async with AsyncExitStack() as stack:
        watcher = await stack.enter_async_context(open_node(
            node_config(tmp_path / "w", ids[0], ports[0], None, []), ids[0],
            verify_batch=verify))
        await stack.enter_async_context(open_node(
            node_config(tmp_path / "h", ids[1], ports[1], salt, []), ids[1],
            verify_batch=verify))
        assert lobby_ids(watcher) == set()
        boot = f"/ip4/127.0.0.1/tcp/{ports[1]}/p2p/{peer_id_for(ids[1].public_key)}"
        await watcher.config_set("network.bootstrap", boot)
        with trio.fail_after(BOUND_S):
            await watcher.lobby.wait_until(lambda _l: lobby_ids(watcher) == {table})


async def test_a_table_is_listed_once_with_the_seats_its_game_has_free(tmp_path: Path) -> None:
    """Both replicas of a craps table announce it; a third node lists it once, and when a
    player sits down both re-announce it with one seat fewer."""
    ids = [create_identity(tmp_path / f"id{i}") for i in range(3)]
    ports = [free_port() for _ in range(3)]
    addr = [f"/ip4/127.0.0.1/tcp/{port}/p2p/{peer_id_for(identity.public_key)}"
            for port, identity in zip(ports, ids, strict=True)]
    terms = new_terms("craps", [ids[0].public_key, ids[1].public_key], min_bet=1,
                      max_bet=100, seats=5)
    block = table_block(terms, {ids[0].public_key: addr[0], ids[1].public_key: addr[1]})
    table = terms.table_id.hex()
    async with AsyncExitStack() as stack:
        a, b, c = [await stack.enter_async_context(open_node(
            node_config(tmp_path / name, ids[i], ports[i], None, boot, hosted), ids[i],
            verify_batch=verify))
            for i, (name, boot, hosted) in enumerate(
                [("a", [], block), ("b", [], block), ("c", addr[:2], None)])]

        def listed(node: Node) -> list[tuple[str, int, int]]:
            return [(e["table_id"], e["free_seats"], len(e["announcers"]))
                    for e in node.lobby_tables()]

        with trio.fail_after(BOUND_S):
            await c.lobby.wait_until(lambda _l: listed(c) == [(table, 5, 2)])
            await a.table_act(table, {"action": "join", "buy_in": 50})
            for node in (a, b, c):
                await node.lobby.wait_until(lambda _l, n=node: listed(n) == [(table, 4, 2)])
