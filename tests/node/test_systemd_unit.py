"""The shipped unit file: `systemd-analyze verify` is silent and the sandbox scores well."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bitcraps.node.cli import EXIT_USAGE
from bitcraps.node.cmd_daemon import EXIT_CONFIG
from bitcraps.node.process_cluster import BITCRAPS, free_port

UNIT = Path(__file__).resolve().parents[2] / "bitcraps-node.service"
ANALYZE = shutil.which("systemd-analyze")

# systemd-analyze's exposure runs from 0.0 (locked down) to 10.0 (no sandbox). The unit scores
# 1.7 on systemd 252; 2.0 leaves room for scoring changes between systemd versions but fails
# when any major protection is dropped (DynamicUser, PrivateDevices, the capability set, the
# syscall filter or the address families each cost more than 0.3).
MAX_EXPOSURE = 2.0

needs_analyze = pytest.mark.skipif(
    ANALYZE is None, reason="systemd-analyze is not installed (Debian package systemd)")


def _local_copy(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this environment's `bitcraps` (verify checks that
    the binary exists; /usr/bin/env is fine but `bitcraps` is not on a clean machine's PATH)."""
    bitcraps = Path(sys.executable).with_name("bitcraps")
    assert bitcraps.exists(), bitcraps
    text = UNIT.read_text()
    text, count = re.subn(r"(?m)^ExecStart=/usr/bin/env bitcraps ",
                          f"ExecStart={bitcraps} ", text)
    assert count == 1, "ExecStart changed shape: update this test"
    copy = tmp_path / UNIT.name
    copy.write_text(text)
    return copy


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    return subprocess.run([ANALYZE, *args], capture_output=True, text=True, timeout=60,
                          check=False)


@needs_analyze
def test_unit_verifies_without_warnings(tmp_path: Path) -> None:
    result = _run("verify", str(_local_copy(tmp_path)))
    assert result.stderr == ""
    assert result.returncode == 0


def test_unit_has_the_notify_and_sandbox_settings() -> None:
    settings = [line.strip() for line in UNIT.read_text().splitlines()]
    for expected in ["Type=notify", "NotifyAccess=main", "DynamicUser=yes",
                     "StateDirectory=bitcraps", "RuntimeDirectory=bitcraps",
                     "ConfigurationDirectory=bitcraps", "NoNewPrivileges=yes",
                     "ProtectSystem=strict", "CapabilityBoundingSet=", "UMask=0077"]:
        assert expected in settings
    families = next(s for s in settings if s.startswith("RestrictAddressFamilies="))
    assert "AF_BLUETOOTH" in families.split("=", 1)[1].split()
    allowed = " ".join(s for s in settings
                       if s.startswith("SystemCallFilter=") and "~" not in s)
    for syscall in ["landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
                    "seccomp", "prctl"]:
        assert syscall in allowed.split() or f"={syscall}" in allowed


@needs_analyze
def test_unit_exposure_is_low(tmp_path: Path) -> None:
    result = _run("security", "--offline=yes", "--no-pager", str(_local_copy(tmp_path)))
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout[-2000:] + result.stderr
    assert float(match.group(1)) <= MAX_EXPOSURE, result.stdout


# --- the recipe works: first start, the comment's command, no restart loop -------------------


def _setting(name: str) -> list[str]:
    return [line.split("=", 1)[1] for line in UNIT.read_text().splitlines()
            if line.startswith(f"{name}=")]


def _resolved(text: str, root: Path) -> str:
    """The unit's specifiers as systemd resolves them for a system service, under `root`."""
    return text.replace("%E", str(root / "etc")).replace("%S", str(root / "var/lib"))


def _exec_start(root: Path) -> tuple[list[str], dict[str, str]]:
    """ExecStart's command line and the unit's Environment=, resolved under `root`."""
    [command] = _setting("ExecStart")
    argv = shlex.split(_resolved(command, root))
    assert argv[:2] == ["/usr/bin/env", "bitcraps"], argv
    env = dict(item.split("=", 1) for item in
               (_resolved(value, root) for value in _setting("Environment")))
    return [BITCRAPS, *argv[2:]], env


def _start_as_the_unit_does(root: Path) -> tuple[subprocess.Popen[bytes], socket.socket]:
    """Run ExecStart as systemd would (its StateDirectory made, NOTIFY_SOCKET set, the node
    moved off the default port so tests can run side by side); READY=1 awaited."""
    argv, unit_env = _exec_start(root)
    (root / "var/lib/bitcraps").mkdir(mode=0o700, parents=True)  # StateDirectory=
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(root / "notify"))
    notify.settimeout(0.25)
    env = {**os.environ, **unit_env, "NOTIFY_SOCKET": str(root / "notify"),
           "BITCRAPS_NETWORK__LISTEN_ADDRS": f'["/ip4/127.0.0.1/tcp/{free_port()}"]'}
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if "READY=1" in notify.recv(4096).decode().split("\n"):
                return process, notify
        except TimeoutError:
            continue
    process.kill()
    raise AssertionError(f"no READY=1: {process.communicate()[1].decode()}")


def test_the_first_start_as_a_service_works_and_its_status_command_too(
        data_dir: Path) -> None:
    """No config and no identity yet (the README's steps before `systemctl enable --now`):
    the unit's ExecStart creates the identity, runs on the defaults and says READY=1; the
    command in the unit's own comment then talks to it."""
    process, notify = _start_as_the_unit_does(data_dir)
    try:
        state = data_dir / "var/lib/bitcraps"
        assert (state / "identity.key").exists()
        [comment] = [line for line in UNIT.read_text().splitlines()
                     if line.startswith("#") and " status`" in line]
        command = re.search(r"`sudo (bitcraps [^`]*)`", comment)
        assert command, comment
        argv = shlex.split(command.group(1).replace("/var/lib/bitcraps", str(state)))
        done = subprocess.run([BITCRAPS, *argv[1:]], capture_output=True, text=True,
                              timeout=30, env={k: v for k, v in os.environ.items()
                                               if k != "BITCRAPS_DATA_DIR"})
        assert done.returncode == 0, done.stderr
        assert re.search(r"(?m)^healthy:\s+yes$", done.stdout), done.stdout
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0  # SIGTERM drains and exits 0
        notify.close()


def test_a_configuration_error_is_not_restarted_in_a_loop(data_dir: Path) -> None:
    argv, unit_env = _exec_start(data_dir)
    config = data_dir / "etc/bitcraps/node.toml"
    config.parent.mkdir(parents=True)
    config.write_text("[network]\nmdns = 'maybe'\n")
    done = subprocess.run(argv, env={**os.environ, **unit_env}, capture_output=True,
                          text=True, timeout=60)
    assert done.stderr.startswith("bitcraps: error: ") and "network.mdns" in done.stderr
    prevented = " ".join(_setting("RestartPreventExitStatus")).split()
    assert str(done.returncode) in prevented  # systemd does not restart it
    assert str(EXIT_USAGE) in prevented and EXIT_CONFIG == EXIT_USAGE
    assert _setting("Restart") == ["on-failure"]
