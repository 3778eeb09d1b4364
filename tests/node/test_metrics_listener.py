"""The metrics listener (`[metrics] listen`): Prometheus scrapes /metrics over TCP without the
control token, and finds the process, build, game and view-change series; the listener
serves nothing else; a port in use stops the daemon with one line (a real node in process
playing a real craps table, and a real daemon process)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import urllib.error
import urllib.request

import pytest
import trio

from bitcraps.node._control import ControlError
from bitcraps.node.config import load_config
from bitcraps.node.daemon import open_node
from bitcraps.node.identity import IDENTITY_FILE, load_identity
from bitcraps.node.process_cluster import BITCRAPS, make_cluster


def scrape(url: str, method: str = "GET") -> tuple[int, str, str]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.headers["Content-Type"], answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of series `name` whose labels include `labels`, if any."""
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            if all(f'{key}="{value}"' in line for key, value in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    return None


async def test_prometheus_scrapes_the_listener_without_the_token() -> None:
    [daemon] = make_cluster(1, shared_table=False)
    try:
        toml = daemon.data_dir / "node.toml"
        toml.write_text(toml.read_text() + '\n[metrics]\nlisten = "127.0.0.1:0"\n')
        config = load_config(toml)
        identity = load_identity(daemon.data_dir / IDENTITY_FILE)
        async with open_node(config, identity) as node:
            [bind] = node.metrics_binds
            assert bind.startswith("http://127.0.0.1:") and node.status()["metrics"] == [bind]
            with trio.fail_after(60):
                table_id = (await node.create_table("craps", 1, min_bet=5))["table_id"]
                while not node.table_game(table_id)["craps"]["dice"]["ready"]:
                    await trio.sleep(0.02)
                await node.table_act(table_id, {"action": "join", "buy_in": 200})
                with pytest.raises(ControlError):  # under the table's minimum: refused
                    await node.table_act(table_id, {"action": "bet", "kind": "field",
                                                    "amount": 1})
                await node.table_act(table_id, {"action": "bet", "kind": "field", "amount": 5})
                await node.table_roll(table_id)
                await node.table_cash_out(table_id, 50)
                status, kind, text = await trio.to_thread.run_sync(scrape, bind + "/metrics")
            assert status == 200 and kind.startswith("text/plain")
            assert sample(text, "process_cpu_seconds_total") is not None
            assert sample(text, "process_resident_memory_bytes")
            assert sample(text, "bitcraps_build_info", version=node.status()["version"]) == 1
            assert sample(text, "bitcraps_bets_placed_total", table=table_id) == 1
            assert sample(text, "bitcraps_chips_bet_total", table=table_id) == 5
            assert sample(text, "bitcraps_rolls_total", table=table_id) == 1
            assert sample(text, "bitcraps_cash_outs_total", table=table_id) == 1
            assert sample(text, "bitcraps_chips_cashed_out_total", table=table_id) == 50
            assert sample(text, "bitcraps_table_actions_total", table=table_id, action="join",
                          outcome="ok") == 1
            assert sample(text, "bitcraps_table_actions_total", table=table_id, action="bet",
                          outcome="refused") == 1
            assert "# TYPE bitcraps_view_changes_total counter" in text
            assert "# TYPE bitcraps_view_changes_started_total counter" in text

            # Only /metrics, and only to read it: no control call is reachable here.
            for path, method, expected in [("/v1/status", "GET", 404), ("/", "GET", 404),
                                           ("/metrics", "POST", 405)]:
                status, _, _ = await trio.to_thread.run_sync(scrape, bind + path, method)
                assert status == expected, path
    finally:
        shutil.rmtree(daemon.data_dir.parent, ignore_errors=True)


def test_a_busy_metrics_port_stops_the_daemon_with_one_line() -> None:
    [daemon] = make_cluster(1, shared_table=False)
    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        toml = daemon.data_dir / "node.toml"
        toml.write_text(toml.read_text() + f'\n[metrics]\nlisten = "{port}"\n')
        done = subprocess.run([BITCRAPS, "daemon", "--config", str(toml)],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 2
        assert done.stderr.splitlines() == [
            f"bitcraps: error: node not started: metrics.listen: TCP address "
            f"127.0.0.1:{port} is already in use"]
        assert "READY=1" not in done.stdout and "node ready" not in done.stdout
    finally:
        holder.close()
        shutil.rmtree(daemon.data_dir.parent, ignore_errors=True)


@pytest.mark.parametrize("value", ["abc", "::1:9464", "127.0.0.1:70000", "[::1]9464"])
def test_a_bad_listen_address_is_one_config_error(value: str) -> None:
    from bitcraps.node.config import ConfigError, parse_config

    with pytest.raises(ConfigError, match="metrics.listen: give HOST:PORT"):
        parse_config(f'[metrics]\nlisten = "{value}"\n')
