"""`bitcraps daemon` meets bad input: one clear line on stderr, a non-zero exit, no traceback."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from bitcraps.node.process_cluster import BITCRAPS


def run_daemon(config: Path,
               env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([BITCRAPS, "daemon", "--config", str(config)], capture_output=True,
                          text=True, timeout=60, env=env)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bitcraps: error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def init(tmp_path: Path) -> Path:
    data_dir = tmp_path / "node"
    subprocess.run([BITCRAPS, "init", "--data-dir", str(data_dir)], check=True,
                   capture_output=True)
    return data_dir


def test_missing_config_names_the_path_and_the_fix(tmp_path: Path) -> None:
    assert_one_line_error(run_daemon(tmp_path / "nope.toml"), "nope.toml", "bitcraps init")


def test_corrupt_config_names_the_line(tmp_path: Path) -> None:
    data_dir = init(tmp_path)
    config = data_dir / "node.toml"
    text = re.sub(r"^#? ?tick_ms = .*$", 'tick_ms = "x"', config.read_text(), count=1,
                  flags=re.MULTILINE)
    config.write_text(text)
    result = run_daemon(config)
    assert_one_line_error(result, "node.toml line", "consensus.tick_ms", "integer")


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    data_dir = init(tmp_path)
    config = data_dir / "node.toml"
    config.write_text(config.read_text().replace("[api]\n", "[api]\ntcp_prot = 1\n", 1))
    assert_one_line_error(run_daemon(config), "api.tcp_prot", "unknown key")


def test_bad_environment_override_is_named(tmp_path: Path) -> None:
    data_dir = init(tmp_path)
    result = run_daemon(data_dir / "node.toml", {"BITCRAPS_API__TCP_PORT": "many"})
    assert_one_line_error(result, "BITCRAPS_API__TCP_PORT")


def test_exposed_or_missing_identity_is_refused(tmp_path: Path) -> None:
    data_dir = init(tmp_path)
    key = data_dir / "identity.key"
    key.chmod(0o644)
    assert_one_line_error(run_daemon(data_dir / "node.toml"), "chmod 600")
    key.unlink()
    assert_one_line_error(run_daemon(data_dir / "node.toml"), "identity")
