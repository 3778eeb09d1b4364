"""Can this node write to its data dir? Checked before the daemon says READY, and again and
again by its liveness probe.

`check_data_dir(data_dir)` refuses (`DiskUnusable`, one line naming the dir) when the
filesystem has less than `MIN_FREE_BYTES` free for this user, or when a test write of
`PROBE_BYTES` cannot be written and fsynced (a full disk, a read-only mount, a dir the
user may not write). A node on a full disk then stops before it reports ready, instead of
saying READY=1 and failing at its first durable write (a restart loop that looks healthy).

`probe_write(data_dir)` is the small fsynced write alone, for the liveness loop.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["MIN_FREE_BYTES", "PROBE_BYTES", "PROBE_FILE", "DiskUnusable", "check_data_dir",
           "free_bytes", "probe_write"]

MIN_FREE_BYTES = 16 * 1024 * 1024
PROBE_BYTES = 64 * 1024
PROBE_FILE = ".write-probe"


class DiskUnusable(Exception):
    """The data dir's filesystem is full, read-only or not writable by this node."""


def free_bytes(data_dir: Path) -> int:
    """Bytes this (unprivileged) user may still write on the data dir's filesystem."""
    stats = os.statvfs(data_dir)
    return stats.f_bavail * stats.f_frsize


def check_data_dir(data_dir: Path, min_free_bytes: int = MIN_FREE_BYTES) -> None:
    """`DiskUnusable` unless ``data_dir`` has room and takes an fsynced test write."""
    try:
        free = free_bytes(data_dir)
    except OSError as exc:
        raise DiskUnusable(f"cannot check free space in {data_dir}: "
                           f"{exc.strerror or exc}") from None
    if free < min_free_bytes:
        raise DiskUnusable(f"only {_mib(free)} free in {data_dir} (the node needs at least "
                           f"{_mib(min_free_bytes)}): free some space and start it again")
    probe_write(data_dir, PROBE_BYTES)


def probe_write(data_dir: Path, size: int = 512) -> None:
    """Write ``size`` bytes to a probe file in ``data_dir``, fsync it and remove it;
    `DiskUnusable` naming the dir and the reason when that fails."""
    path = data_dir / PROBE_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            view = memoryview(b"\0" * size)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
            path.unlink(missing_ok=True)
    except OSError as exc:
        raise DiskUnusable(f"cannot write to {data_dir}: {exc.strerror or exc}") from None


def _mib(count: int) -> str:
    return f"{count / (1024 * 1024):.1f} MiB"
