"""A node on a full disk refuses to start, before READY=1, with one line; it never says READY
and fails at its first write (under `Restart=on-failure`, a restart loop that looks healthy).

Real daemons on a real small filesystem: a tmpfs mounted by the test (root is needed; the test
is skipped, saying why, where mounting is not permitted)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bitcraps.node.disk_check import MIN_FREE_BYTES, free_bytes
from bitcraps.node.process_cluster import BITCRAPS, free_port

MiB = 1024 * 1024


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A 32 MiB tmpfs with 64 inodes, unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount_point = Path(tempfile.mkdtemp(prefix="bcdisk-", dir="/tmp"))
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m,nr_inodes=64,mode=0700",
                           "tmpfs", str(mount_point)], capture_output=True, text=True)
    if done.returncode != 0:
        mount_point.rmdir()
        pytest.skip(f"mount is not permitted here: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)
        shutil.rmtree(mount_point, ignore_errors=True)


def _init(data_dir: Path) -> None:
    subprocess.run([BITCRAPS, "init", "--data-dir", str(data_dir)], check=True,
                   capture_output=True)


def _fill(directory: Path, leave_bytes: int) -> None:
    """Write a ballast file until only about ``leave_bytes`` are free."""
    size = free_bytes(directory) - leave_bytes
    with open(directory / "ballast", "wb") as ballast:
        while size > 0:
            chunk = min(size, MiB)
            ballast.write(b"\0" * chunk)
            size -= chunk


def _run_daemon(data_dir: Path) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """The daemon on ``data_dir``, expected to exit; and what it sent on NOTIFY_SOCKET."""
    notify_dir = Path(tempfile.mkdtemp(prefix="bcn-", dir="/tmp"))
    notify_path = str(notify_dir / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(notify_path)
        notify.setblocking(False)
        env = {**os.environ, "NOTIFY_SOCKET": notify_path,
               "BITCRAPS_NETWORK__LISTEN_ADDRS": f'["/ip4/127.0.0.1/tcp/{free_port()}"]'}
        try:
            result = subprocess.run([BITCRAPS, "daemon", "--config", str(data_dir / "node.toml")],
                                    capture_output=True, text=True, timeout=60, env=env)
        except subprocess.TimeoutExpired:  # it started and kept running: the bug
            pytest.fail("the daemon started on a full disk")
        finally:
            shutil.rmtree(notify_dir, ignore_errors=True)
        fields: list[str] = []
        while True:
            try:
                fields.extend(notify.recv(4096).decode().split("\n"))
            except BlockingIOError:
                return result, fields


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bitcraps: error: node not started: "), \
        result.stderr
    return lines[0]


def test_a_disk_still_full_is_refused_before_ready(small_disk: Path) -> None:
    data_dir = small_disk / "node"
    _init(data_dir)
    _fill(small_disk, leave_bytes=MIN_FREE_BYTES // 4)  # room for a cookie, not for a node
    result, notified = _run_daemon(data_dir)
    assert "READY=1" not in notified  # before the fix: READY=1, then a failed write
    line = _one_line(result)
    assert "free in" in line and str(data_dir) in line


def test_no_inode_left_fails_the_test_write(small_disk: Path) -> None:
    data_dir = small_disk / "node"
    _init(data_dir)
    (data_dir / "daemon.lock").touch()  # left by an earlier run
    for i in range(1000):  # use up the inodes, leaving the blocks free
        try:
            (small_disk / f"inode-{i}").touch()
        except OSError:
            break
    result, notified = _run_daemon(data_dir)
    assert "READY=1" not in notified
    line = _one_line(result)
    assert "cannot write to" in line and "No space left on device" in line
