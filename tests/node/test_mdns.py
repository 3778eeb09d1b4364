"""mDNS on a LAN: two daemons on two private hosts (network namespaces on one bridge), with
`network.mdns = true` and no bootstrap peer or replica address: they find each other by
multicast DNS, connect, and each sees the other's table in its lobby.

Multicast stays inside the namespaces (the bridge has no uplink); where namespaces are
refused the test is skipped, so mDNS never multicasts on this machine's real interfaces."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from netns import veth_network

from bitcraps.node.identity import IDENTITY_FILE, load_identity
from bitcraps.node.process_cluster import BITCRAPS, Daemon, free_port, stop_all
from bitcraps.node.table_blocks import new_terms, table_block

BOUND_S = 30.0


def _route_multicast(network_exec: list[str]) -> None:
    # No default route in a fresh namespace: give multicast one on eth0.
    subprocess.run([*network_exec, "ip", "route", "add", "224.0.0.0/4", "dev", "eth0"],
                   capture_output=True, check=True, timeout=10)


def test_two_hosts_find_each_other_by_mdns_and_share_the_lobby() -> None:
    root = Path(tempfile.mkdtemp(prefix="bcm-", dir="/tmp"))
    daemons: list[Daemon] = []
    with veth_network(2) as network:
        try:
            tables: list[str] = []
            for i in range(2):
                _route_multicast(network.exec_prefix(i))
                data_dir = root / f"n{i}"
                subprocess.run([BITCRAPS, "init", "--data-dir", str(data_dir)],
                               capture_output=True, check=True)
                node_id = load_identity(data_dir / IDENTITY_FILE).node_id
                terms = new_terms("kv", [bytes.fromhex(node_id)])
                tables.append(terms.table_id.hex())
                daemon = Daemon(i, data_dir, free_port(), host=network.addresses[i],
                                command_prefix=network.exec_prefix(i), node_id=node_id)
                (data_dir / "node.toml").write_text(f"""
[node]
data_dir = "{data_dir}"
[network]
listen_addrs = ["{daemon.multiaddr}"]
mdns = true
{table_block(terms)}""")
                daemons.append(daemon)
                daemon.start()
            deadline = time.monotonic() + BOUND_S
            seen: list[set[str]] = [set(), set()]
            while time.monotonic() < deadline and seen != [set(tables), set(tables)]:
                time.sleep(0.25)
                seen = [{t["table_id"] for t in d.api.get("/v1/lobby")["tables"]}
                        for d in daemons]
            assert seen == [set(tables), set(tables)], \
                "\n".join(d.log_tail(15) for d in daemons)
        finally:
            stop_all(daemons)
            shutil.rmtree(root, ignore_errors=True)
