"""A node owns its resources: its data dir and its ports, or it refuses to start with one line.

Real `bitcraps daemon` processes on loopback; readiness is their own READY=1."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bitcraps.node.process_cluster import (
    BITCRAPS,
    Daemon,
    free_port,
    make_cluster,
    stop_all,
    wait_until,
)

ERROR = "bitcraps: error: "


@pytest.fixture
def cluster() -> Iterator[list[Daemon]]:
    daemons: list[Daemon] = []
    try:
        yield daemons
    finally:
        stop_all(daemons)
        for daemon in daemons:
            shutil.rmtree(daemon.data_dir.parent, ignore_errors=True)


def daemon_run(config: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`bitcraps daemon` in the foreground, expected to refuse at once."""
    return subprocess.run([BITCRAPS, "daemon", "--config", str(config)], capture_output=True,
                          text=True, timeout=60, env={**os.environ, **env})


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(ERROR), result.stderr
    return lines[0]


def test_a_second_daemon_on_a_data_dir_refuses_and_touches_nothing(
        cluster: list[Daemon]) -> None:
    cluster.extend(make_cluster(1))  # a one-replica table: its database is open
    first = cluster[0]
    first.start()
    assert first.process is not None
    cookie = (first.data_dir / "control.cookie").read_bytes()
    tables = sorted(p.name for p in (first.data_dir / "tables").iterdir())

    line = one_error_line(daemon_run(first.data_dir / "node.toml"))
    assert f"pid {first.process.pid}" in line and str(first.data_dir) in line

    assert (first.data_dir / "control.cookie").read_bytes() == cookie
    assert sorted(p.name for p in (first.data_dir / "tables").iterdir()) == tables
    status = subprocess.run([BITCRAPS, "status", "--json", "--data-dir", str(first.data_dir)],
                            capture_output=True, text=True, timeout=30)
    assert status.returncode == 0, status.stderr  # the running node still answers the CLI


def test_the_lock_dies_with_its_daemon_even_under_kill_9(cluster: list[Daemon]) -> None:
    """The signature workers the daemon forks must not keep its lock after a SIGKILL."""
    cluster.extend(make_cluster(1))
    daemon = cluster[0]
    daemon.start()
    daemon.kill(signal.SIGKILL)
    daemon.start()  # READY=1 again at once: the dead daemon's lock is gone
    assert daemon.process is not None
    pid = (daemon.data_dir / "daemon.lock").read_text().strip()
    assert pid == str(daemon.process.pid)


def test_a_libp2p_port_in_use_is_refused_not_shared(cluster: list[Daemon]) -> None:
    cluster.extend(make_cluster(2, shared_table=False))
    first, second = cluster
    first.start()
    # The second node is configured on the first one's port: it must not start.
    config = second.data_dir / "node.toml"
    config.write_text(config.read_text().replace(second.multiaddr, first.multiaddr))
    line = one_error_line(daemon_run(config))
    assert f"cannot listen on {first.multiaddr}" in line and "in use" in line
    # Nor may anyone else join the first node's port the way py-libp2p shares ports.
    with socket.socket() as intruder:
        intruder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        intruder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        with pytest.raises(OSError):
            intruder.bind((first.host, first.port))


def test_a_busy_api_tcp_port_is_one_line(cluster: list[Daemon]) -> None:
    cluster.extend(make_cluster(1, shared_table=False))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_error_line(daemon_run(cluster[0].data_dir / "node.toml",
                                         BITCRAPS_API__TCP_PORT=str(port)))
    assert f"127.0.0.1:{port}" in line and "in use" in line


def test_bootstrap_takes_several_addresses_and_peers_connect_dials_one(
        cluster: list[Daemon]) -> None:
    cluster.extend(make_cluster(3, shared_table=False))
    hub, spoke, loner = cluster
    # The hub lists both others; the spoke lists only the hub; the loner lists nobody. The
    # hub starts last, so that its first dials find both up (py-libp2p waits 60 s before it
    # dials again a peer whose every address failed).
    _set_bootstrap(spoke, [hub])
    _set_bootstrap(loner, [])
    for daemon in (loner, spoke, hub):
        daemon.start()
    wait_until("the hub connects to both bootstrap peers",
               lambda: _connected(hub) >= {spoke.node_id, loner.node_id}, timeout_s=30)
    assert loner.node_id not in _connected(spoke)

    done = subprocess.run([BITCRAPS, "peers", "connect", f"{loner.multiaddr}/p2p/{loner.peer_id}",
                           "--data-dir", str(spoke.data_dir)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert loner.peer_id in done.stdout
    assert loner.node_id in _connected(spoke)

    for address in (loner.multiaddr,  # no /p2p/ part: not a peer address
                    f"/ip4/127.0.0.1/tcp/{free_port()}/p2p/{hub.peer_id}x"):
        refused = subprocess.run([BITCRAPS, "peers", "connect", address,
                                  "--data-dir", str(spoke.data_dir)],
                                 capture_output=True, text=True, timeout=60)
        one_error_line(refused)
    silent = _peer_id_of_fresh_key()
    refused = subprocess.run([BITCRAPS, "--data-dir", str(spoke.data_dir), "peers", "connect",
                              f"/ip4/127.0.0.1/tcp/{free_port()}/p2p/{silent}"],
                             capture_output=True, text=True, timeout=60)
    assert "dialing peer" in one_error_line(refused)


def _set_bootstrap(daemon: Daemon, peers: list[Daemon]) -> None:
    config = daemon.data_dir / "node.toml"
    lines = config.read_text().splitlines()
    entries = ", ".join(f'"{p.multiaddr}/p2p/{p.peer_id}"' for p in peers)
    config.write_text("\n".join(f"bootstrap = [{entries}]" if line.startswith("bootstrap =")
                                else line for line in lines) + "\n")


def _connected(daemon: Daemon) -> set[str]:
    return {p["peer"] for p in daemon.api.get("/v1/peers")["peers"] if p["connected"]}


def _peer_id_of_fresh_key() -> str:
    from bitcraps.node.identity import NodeIdentity
    from bitcraps.transports.libp2p_transport import peer_id_for

    return peer_id_for(NodeIdentity.generate().public_key)
