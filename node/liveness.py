"""This node's own liveness, which is what the systemd watchdog reflects.

Alive means: the node's event loop turns (the watchdog task that asks is itself on it), no
durable write of a table has been in flight for longer than ``stall_s``, and the probe (a
small fsynced write in the data dir every ``probe_interval_s``, so a hung or full disk is
noticed even while no table writes) last succeeded and is not stuck either.

Never a table's progress, and never other nodes' health: a table whose fellow replicas are
all down cannot commit, yet this node is healthy, and restarting it would help nobody.

Storage writes run on worker threads: `writing()` is a context manager they enter around
each write (thread-safe). Times are `time.monotonic()`, readable from any thread.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import trio

from .disk_check import DiskUnusable, probe_write

if TYPE_CHECKING:
    from trio_typing import TaskStatus

__all__ = ["PROBE_INTERVAL_S", "STALL_S", "Liveness"]

STALL_S = 10.0
PROBE_INTERVAL_S = 5.0


class Liveness:
    """Tracks durable writes in flight and probes the data dir; `alive()` says how it went."""

    def __init__(self, data_dir: Path, *, stall_s: float = STALL_S,
                 probe_interval_s: float = PROBE_INTERVAL_S,
                 on_problem: Callable[[str], None] | None = None) -> None:
        self.data_dir = data_dir
        self.stall_s = stall_s
        self.probe_interval_s = probe_interval_s
        self._on_problem = on_problem
        self._guard = threading.Lock()
        self._in_flight: dict[int, float] = {}  # write token -> when it started
        self._tokens = itertools.count()
        self.probe_error: str | None = None

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Around one durable write, on whatever thread runs it."""
        token = next(self._tokens)
        with self._guard:
            self._in_flight[token] = time.monotonic()
        try:
            yield
        finally:
            with self._guard:
                del self._in_flight[token]

    def oldest_write_s(self) -> float:
        """How long the oldest write in flight has been waiting (0 when none is)."""
        with self._guard:
            started = min(self._in_flight.values(), default=None)
        return 0.0 if started is None else time.monotonic() - started

    def alive(self) -> bool:
        return self.probe_error is None and self.oldest_write_s() <= self.stall_s

    def problem(self) -> str | None:
        """Why the node is not alive, in words; None when it is."""
        if self.probe_error is not None:
            return self.probe_error
        waited = self.oldest_write_s()
        if waited > self.stall_s:
            return f"a durable write has been in flight for {waited:.0f} s"
        return None

    async def run(self, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Probe the data dir every `probe_interval_s`, until cancelled."""
        task_status.started()
        while True:
            try:
                with self.writing():  # a hung disk must not hold up the node's shutdown
                    await trio.to_thread.run_sync(  # type: ignore[call-arg]  # (old stubs)
                        probe_write, self.data_dir, abandon_on_cancel=True)
            except DiskUnusable as exc:
                if self.probe_error is None and self._on_problem is not None:
                    self._on_problem(str(exc))
                self.probe_error = str(exc)
            else:
                self.probe_error = None
            await trio.sleep(self.probe_interval_s)
