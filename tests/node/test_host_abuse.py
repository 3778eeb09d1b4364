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

import httpx
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
from bitcraps.node._cookie import cookie_path, read_cookie
from bitcraps.node.config import load_config
from bitcraps.node.daemon import Node, open_node
from bitcraps.node.host_policy import MAX_OFFERS_PER_REQUESTER
from bitcraps.node.identity import IDENTITY_FILE, NodeIdentity, load_identity
from bitcraps.node.process_cluster import make_cluster
from bitcraps.node.table_blocks import new_terms
from bitcraps.transports._libp2p_host import libp2p_id_for
from bitcraps.transports.libp2p_requests import MAX_INBOUND_PER_PEER, Libp2pRequests
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
            while not any(e["event"] == "table closed" for e in logs):
                await trio.sleep(0.05)  # polls the node's own state, up to the deadline
            assert charter.table_id not in victim.tables_by_id and not stored_charters(victim)
        closed = [e for e in logs if e["event"] == "table closed"]
        assert len(closed) == 1 and "never started" in closed[0]["reason"]
        assert closed[0]["creator"] == attacker.key.hex()
        assert victim.status()["tables"] == 0 and victim.healthy()


async def scrape(node: Node) -> str:
    """The node's /metrics, over its control socket with its cookie."""
    token = read_cookie(cookie_path(node.config.data_dir))
    transport = httpx.AsyncHTTPTransport(uds=str(node.config.control_socket))
    async with httpx.AsyncClient(transport=transport, base_url="http://node",
                                 headers={"authorization": f"Bearer {token}"}) as http:
        return (await http.get("/metrics")).text


def host_event(text: str, event: str, reason: str = "") -> float:
    wanted = f'bitcraps_host_protocol_events_total{{event="{event}",reason="{reason}"}} '
    found = [line for line in text.splitlines() if line.startswith(wanted)]
    return float(found[0].rsplit(" ", 1)[1]) if found else 0.0


async def test_host_protocol_events_are_on_metrics_by_reason_and_in_status() -> None:
    async with running(1, table_start_timeout_s=1.0) as ([victim], attacker):
        me = victim.node_identity.public_key
        fakes = [NodeIdentity.generate().public_key for _ in range(2)]
        with trio.fail_after(60):
            salts = [os.urandom(16) for _ in range(3)]
            for salt in salts:  # two held, the third refused
                await attacker.ask(victim, HostRequest(OFFER, salt, "kv"))
            await attacker.ask(victim, HostRequest(OFFER, os.urandom(16), "go-fish"))
            small = attacker.charter([attacker.key, me], [(), ()], salts[0])
            await attacker.ask(victim, HostRequest(CHARTER, small.table_id, charter=small))
            stray = attacker.charter([attacker.key, me, *fakes], [(), (), (), ()], salts[2])
            await attacker.ask(victim, HostRequest(CHARTER, stray.table_id, charter=stray))
            table = attacker.charter([attacker.key, me, *fakes], [(), (), (), ()], salts[1])
            await attacker.ask(victim, HostRequest(CHARTER, table.table_id, charter=table))
            await attacker.ask(victim, HostRequest(RELEASE, salts[2]))
            while table.table_id in victim.tables_by_id:  # never starts: closed
                await trio.sleep(0.05)

            # Streams that never send their request: the victim answers four at a time.
            host, target = attacker.transport.host, libp2p_id_for(me)
            assert victim.formation is not None
            streams = [await host.new_stream(target, [HOST_PROTOCOL])
                       for _ in range(MAX_INBOUND_PER_PEER)]
            while victim.formation.requests.statistics()["inbound"] < MAX_INBOUND_PER_PEER:
                await trio.sleep(0.05)
            for _ in range(2):
                try:
                    streams.append(await host.new_stream(target, [HOST_PROTOCOL]))
                except Exception:
                    pass  # reset while the protocol was negotiated
            while victim.formation.requests.statistics()["refused_peer_limit"] < 2:
                await trio.sleep(0.05)
            for stream in streams:
                await stream.close()
            text = await scrape(victim)
        assert host_event(text, "offer_accepted") == 2
        assert host_event(text, "offer_refused", "offers_held") == 1
        assert host_event(text, "offer_refused", "unknown_game") == 1
        assert host_event(text, "charter_refused", "too_few_replicas") == 1
        assert host_event(text, "charter_refused", "no_offer") == 1  # its offer was refused
        assert host_event(text, "charter_accepted") == 1
        assert host_event(text, "release") == 1
        assert host_event(text, "table_closed", "never_started") == 1
        assert host_event(text, "request_refused", "peer_limit") == 2
        shown = victim.status()["host_protocol"]
        assert shown["offer_refused:offers_held"] == 1 and shown["charter_accepted"] == 1
        assert shown["request_refused:peer_limit"] == 2
