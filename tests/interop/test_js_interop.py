"""A js-libp2p node (npm libp2p with Noise, yamux, identify, ping and gossipsub, versions
pinned in package-lock.json) dials a real `bitcraps daemon`, pings it and receives its lobby
announcement. `make test` installs the packages (`npm ci`); without node, npm or the
installed packages the test is skipped and says why."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from bitcraps.games.table_terms import TableTerms
from bitcraps.node.process_cluster import make_cluster, stop_all
from bitcraps.transports._lobby_messages import Announcement, verify_announcement

HERE = Path(__file__).parent
CLIENT = HERE / "lobby_client.mjs"


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (Debian: apt-get install nodejs npm)")
    if not (HERE / "node_modules" / "libp2p").is_dir():
        pytest.skip("tests/interop/node_modules is missing: run `make test` (it runs npm ci) "
                    "or `npm ci --prefix tests/interop`")
    return node


def test_js_libp2p_dials_pings_and_sees_the_lobby() -> None:
    node = _node()
    [daemon] = make_cluster(1)
    try:
        daemon.start()
        identity = daemon.api.get("/v1/identity")
        [address] = identity["addresses"]
        run = subprocess.run([node, str(CLIENT), address], capture_output=True, text=True,
                             timeout=60, cwd=HERE, check=False)
        assert run.returncode == 0, run.stderr[-3000:] + "\n" + daemon.log_tail()
        report = json.loads(run.stdout.strip().splitlines()[-1])
    finally:
        stop_all([daemon])
        shutil.rmtree(daemon.data_dir.parent, ignore_errors=True)
    assert report["remote_peer"] == identity["peer_id"]
    assert report["encryption"] == "/noise" and report["multiplexer"] == "/yamux/1.0.0"
    assert "/ipfs/id/1.0.0" in report["remote_protocols"]
    assert "/ipfs/ping/1.0.0" in report["remote_protocols"]
    assert len(report["ping_ms"]) == 3 and all(0 <= rtt < 5000 for rtt in report["ping_ms"])
    announcement = report["announcement"]
    assert announcement["kind"] == "announce" and announcement["version"] == 2
    assert announcement["table_id"] == daemon.table_id and announcement["game"] == "kv"
    assert announcement["announcer"] == identity["node_id"] == daemon.node_id
    assert announcement["replicas"] == [daemon.node_id]
    assert announcement["from"] == identity["peer_id"]
    terms = TableTerms("kv", tuple(bytes.fromhex(r) for r in announcement["replicas"]),
                       announcement["limits"]["min_bet"], announcement["limits"]["max_bet"],
                       announcement["seats"], bytes.fromhex(announcement["salt"]))
    signed = Announcement(0, bytes.fromhex(announcement["table_id"]), terms,
                          announcement["free_seats"], bytes.fromhex(announcement["announcer"]),
                          int(announcement["sequence"]), bytes.fromhex(announcement["signature"]))
    assert verify_announcement(signed)
