"""`bitcraps init`: data dir 0700, identity 0600, a commented node.toml; never overwrites a key."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bitcraps.node import cli
from bitcraps.node._node_toml import TEMPLATE
from bitcraps.node.cmd_init import render_config
from bitcraps.node.config import load_config
from bitcraps.node.identity import load_identity


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _printed(out: str) -> dict[str, str]:
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines())}


def test_init_creates_the_data_dir_identity_and_config(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = tmp_path / "a" / "node"
    assert cli.main(["init", "--data-dir", str(data_dir)]) == 0
    printed = _printed(capsys.readouterr().out)
    identity = load_identity(data_dir / "identity.key")
    assert printed["node id"] == identity.node_id
    assert printed["data dir"] == str(data_dir)
    assert printed["config"] == f"{data_dir / 'node.toml'} (written)"
    assert _mode(data_dir) == 0o700 and _mode(data_dir / "identity.key") == 0o600
    text = (data_dir / "node.toml").read_text()
    assert f'\ndata_dir = "{data_dir}"\n' in text
    assert text == render_config(data_dir) and text.count("\n") == TEMPLATE.count("\n")
    config = load_config(data_dir / "node.toml", env={})
    assert config.data_dir == data_dir and config.identity_path == data_dir / "identity.key"


def test_init_refuses_to_overwrite_an_identity(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["init", "--data-dir", str(tmp_path)]) == 0
    key = (tmp_path / "identity.key").read_bytes()
    config = (tmp_path / "node.toml").read_text()
    capsys.readouterr()
    for extra in ([], ["--force-config"]):
        assert cli.main(["init", "--data-dir", str(tmp_path), *extra]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.count("\n") == 1
        assert captured.err.startswith("bitcraps: error: an identity already exists at ")
        assert "refusing to overwrite" in captured.err
    assert (tmp_path / "identity.key").read_bytes() == key
    assert (tmp_path / "node.toml").read_text() == config


def test_an_existing_config_is_kept_unless_forced(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "node.toml").write_text('[node]\nlog_level = "debug"\n')
    assert cli.main(["init", "--data-dir", str(tmp_path / "a")]) == 0
    assert "kept" in capsys.readouterr().out
    assert (tmp_path / "a" / "node.toml").read_text() == '[node]\nlog_level = "debug"\n'

    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "node.toml").write_text("old")
    assert cli.main(["init", "--data-dir", str(tmp_path / "b"), "--force-config"]) == 0
    assert (tmp_path / "b" / "node.toml").read_text() == render_config(tmp_path / "b")


def test_an_invalid_kept_config_is_reported(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "node.toml").write_text("[api]\ntcp_port = 'x'\n")
    assert cli.main(["init", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "node.toml line 2: api.tcp_port" in err and err.count("\n") == 1


def test_the_default_data_dir_comes_from_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BITCRAPS_DATA_DIR", str(tmp_path / "env-dir"))
    assert cli.main(["init"]) == 0
    assert (tmp_path / "env-dir" / "identity.key").exists()
    assert _printed(capsys.readouterr().out)["data dir"] == str(tmp_path / "env-dir")


def test_a_data_dir_that_is_a_file_is_a_clear_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("x")
    assert cli.main(["init", "--data-dir", str(tmp_path / "file")]) == 2
    assert "bitcraps: error: cannot create the data dir" in capsys.readouterr().err


@pytest.mark.parametrize("name", ['we"ird\\dir', "dés ü", "sp ace"])
def test_odd_paths_round_trip_through_node_toml(tmp_path: Path, name: str) -> None:
    data_dir = tmp_path / name
    data_dir.mkdir()
    (data_dir / "node.toml").write_text(render_config(data_dir), encoding="utf-8")
    assert load_config(data_dir / "node.toml", env={}).data_dir == data_dir


def test_the_installed_command(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("bitcraps")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "bitcraps.node.cli"]
    first = subprocess.run([*command, "init", "--data-dir", str(tmp_path)],
                           capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert load_identity(tmp_path / "identity.key").node_id in first.stdout
    again = subprocess.run([*command, "init", "--data-dir", str(tmp_path)],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and again.stdout == ""
    assert again.stderr.startswith("bitcraps: error: an identity already exists")
    assert "Traceback" not in again.stderr


def test_init_prints_the_peer_id_and_the_bootstrap_address_other_nodes_need(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bitcraps.node.config import DEFAULT_LISTEN_PORT, NetworkSection
    from bitcraps.node.daemon import public_key_for_multiaddr
    from bitcraps.transports.libp2p_transport import peer_id_for

    assert cli.main(["init", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    identity = load_identity(tmp_path / "identity.key")
    printed = _printed(out)
    assert printed["peer id"] == peer_id_for(identity.public_key)
    bootstrap = printed["bootstrap"]
    assert bootstrap == (f"/ip4/127.0.0.1/tcp/{DEFAULT_LISTEN_PORT}/p2p/"
                         f"{printed['peer id']}")
    # What another node puts in its network.bootstrap, and it names this node's key.
    assert NetworkSection(bootstrap=(bootstrap,)).bootstrap == (bootstrap,)
    assert public_key_for_multiaddr(bootstrap) == identity.public_key
