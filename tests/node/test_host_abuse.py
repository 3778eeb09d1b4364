"""The host protocol against a stranger: a py-libp2p peer with its own key sends raw OFFER,
CHARTER and RELEASE requests to real nodes (in process, real libp2p on loopback, real
SQLite). It can no longer fill a node with offers, make it host a table it did not offer
for or one too small to tolerate a fault, make it dial addresses it chose for others, or
leave a table that never starts open (and stored) forever."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import structlog
import trio

from bitcraps.accel._ed25519_cpu import verify_one
from bitcraps.consensus import SignatureCheck
from bitcraps.node._charter import (
    CHARTER,
    HOST_PROTOCOL,
    OFFER,
    RELEASE,
    Charter,
    HostReply,
    HostRequest,
    decode_reply,
    sign_charter,
)
from bitcraps.node.config import load_config
from bitcraps.node.daemon import Node, open_node
from bitcraps.node.host_policy import MAX_OFFERS_PER_REQUESTER
from bitcraps.node.identity import IDENTITY_FILE, NodeIdentity, load_identity
from bitcraps.node.process_cluster import make_cluster
from bitcraps.node.table_blocks import new_terms
from bitcraps.transports.libp2p_requests import Libp2pRequests
from bitcraps.transports.libp2p_transport import Libp2pTransport, open_libp2p_transport


def verify(checks: list[SignatureCheck]) -> list[bool]:
    return [verify_one(*check) for check in checks]


class Attacker:
    """A stranger with its own key, speaking the host protocol's raw frames."""

    def __init__(self, transport: Libp2pTransport, identity: NodeIdentity) -> None:
        self.identity = identity
        self.key = identity.public_key
        self.transport = transport
        self.requests = Libp2pRequests(transport, HOST_PROTOCOL, timeout_s=5.0)

    def knows(self, node: Node) -> None:
        for address in node.transport.listen_multiaddrs:
            self.transport.add_peer_address(node.node_identity.public_key, address)

    async def ask(self, node: Node, request: HostRequest) -> HostReply:
        return decode_reply(await self.requests.request(node.node_identity.public_key,
                                                        request.encode()))

    def charter(self, replicas: Sequence[bytes], addresses: Sequence[tuple[str, ...]],
                salt: bytes, game: str = "kv") -> Charter:
        terms = new_terms(game, list(replicas), salt=salt)
        return sign_charter(Charter(terms.table_id, game, tuple(replicas), tuple(addresses),
                                    terms.min_bet, terms.max_bet, terms.seats, salt, self.key),
                            self.identity.sign)


@asynccontextmanager
async def running(count: int, **node_settings: Any) -> AsyncIterator[tuple[list[Node], Attacker]]:
    """`count` nodes that bootstrap from each other (no table yet), and an attacker."""
    daemons = make_cluster(count, shared_table=False)
    try:
        async with AsyncExitStack() as stack:
            nodes = []
            for daemon in daemons:
                config = load_config(daemon.data_dir / "node.toml")
                config = config.model_copy(update={
                    "node": config.node.model_copy(update=node_settings)})
                identity = load_identity(daemon.data_dir / IDENTITY_FILE)
                nodes.append(await stack.enter_async_context(
                    open_node(config, identity, verify_batch=verify)))
            identity = NodeIdentity.generate()
            transport = await stack.enter_async_context(open_libp2p_transport(
                identity.seed, listen_addrs=("/ip4/127.0.0.1/tcp/0",)))
            attacker = Attacker(transport, identity)
            for node in nodes:
                attacker.knows(node)
            yield nodes, attacker
    finally:
        shutil.rmtree(daemons[0].data_dir.parent, ignore_errors=True)


def stored_charters(node: Node) -> list[Path]:
    return sorted(node.charters.directory.glob("*.charter"))


