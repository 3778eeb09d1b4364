"""A node's frame router under a stranger's frames, over real libp2p on loopback: no frame
ends the node, whatever the decoder does with it, and every kind of drop and refusal shows
on the node's /metrics."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import trio
from hostile import deep_version_frame, signed_request
from libp2p.peer.id import ID
from nacl.signing import SigningKey

import bitcraps.node.daemon as daemon_module
from bitcraps.accel._ed25519_cpu import verify_one
from bitcraps.consensus import Envelope, Prepare, SignatureCheck, signing_bytes
from bitcraps.node._cookie import cookie_path, read_cookie
from bitcraps.node.config import load_config
from bitcraps.node.daemon import Node, open_node
from bitcraps.node.identity import IDENTITY_FILE, load_identity
from bitcraps.node.process_cluster import make_cluster
from bitcraps.transports._framing import HEADER
from bitcraps.transports.libp2p_transport import PROTOCOL_ID, open_libp2p_transport

BOUND_S = 30


def verify(checks: list[SignatureCheck]) -> list[bool]:
    return [verify_one(*check) for check in checks]


@asynccontextmanager
async def one_node() -> AsyncIterator[tuple[Node, bytes, str]]:
    """Node 0 of a four-replica kv table (the others stay down: nothing need commit)."""
    daemons = make_cluster(4)
    try:
        config = load_config(daemons[0].data_dir / "node.toml")
        identity = load_identity(daemons[0].data_dir / IDENTITY_FILE)
        async with open_node(config, identity, verify_batch=verify) as node:
            yield node, bytes.fromhex(daemons[0].table_id), daemons[0].multiaddr
    finally:
        shutil.rmtree(daemons[0].data_dir.parent, ignore_errors=True)


async def scrape(node: Node) -> dict[str, float]:
    """The node's /metrics, over its control socket with its cookie: {series: value}."""
    token = read_cookie(cookie_path(node.config.data_dir))
    transport = httpx.AsyncHTTPTransport(uds=str(node.config.control_socket))
    async with httpx.AsyncClient(transport=transport, base_url="http://node",
                                 headers={"authorization": f"Bearer {token}"}) as http:
        text = (await http.get("/metrics")).text
    series = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            series[name] = float(value)
    return series


async def wait_for(node: Node, wanted: dict[str, float]) -> dict[str, float]:
    with trio.fail_after(BOUND_S):
        while True:
            series = await scrape(node)
            if all(series.get(name, 0) >= value for name, value in wanted.items()):
                return series
            await trio.sleep(0.05)


def recursing_decoder(real: object) -> object:
    """The decoder as it was: a 1,010-deep frame escaped it as RecursionError."""
    def decode(frame: bytes) -> object:
        if frame.startswith(b"\x96\x91\x91\x91"):
            raise RecursionError("maximum recursion depth exceeded")
        return real(frame)  # type: ignore[operator]
    return decode


async def test_no_frame_ends_the_node_and_each_drop_is_on_metrics(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(daemon_module, "decode_envelope",
                        recursing_decoder(daemon_module.decode_envelope))
    stranger = SigningKey(os.urandom(32))
    me = bytes(stranger.verify_key)
    async with one_node() as (node, table_id, address), open_libp2p_transport(
            bytes(stranger), listen_addrs=["/ip4/127.0.0.1/tcp/0"]) as attacker:
        target = node.node_identity.public_key
        attacker.add_peer_address(target, address)
        replica = node.tables_by_id[table_id].config.replicas[1]
        prepare = Prepare(0, 1, b"\x00" * 32)
        not_a_replica = Envelope(table_id, me, prepare, stranger.sign(
            signing_bytes(table_id, me, prepare)).signature)
        forged = Envelope(table_id, replica, prepare, b"\x01" * 64)
        request = signed_request(stranger, table_id, 1, b"op").wire
        for frame in [deep_version_frame(table_id, me)] * 2 + [
                b"\xc1", not_a_replica.wire, forged.wire, request, request]:
            await attacker.send(target, frame)
        stream = await attacker.host.new_stream(ID.from_base58(node.transport.libp2p_peer_id),
                                                [PROTOCOL_ID])
        await stream.write(HEADER.pack(2 << 20))  # announces a frame above the limit
        table = node.tables_by_id[table_id].section.table_id
        peer = f'peer="{me.hex()}"'
        series = await wait_for(node, {
            'bitcraps_messages_rejected_total{reason="decoder_error"}': 2,
            'bitcraps_messages_rejected_total{reason="undecodable"}': 1,
            'bitcraps_transport_dropped_total{reason="oversized",transport="libp2p"}': 1,
            f'bitcraps_transport_peer_dropped_total{{{peer},transport="libp2p"}}': 1,
            'bitcraps_transport_events_total{event="oversized_frames",transport="libp2p"}': 1,
            f'bitcraps_table_shell_total{{counter="not_replica",table="{table}"}}': 1,
            f'bitcraps_table_shell_total{{counter="bad_signatures",table="{table}"}}': 1,
            f'bitcraps_table_shell_total{{counter="duplicates",table="{table}"}}': 1,
        })
        assert node.status()["healthy"]
        for name in ("partial", "queue_full", "crowded", "evicted"):
            assert f'bitcraps_transport_dropped_total{{reason="{name}",transport="libp2p"}}' \
                in series
        assert any(re.match(r'bitcraps_transport_events_total\{event="rejected_streams"', s)
                   for s in series)
