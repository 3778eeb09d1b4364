"""Four real daemons host a craps table while an attacker sends each attack of the outside
trials, and a legitimate player keeps playing through all of it.

The attacker is a real py-libp2p peer with its own key (a `Libp2pTransport` in this process)
and, for the Byzantine-replica attack, the key of one replica whose daemon it has taken over
(stopped here: f = 1 of 4). Every honest daemon must stay up, keep its table committing, and
the player's bets and rolls must keep landing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from functools import partial

import httpx
import pytest
import trio
from hostile import (
    deep_version_frame,
    forged_pre_prepare,
    list_bomb_frame,
    poisoned_dkg_operation,
    signed_request,
)
from nacl.signing import SigningKey

from bitcraps.node.identity import IDENTITY_FILE, load_identity
from bitcraps.node.process_cluster import BITCRAPS, Daemon, make_cluster, stop_all, wait_until
from bitcraps.transports.libp2p_transport import open_libp2p_transport

pytestmark = pytest.mark.slow


@pytest.fixture
def table() -> Iterator[tuple[list[Daemon], str]]:
    daemons = make_cluster(4, shared_table=False)
    try:
        for daemon in daemons:
            daemon.start()
        table_id = daemons[0].create_table("--game", "craps", "--replicas", "4")
        for daemon in daemons:
            daemon.table_id = table_id
        wait_until("the dice key", lambda: all(
            d.api.get(f"/v1/tables/{table_id}")["craps"]["dice"]["ready"] for d in daemons))
        yield daemons, table_id
    finally:
        stop_all(daemons)


def play(daemon: Daemon, *args: str) -> dict:  # type: ignore[type-arg]
    done = subprocess.run([BITCRAPS, *args, "--json", "--data-dir", str(daemon.data_dir)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{args}: {done.stderr}\n{daemon.log_tail()}"
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def roll_number(daemon: Daemon, table_id: str) -> int:
    return int(daemon.api.get(f"/v1/tables/{table_id}")["craps"]["roll_number"])


async def a_round_of_play(player: Daemon, table_id: str) -> None:
    """One bet and one roll by the player, which must both land."""
    short = table_id[:8]
    before = await trio.to_thread.run_sync(roll_number, player, table_id)
    await trio.to_thread.run_sync(partial(play, player, "bet", short, "field", "5"))
    await trio.to_thread.run_sync(partial(play, player, "roll", short))
    after = await trio.to_thread.run_sync(roll_number, player, table_id)
    assert after == before + 1


def frames_in(daemon: Daemon) -> float:
    """Frames this daemon's router took from the transport (Prometheus, over its API)."""
    from bitcraps.node._cookie import cookie_path, read_cookie

    transport = httpx.HTTPTransport(uds=str(daemon.api.socket))
    with httpx.Client(transport=transport, base_url="http://bitcraps") as client:
        text = client.get("/metrics", headers={
            "authorization": f"Bearer {read_cookie(cookie_path(daemon.data_dir))}"}).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("bitcraps_transport_frames_total{")
               and 'direction="in"' in line)


def assert_all_up(daemons: list[Daemon], attack: str) -> None:
    for daemon in daemons:
        if daemon.process is None:
            continue
        assert daemon.process.poll() is None, \
            f"daemon {daemon.index} died after the {attack}:\n{daemon.log_tail()}"
        assert daemon.api.get("/v1/status")["healthy"], daemon.log_tail()
        log = (daemon.data_dir / "daemon.log").read_text(errors="replace")
        assert "Traceback" not in log, \
            f"daemon {daemon.index} printed a traceback after the {attack}"


async def test_strangers_and_a_byzantine_replica_cannot_stop_the_table(
        table: tuple[list[Daemon], str]) -> None:
    daemons, table_id_hex = table
    table_id = bytes.fromhex(table_id_hex)
    player = daemons[1]
    await trio.to_thread.run_sync(partial(play, player, "table", "join", table_id_hex[:8],
                                          "--buy-in", "1000"))
    await a_round_of_play(player, table_id_hex)

    stranger = SigningKey(os.urandom(32))
    async with open_libp2p_transport(bytes(stranger), listen_addrs=[
            "/ip4/127.0.0.1/tcp/0"]) as attacker:
        me = bytes(stranger.verify_key)
        for daemon in daemons:
            attacker.add_peer_address(bytes.fromhex(daemon.node_id), daemon.multiaddr)
        attacks = {
            "deep version": [deep_version_frame(table_id, me)] * 2,
            "list bomb": [list_bomb_frame(table_id, me)] * 8,
            "forged pre-prepare": [forged_pre_prepare(stranger, table_id)] * 2,
            "tiny frame flood": [b"\x90"] * 20_000,
        }
        for name, frames in attacks.items():
            seen = [await trio.to_thread.run_sync(frames_in, d) for d in daemons]
            for daemon in daemons:
                peer = bytes.fromhex(daemon.node_id)
                for frame in frames:
                    await attacker.post(peer, frame)
            await a_round_of_play(player, table_id_hex)
            await trio.to_thread.run_sync(assert_all_up, daemons, name)
            for daemon, before in zip(daemons, seen, strict=True):
                got = await trio.to_thread.run_sync(frames_in, daemon)
                assert got >= before + min(len(frames), 2), f"{name} never reached {daemon}"

        # One replica turns Byzantine: its key signs an operation every replica orders.
        turned = daemons[3]
        key = SigningKey(load_identity(turned.data_dir / IDENTITY_FILE).seed)
        turned.kill(signal.SIGKILL)
        poisoned = signed_request(key, table_id, 1 << 62, poisoned_dkg_operation())
        for daemon in daemons[:3]:
            await attacker.post(bytes.fromhex(daemon.node_id), poisoned.wire)
        await a_round_of_play(player, table_id_hex)
        await a_round_of_play(player, table_id_hex)
        await trio.to_thread.run_sync(assert_all_up, daemons, "poisoned DKG message")