async def test_offers_from_one_peer_cannot_fill_the_network() -> None:
    async with running(4, max_hosted_tables=4) as (nodes, attacker):
        with trio.fail_after(60):
            for node in nodes:
                answers = [await attacker.ask(node, HostRequest(OFFER, os.urandom(16), "kv"))
                           for _ in range(30)]
                assert [a.ok for a in answers].count(True) == MAX_OFFERS_PER_REQUESTER
                assert all("open offers here already" in a.reason
                           for a in answers[MAX_OFFERS_PER_REQUESTER:])
            # Every node holds the stranger's offers, and table create still forms a table.
            created = await nodes[0].create_table("kv", 4)
        assert len(created["replicas"]) == 4
        assert all(len(node.tables_by_id) == 1 for node in nodes)


async def test_a_charter_needs_our_offer_enough_replicas_and_the_allowlist() -> None:
    async with running(2) as (nodes, attacker):
        victim, friend = nodes
        me = victim.node_identity.public_key
        fakes = [NodeIdentity.generate().public_key for _ in range(2)]
        addresses = [(), (), (), ()]
        with trio.fail_after(60):
            # No OFFER before it: refused, whatever it says.
            salt = os.urandom(16)
            charter = attacker.charter([attacker.key, me, *fakes], addresses, salt)
            refused = await attacker.ask(victim, HostRequest(CHARTER, charter.table_id,
                                                             charter=charter))
            assert not refused.ok and "no open offer" in refused.reason

            # An offer named by another salt, or released, does not cover it either.
            assert (await attacker.ask(victim, HostRequest(OFFER, salt, "kv"))).ok
            assert (await attacker.ask(victim, HostRequest(RELEASE, salt))).ok
            refused = await attacker.ask(victim, HostRequest(CHARTER, charter.table_id,
                                                             charter=charter))
            assert not refused.ok and "no open offer" in refused.reason

            # [attacker, victim]: too few replicas to tolerate a fault, not hosted by default.
            salt = os.urandom(16)
            assert (await attacker.ask(victim, HostRequest(OFFER, salt, "craps"))).ok
            small = attacker.charter([attacker.key, me], [(), ()], salt, game="craps")
            refused = await attacker.ask(victim, HostRequest(CHARTER, small.table_id,
                                                             charter=small))
            assert not refused.ok and "at least 4 replicas" in refused.reason

            # An allowlist that does not name the stranger: its offers are refused.
            await victim.config_set("node.host_allowlist", friend.node_identity.node_id)
            refused = await attacker.ask(victim, HostRequest(OFFER, os.urandom(16), "kv"))
            assert not refused.ok and "host_allowlist" in refused.reason
        assert victim.tables_by_id == {} and stored_charters(victim) == []


async def test_a_strangers_table_that_never_starts_is_closed_and_forgotten() -> None:
    async with running(1, table_start_timeout_s=1.0) as ([victim], attacker):
        me = victim.node_identity.public_key
        fakes = [NodeIdentity.generate().public_key for _ in range(2)]
        junk = tuple(f"/ip4/192.0.2.{i}/tcp/{4000 + i}" for i in range(8))
        salt = os.urandom(16)
        charter = attacker.charter([attacker.key, me, *fakes],
                                   [attacker.transport.listen_multiaddrs[:1], (), junk, junk],
                                   salt)
        with structlog.testing.capture_logs() as logs, trio.fail_after(60):
            assert (await attacker.ask(victim, HostRequest(OFFER, salt, "kv"))).ok
            accepted = await attacker.ask(victim, HostRequest(CHARTER, charter.table_id,
                                                              charter=charter))
            assert accepted.ok, accepted.reason
            assert charter.table_id in victim.tables_by_id
            assert len(stored_charters(victim)) == 1
            # The addresses it gave for third parties are not in the victim's address book.
            known = {p.peer: p.addresses for p in victim.transport.peers()}
            assert all(fake not in known for fake in fakes)
            # Its fellow replicas never answer, so it never commits: closed, charter deleted.
            while charter.table_id in victim.tables_by_id or stored_charters(victim):
                await trio.sleep(0.05)  # polls the node's own state, up to the deadline
        closed = [e for e in logs if e["event"] == "table closed"]
        assert len(closed) == 1 and "never started" in closed[0]["reason"]
        assert closed[0]["creator"] == attacker.key.hex()
        assert victim.status()["tables"] == 0 and victim.healthy()
