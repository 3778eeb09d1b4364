"""One daemon per data dir: an exclusive lock on ``<data dir>/daemon.lock``, held while it runs.

The daemon takes the lock before it touches anything else in its data dir (table databases,
charters, the control cookie), so a second daemon started on the same dir refuses at once
with one line naming the first one's pid, which the holder writes into the lock file::

    lock = lock_data_dir(config.data_dir)   # DataDirLocked if another daemon holds it
    ... run ...
    lock.release()

The lock is a POSIX record lock (``fcntl.lockf``), not ``flock``: it belongs to the process,
so the signature workers the daemon forks do not inherit it and cannot keep it alive after
the daemon is killed; the kernel drops it when the daemon's process ends, however it ends.
Record locks do not exclude a second lock taken in the same process, so this module also
remembers the dirs this process holds (two in-process nodes on one dir refuse likewise).
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
from pathlib import Path

from .disk_check import DiskUnusable

__all__ = ["LOCK_FILE", "DataDirLock", "DataDirLocked", "lock_data_dir"]

LOCK_FILE = "daemon.lock"
_MAX_PID_TEXT = 32

_held: set[Path] = set()
_held_guard = threading.Lock()


class DataDirLocked(Exception):
    """Another daemon holds this data dir; the message names its pid when it is known."""


class DataDirLock:
    """A held lock; `release()` (idempotent) gives it up."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with _held_guard:
            _held.discard(self.path)
        try:
            os.ftruncate(fd, 0)  # no stale pid left behind for the next reader
        except OSError:
            pass
        os.close(fd)  # closing drops the record lock


def lock_data_dir(data_dir: Path) -> DataDirLock:
    """Lock ``data_dir`` for this process (created, mode 0700, if missing) and write our pid.

    `DataDirLocked` when another daemon holds it; `DiskUnusable` when the dir or the lock
    file cannot be created (a read-only or full filesystem, no permission)."""
    data_dir = Path(data_dir).absolute()
    path = data_dir / LOCK_FILE
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        return _lock(data_dir, path)
    except OSError as exc:
        raise DiskUnusable(f"cannot lock the data dir {data_dir}: "
                           f"{exc.strerror or exc}") from None


def _lock(data_dir: Path, path: Path) -> DataDirLock:
    with _held_guard:
        if path in _held:
            raise DataDirLocked(f"another node in this process (pid {os.getpid()}) is running "
                                f"on the data dir {data_dir}")
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _read_pid(fd)
            os.close(fd)
            if exc.errno not in (errno.EACCES, errno.EAGAIN):
                raise
            raise DataDirLocked(_locked_message(data_dir, holder)) from None
        try:
            _write_pid(fd)
        except OSError:
            os.close(fd)
            raise
        _held.add(path)
    return DataDirLock(path, fd)


def _locked_message(data_dir: Path, holder: int | None) -> str:
    who = f"pid {holder}" if holder is not None else "a process that has not written its pid"
    return (f"another daemon ({who}) is already running on the data dir {data_dir}; "
            "stop it first (`bitcraps stop`), or give this one another data dir")


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, _MAX_PID_TEXT, 0).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() and 0 < len(text) < 12 else None


def _write_pid(fd: int) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
    os.fsync(fd)
