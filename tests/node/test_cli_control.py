"""`bitcraps id|status|peers|tables|config|stop` against a served in-memory node."""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import structlog
import trio
from memory_control import Served

from bitcraps.node._cookie import write_cookie
from bitcraps.node.cli import main


async def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with trio.fail_after(20):
        code = await trio.to_thread.run_sync(main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _at(served: Served) -> list[str]:
    return ["--data-dir", str(served.data_dir)]


@pytest.mark.parametrize(("command", "path"), [
    (["id"], "/v1/identity"), (["status"], "/v1/status"), (["config", "show"], "/v1/config"),
])
async def test_json_output_is_the_api_json(served: Served, capsys: pytest.CaptureFixture[str],
                                           command: list[str], path: str) -> None:
    code, out, err = await _cli(capsys, *command, "--json", *_at(served))
    assert (code, err) == (0, "")
    expected = {"/v1/identity": served.control.identity, "/v1/status": served.control.status,
                "/v1/config": served.control.config_show}[path]()
    assert json.loads(out) == expected


async def test_lists_as_json(served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = await _cli(capsys, "peers", "--json", *_at(served))
    assert code == 0
    assert json.loads(out) == served.control.peers()
    code, out, _ = await _cli(capsys, "tables", "--json", *_at(served))
    assert code == 0
    assert json.loads(out) == {"hosted": served.control.tables(),
                               "lobby": served.control.lobby_tables()}


async def test_plain_output_is_short(served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    control = served.control
    code, out, _ = await _cli(capsys, "id", *_at(served))
    assert code == 0
    assert out.splitlines()[0] == f"node_id:   {control.node_id}"

    code, out, _ = await _cli(capsys, "status", *_at(served))
    assert code == 0
    assert "healthy:  yes" in out.splitlines()
    assert "uptime_s: 12.5" in out.splitlines()

    code, out, _ = await _cli(capsys, "peers", *_at(served))
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2
    assert "connected" in lines[0] and "/ip4/10.0.0.2/tcp/4001" in lines[0]
    assert "disconnected" in lines[1] and "ble" in lines[1]

    code, out, _ = await _cli(capsys, "tables", *_at(served))
    hosted, line, lobby, entry = out.splitlines()
    assert code == 0 and hosted == "hosted:" and lobby == "lobby:"
    assert "craps" in line and "view 0" in line and "seq 0" in line and "4 replicas" in line
    assert "kv" in entry and "bets 5-500" in entry and "3 free seats" in entry
    assert all(len(line) < 100 for line in out.splitlines())


async def test_config_get_and_set(served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = await _cli(capsys, "config", "get", "log_level", *_at(served))
    assert (code, out) == (0, "info\n")
    code, out, _ = await _cli(capsys, "config", "get", "api.tcp_port", "--json", *_at(served))
    assert (code, json.loads(out)) == (0, 8420)

    code, out, _ = await _cli(capsys, "config", "set", "max_tables", "5", *_at(served))
    assert (code, out) == (0, "max_tables = 5\n")
    assert served.control.config["max_tables"] == 5
    code, out, _ = await _cli(capsys, "config", "set", "log_level", "debug", "--json",
                              *_at(served))
    assert (code, json.loads(out)) == (0, {"key": "log_level", "value": "debug"})

    code, out, _ = await _cli(capsys, "config", "show", *_at(served))
    assert code == 0
    assert out.splitlines() == ['log_level = "debug"', "max_tables = 5",
                                'api.tcp_host = "127.0.0.1"', "api.tcp_port = 8420"]


async def test_refusals_are_one_line_errors(served: Served,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = await _cli(capsys, "config", "set", "api.tcp_port", "1", *_at(served))
    assert (code, out) == (2, "")
    assert err == "bitcraps: error: api.tcp_port cannot change while the node runs\n"
    code, out, err = await _cli(capsys, "config", "get", "nope", *_at(served))
    assert code == 2
    assert err == "bitcraps: error: unknown setting 'nope' (see `bitcraps config show`)\n"
    served.control.broken = True
    with structlog.testing.capture_logs():  # the server's log, in this same process
        code, out, err = await _cli(capsys, "status", *_at(served))
    assert (code, out) == (2, "")
    assert err == "bitcraps: error: the daemon failed: internal error (see its log)\n"
    code, out, err = await _cli(capsys, "config", *_at(served)[:0])
    assert (code, out) == (2, "")
    assert "show" in err and "set" in err


async def test_stop(served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = await _cli(capsys, "stop", *_at(served))
    assert (code, out, err) == (0, "the daemon is shutting down\n", "")
    assert served.control.stop_requested.is_set()


async def test_socket_option_and_env_data_dir(served: Served, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BITCRAPS_DATA_DIR", str(served.data_dir))
    code, out, _ = await _cli(capsys, "id", "--json")
    assert code == 0 and json.loads(out)["node_id"] == served.control.node_id
    code, _, err = await _cli(capsys, "id", "--socket", str(served.data_dir / "other.sock"))
    assert code == 2
    assert f"no bitcraps daemon is running at {served.data_dir / 'other.sock'}" in err


async def test_stale_cookie_is_a_token_error(served: Served,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    write_cookie(served.data_dir / "control.cookie")  # not the token the server holds
    code, out, err = await _cli(capsys, "status", *_at(served))
    assert (code, out) == (2, "")
    assert err.startswith("bitcraps: error: the daemon refused the token in ")
    assert err.count("\n") == 1


@pytest.mark.parametrize("command", [["status"], ["id", "--json"], ["peers"], ["tables"],
                                     ["config", "show"], ["config", "set", "a", "b"], ["stop"]])
async def test_no_daemon_is_one_line(data_dir: Path, capsys: pytest.CaptureFixture[str],
                                     command: list[str]) -> None:
    code, out, err = await _cli(capsys, *command, "--data-dir", str(data_dir))
    assert (code, out) == (2, "")
    assert err == (f"bitcraps: error: no bitcraps daemon is running at "
                   f"{data_dir / 'control.sock'} (start it with `bitcraps daemon`)\n")


async def test_stale_socket_file_is_no_daemon(data_dir: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    left = socket.socket(socket.AF_UNIX)
    left.bind(str(data_dir / "control.sock"))
    left.close()
    write_cookie(data_dir / "control.cookie")
    code, _, err = await _cli(capsys, "status", "--data-dir", str(data_dir))
    assert code == 2
    assert err.startswith("bitcraps: error: no bitcraps daemon is running at ")


def test_no_daemon_from_a_real_process(data_dir: Path) -> None:
    env = dict(os.environ, BITCRAPS_DATA_DIR=str(data_dir))
    env.pop("BITCRAPS_DEBUG", None)
    result = subprocess.run([sys.executable, "-m", "bitcraps.node.cli", "status"], env=env,
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert "no bitcraps daemon is running" in result.stderr


def test_status_imports_nothing_heavy(data_dir: Path) -> None:
    # `bitcraps status` must start fast: no other command module, no daemon-side library.
    # (httpx's transport imports trio once it connects; that is the client's own cost.)
    probe = (
        "import sys\n"
        "from bitcraps.node.cli import main\n"
        f"code = main(['status', '--data-dir', {str(data_dir)!r}])\n"
        "heavy = {'libp2p', 'hypercorn', 'starlette', 'prometheus_client', 'structlog',\n"
        "         'pydantic', 'bitcraps.consensus', 'bitcraps.node.config', 'importlib.metadata'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            timeout=30, check=False)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


@pytest.mark.parametrize("env", [
    {"BITCRAPS_DATA_DIR": "~/x"}, {"STATE_DIRECTORY": "/var/lib/bitcraps:/other"},
    {"XDG_DATA_HOME": "/xdg"}, {},
])
def test_default_data_dir_matches_the_daemons(monkeypatch: pytest.MonkeyPatch,
                                              env: dict[str, str]) -> None:
    from bitcraps.node import _cookie, config

    for name in ("BITCRAPS_DATA_DIR", "STATE_DIRECTORY", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert _cookie.default_data_dir() == config.default_data_dir()
    assert _cookie.socket_path(_cookie.default_data_dir()).name == config.CONTROL_SOCKET


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    [action] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(action.choices)


def test_lean_commands_are_what_their_module_registers() -> None:
    from bitcraps.node import cli

    assert set(cli.LEAN_COMMANDS.values()) <= set(cli.COMMAND_MODULES)
    for module in set(cli.LEAN_COMMANDS.values()):
        registered = _commands(cli.build_parser([module])) - {"version"}
        assert registered == {n for n, m in cli.LEAN_COMMANDS.items() if m == module}
    assert set(cli.LEAN_COMMANDS) <= _commands(cli.build_parser())
