"""What an operator types first: `--version`, the data dir before the command, and the one
warning a node with mDNS and hosting on gives without the operator's say-so."""

from __future__ import annotations

import io
import json
from importlib import metadata
from pathlib import Path

import pytest

from bitcraps.node import cli
from bitcraps.node.cmd_daemon import _log_start_notes
from bitcraps.node.config import parse_config
from bitcraps.node.logs import configure_logging


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out == f"bitcraps {metadata.version('bitcraps')}\n"


@pytest.mark.parametrize("argv", [
    ["--data-dir", "{dir}", "status"],
    ["status", "--data-dir", "{dir}"],
    ["--data-dir", "{dir}", "peers", "connect", "/ip4/127.0.0.1/tcp/1/p2p/x"],
    ["peers", "--data-dir", "{dir}", "connect", "/ip4/127.0.0.1/tcp/1/p2p/x"],
    ["peers", "connect", "/ip4/127.0.0.1/tcp/1/p2p/x", "--data-dir", "{dir}"],
])
def test_the_data_dir_may_come_before_or_after_the_command(
        data_dir: Path, argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """`bitcraps --data-dir /var/lib/bitcraps status` (the unit's comment) asks that node."""
    assert cli.main([arg.replace("{dir}", str(data_dir)) for arg in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bitcraps: error: no bitcraps daemon is running at "
                          f"{data_dir / 'control.sock'}"), err


def _start_notes(text: str) -> list[dict[str, str]]:
    config = parse_config(text, env={"BITCRAPS_DATA_DIR": "/nonexistent"})
    out = io.StringIO()
    configure_logging("info", "n", stream=out)
    _log_start_notes(config, Path(__file__), created=False)  # an existing path: no config note
    return [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.mark.parametrize(("text", "warned"), [
    ("[network]\nmdns = true\n", True),
    ("[network]\nmdns = true\nmdns_hosting = true\n", False),  # the operator's choice
    ("[network]\nmdns = true\n[node]\nhost_tables = false\n", False),
    ("[network]\nmdns = true\n[node]\nhost_allowlist = ['" + "ab" * 32 + "']\n", False),
    ("[network]\nmdns = false\n", False),
])
def test_mdns_with_open_hosting_is_warned_about_unless_chosen(text: str, warned: bool) -> None:
    warnings = [line for line in _start_notes(text) if line["level"] == "warning"]
    assert bool(warnings) is warned
    if warned:
        assert "enlist it as a replica" in warnings[0]["event"]
