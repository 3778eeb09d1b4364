"""Supervision of one hosted table: whatever its tasks raise stays inside that table.

A table's work runs as parts (its replica's shell, its game host) in one nursery of the
table's own, never directly in the node's: an exception from one table's work is that
table's fault. It is contained (the node and its other tables never see it), counted (by
part and outcome, in the node's metrics and the table listing) and logged once: the first
time a part fails with a given exception type, with where it was raised; repeats are only
counted. What happens next depends on what was raised:

- `LocalProtocolError` from the consensus core is our own bug, found by the replica itself
  (an application that raised something other than its typed error is one): the replica
  may be half-updated and refuses every later input, so the table stops. Its parts are
  cancelled, and the table is listed as failed with the reason, until the node restarts.
- anything else (a storage error, a bug in the shell or the game host) restarts that part
  after a delay that doubles with each failure in a row (`RESTART_DELAY_S` up to
  `MAX_RESTART_DELAY_S`) and starts again from the first once a part ran that long. What
  the replica already persisted or executed is kept: the part resumes where it stopped.

Only cancellation (the node draining), interpreter exits (KeyboardInterrupt, SystemExit) and
the node-wide failures the node names in `escalate` (its storage failing: the disk is every
table's, and the node stops cleanly rather than run tables it cannot persist) leave a table's
nursery.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

import trio

from bitcraps.consensus import LocalProtocolError

if TYPE_CHECKING:
    from trio_typing import TaskStatus

__all__ = ["MAX_RESTART_DELAY_S", "RESTART_DELAY_S", "Part", "TableSupervisor"]

RESTART_DELAY_S = 1.0
MAX_RESTART_DELAY_S = 60.0
MAX_REASON_CHARS = 300

Part = Callable[..., Awaitable[None]]
"""A table's task: `await part(task_status=...)` reports started, then runs until cancelled."""


class FaultCounter(Protocol):
    def __call__(self, part: str, outcome: str) -> None: ...


class _Status:
    """Passes `started()` on to the opener, once, and remembers whether it was called."""

    def __init__(self, status: TaskStatus[None]) -> None:
        self._status = status
        self.started_once = False

    def started(self, value: None = None) -> None:
        if not self.started_once:
            self.started_once = True
            self._status.started()


class TableSupervisor:
    def __init__(self, log: Any, count: FaultCounter | None = None, *,
                 restart_delay_s: float = RESTART_DELAY_S,
                 max_restart_delay_s: float = MAX_RESTART_DELAY_S,
                 escalate: tuple[type[Exception], ...] = ()) -> None:
        self._log = log
        self._escalate = escalate
        self._count = count
        self._restart_delay_s = restart_delay_s
        self._max_restart_delay_s = max_restart_delay_s
        self._nursery: trio.Nursery | None = None
        self._logged: set[tuple[str, str]] = set()
        self.failure: str | None = None
        self.stopped = trio.Event()
        """Set once the table stopped for good (`failure` says why)."""
        self.faults: dict[str, int] = {}
        """Failures so far, by part."""
        self.restarts = 0

    @property
    def failed(self) -> bool:
        return self.failure is not None

    async def run(self, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """The table's nursery: start it in the node's; it ends when the table stops."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            task_status.started()
            await trio.sleep_forever()

    async def start(self, name: str, part: Part) -> None:
        """Run `part` under supervision; returns once it reported started (or first failed)."""
        if self._nursery is None:
            raise RuntimeError("start the supervisor's run() in a nursery first")
        if self.failed:
            return
        await self._nursery.start(self._keep, name, part)

    def stop(self, reason: str) -> None:
        """Stop the table for good: its parts are cancelled and it is listed as failed."""
        if self.failure is None:
            self.failure = reason[:MAX_REASON_CHARS]
        self.stopped.set()
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()

    async def _keep(self, name: str, part: Part, *,
                    task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        status = _Status(task_status)
        delay = self._restart_delay_s
        while True:
            began = trio.current_time()
            try:
                await part(task_status=status)
                return  # a part that ends on its own has nothing left to do
            except BaseException as exc:  # sorted: a table's faults stay here, the rest goes on
                faults, passing = _sort(exc, self._escalate)
                if faults and not status.started_once:
                    status.started()
                stopped = bool(faults) and self._fault(name, faults)
                if passing is not None:
                    raise passing from None
                if stopped:
                    return
            if trio.current_time() - began >= self._max_restart_delay_s:
                delay = self._restart_delay_s
            await trio.sleep(delay)
            delay = min(2 * delay, self._max_restart_delay_s)
            self.restarts += 1

    def _fault(self, name: str, faults: list[Exception]) -> bool:
        """Count and log one failure of part `name`; True when it stopped the table."""
        self.faults[name] = self.faults.get(name, 0) + 1
        bug = next((f for f in faults if isinstance(f, LocalProtocolError)), None)
        first = bug if bug is not None else faults[0]
        if bug is not None:
            reason = f"{name}: {_describe(bug)}"
            self.stop(reason)
            self._log.error("table stopped: our own bug (LocalProtocolError)", part=name,
                            reason=reason, where=_where(bug))
        if self._count is not None:
            self._count(name, "stopped" if bug is not None else "restarted")
        if bug is not None:
            return True
        key = (name, type(first).__name__)
        if key not in self._logged:
            self._logged.add(key)
            self._log.error("table task failed; restarting it", part=name,
                            error=_describe(first), where=_where(first))
        return False


def _sort(exc: BaseException, escalate: tuple[type[Exception], ...] = (),
          ) -> tuple[list[Exception], BaseException | None]:
    """The exceptions in `exc` that are the table's fault, and what must propagate anyway
    (cancellation, KeyboardInterrupt, SystemExit, the `escalate` types; alone or in a group),
    if anything."""
    def propagates(e: BaseException) -> bool:
        return not isinstance(e, Exception) or isinstance(e, escalate)

    if not isinstance(exc, BaseExceptionGroup):
        if isinstance(exc, Exception) and not isinstance(exc, escalate):
            return [exc], None
        return [], exc
    passing, faults = exc.split(propagates)
    leaves: list[Exception] = []
    stack: list[BaseException] = [faults] if faults is not None else []
    while stack:
        item = stack.pop()
        if isinstance(item, BaseExceptionGroup):
            stack.extend(item.exceptions)
        elif isinstance(item, Exception):
            leaves.append(item)
    return leaves, passing


def _describe(exc: BaseException) -> str:
    """`Type: message`, safe for any exception (`str` of one holding an untrusted value may
    itself raise: a KeyError's key is `repr`-ed)."""
    try:
        text = str(exc)
    except Exception:  # an unprintable message: the type still says what happened
        text = "(message not printable)"
    return f"{type(exc).__name__}: {text}"[:MAX_REASON_CHARS]


def _where(exc: BaseException) -> str:
    """The innermost frame the exception passed through: `file:line in function`."""
    tb = exc.__traceback__
    if tb is None:
        return "unknown"
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code
    return f"{code.co_filename}:{tb.tb_lineno} in {code.co_name}"
