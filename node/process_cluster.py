"""A table of real `bitcraps daemon` processes on loopback: for the demo and the tests.

Each daemon gets its own data dir, port and NOTIFY_SOCKET; readiness is the daemon's own
sd_notify READY=1 on that socket (the systemd protocol), never a sleep. A daemon may listen
on another address and run under a command prefix (e.g. `ip netns exec NAME`): its control
socket and NOTIFY_SOCKET are filesystem paths, reachable from any network namespace.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgpack

from bitcraps.node.api_client import ApiClient
from bitcraps.node.identity import IDENTITY_FILE, load_identity
from bitcraps.node.table_blocks import new_terms, table_block

BITCRAPS = str(Path(sys.executable).with_name("bitcraps"))


def free_port(*, udp: bool = False) -> int:
    with socket.socket(type=socket.SOCK_DGRAM if udp else socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def add(key: bytes, delta: int = 1) -> str:
    return bytes(msgpack.packb([b"add", key, delta])).hex()


@dataclass
class Daemon:
    index: int
    data_dir: Path
    port: int
    host: str = "127.0.0.1"
    command_prefix: list[str] = field(default_factory=list)
    node_id: str = ""
    process: subprocess.Popen[bytes] | None = None
    notify: socket.socket | None = None
    ready_timeout_s: float = 30.0
    table_id: str = ""  # the shared table's id (derived from its terms), or one it formed
    quic: bool = False

    @property
    def peer_id(self) -> str:
        from bitcraps.transports._libp2p_host import peer_id_for

        return str(peer_id_for(bytes.fromhex(self.node_id)))

    @property
    def multiaddr(self) -> str:
        if self.quic:
            return f"/ip4/{self.host}/udp/{self.port}/quic-v1"
        return f"/ip4/{self.host}/tcp/{self.port}"

    @property
    def api(self) -> ApiClient:
        return ApiClient(self.data_dir)

    def start(self, timeout_s: float = 30.0) -> None:
        self.launch(timeout_s)
        self.wait_notify("READY=1")

    def launch(self, timeout_s: float = 30.0) -> None:
        """Spawn the daemon without waiting: `wait_notify("READY=1")` then waits for it."""
        notify_path = str(self.data_dir / "notify.sock")
        if os.path.exists(notify_path):
            os.unlink(notify_path)
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(notify_path)
        self.notify.settimeout(0.25)
        self.ready_timeout_s = timeout_s
        env = {**os.environ, "NOTIFY_SOCKET": notify_path, "BITCRAPS_DATA_DIR": str(self.data_dir)}
        log = open(self.data_dir / "daemon.log", "ab")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(
            [*self.command_prefix, BITCRAPS, "daemon",
             "--config", str(self.data_dir / "node.toml")],
            stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()

    def wait_notify(self, field_wanted: str) -> None:
        """Wait for a notify field; fail at once if the daemon exits, or at the deadline."""
        assert self.notify is not None and self.process is not None
        deadline = time.monotonic() + self.ready_timeout_s
        while time.monotonic() < deadline:
            try:
                message = self.notify.recv(4096).decode()
            except TimeoutError:
                if self.process.poll() is not None:
                    break
                continue
            if field_wanted in message.split("\n"):
                return
        raise AssertionError(f"daemon {self.index} sent no {field_wanted}:\n" + self.log_tail())

    def kill(self, sig: int = signal.SIGKILL) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        code = self.process.wait(timeout=30)
        self.process = None
        if self.notify is not None:
            self.notify.close()
            self.notify = None
        return code

    def table(self, table_id: str | None = None) -> dict[str, Any]:
        """This daemon's view of a table it hosts (default: `self.table_id`)."""
        wanted = self.table_id if table_id is None else table_id
        tables = self.api.get("/v1/tables")["tables"]
        return next(t for t in tables if t["table_id"] == wanted)

    def create_table(self, *args: str) -> str:
        """`bitcraps table create ARGS` against this daemon; the new table's id."""
        done = subprocess.run([BITCRAPS, "table", "create", *args, "--json",
                               "--data-dir", str(self.data_dir)],
                              capture_output=True, text=True, timeout=90)
        if done.returncode != 0:
            raise AssertionError(f"table create failed: {done.stderr}\n{self.log_tail()}")
        table_id: str = json.loads(done.stdout)["table_id"]
        return table_id

    def log_tail(self, lines: int = 30) -> str:
        path = self.data_dir / "daemon.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def wait_until(what: str, check: Callable[[], bool], timeout_s: float = 60.0) -> None:
    """Poll the daemons' own state (read through their control APIs) until `check()` holds;
    `TimeoutError` naming `what` at the deadline. Never a fixed sleep standing in for it."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout_s:g} s")
        time.sleep(0.05)


def make_cluster(count: int, *, tick_ms: int = 10, root: Path | None = None,
                 hosts: list[str] | None = None,
                 command_prefixes: list[list[str]] | None = None,
                 shared_table: bool = True, quic: bool = False) -> list[Daemon]:
    """Initialise `count` data dirs and write each a node.toml hosting one shared table.

    `hosts[i]` is daemon i's listen address (default loopback, each on a free port);
    `command_prefixes[i]` runs it under a wrapper such as `ip netns exec NAME`. Without
    `shared_table` the daemons host no table and bootstrap from each other, ready for
    `bitcraps table create`. With `quic` they listen on QUIC v1 instead of TCP."""
    if root is None:
        root = Path(tempfile.mkdtemp(prefix="bcd-", dir="/tmp"))  # AF_UNIX paths are short
    daemons = []
    for i in range(count):
        data_dir = root / f"n{i}"
        subprocess.run([BITCRAPS, "init", "--data-dir", str(data_dir)],
                       capture_output=True, check=True)
        daemon = Daemon(i, data_dir, free_port(udp=quic), quic=quic)
        if hosts is not None:
            daemon.host = hosts[i]
        if command_prefixes is not None:
            daemon.command_prefix = list(command_prefixes[i])
        daemon.node_id = load_identity(data_dir / IDENTITY_FILE).node_id
        daemons.append(daemon)
    table = ""
    if shared_table:
        terms = new_terms("kv", [bytes.fromhex(d.node_id) for d in daemons])
        table = table_block(terms, {bytes.fromhex(d.node_id): d.multiaddr for d in daemons})
        for daemon in daemons:
            daemon.table_id = terms.table_id.hex()
    for daemon in daemons:
        bootstrap = "" if shared_table else ", ".join(
            f'"{other.multiaddr}/p2p/{other.peer_id}"' for other in daemons if other is not daemon)
        (daemon.data_dir / "node.toml").write_text(f"""
[node]
data_dir = "{daemon.data_dir}"
log_level = "info"

[network]
listen_addrs = ["{daemon.multiaddr}"]
bootstrap = [{bootstrap}]

[consensus]
tick_ms = {tick_ms}
checkpoint_interval_seqs = 8
log_window_seqs = 32
view_change_timeout_ticks = 50
{table}""")
    return daemons


def stop_all(daemons: list[Daemon]) -> None:
    for daemon in daemons:
        if daemon.process is not None:
            daemon.kill(signal.SIGKILL)
