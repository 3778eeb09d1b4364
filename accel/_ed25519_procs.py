"""Ed25519 verification in worker processes: the CPU twin's verdicts, without sharing a GIL.

`CpuBatchVerifier`'s threads run libsodium without the GIL, but take the GIL back after
every signature. While the caller's thread runs Python (a replica stepping, a decoder),
each of those hand-backs waits up to `sys.getswitchinterval()` (5 ms): measured on two
cores, a pool that verifies 37,000 signatures/s alone verifies about 740/s next to a busy
interpreter. Worker processes have interpreters of their own, so verification overlaps
the caller's Python at full speed. Each batch is split across the workers; the verdicts
are `verify_one`'s, in order.

Only the calling threads talk to the workers (no helper threads), so nothing here competes
for the callers' GIL. Safe to call from several threads at once (the node's tables verify
through one verifier on a `CapacityLimiter(2)`): each worker's pipe has a send lock, held
while one batch is written and its ticket taken, so tickets follow the order of the batches
on the pipe; and a read lock, held while verdicts are read in that same order. A thread
that waits for its ticket reads whatever verdicts come first and files them under their
own tickets for the threads they belong to. Both threads' batches stay in flight at once.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import select
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection

from ._ed25519_cpu import MIN_CHUNK, SignatureCheck, verify_one

__all__ = ["PendingVerdicts", "ProcessBatchVerifier"]


def _serve(conn: Connection, inherited_fds: list[int], niceness: int) -> None:
    """A worker: batches of checks in, one byte per verdict out, until the pipe closes."""
    if niceness:
        try:
            os.nice(niceness)
        except OSError:
            pass
    for fd in inherited_fds:  # a forked worker holds the parent's ends: it would never see EOF
        try:
            os.close(fd)
        except OSError:
            pass
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        if not data:
            return
        checks: list[SignatureCheck] = pickle.loads(data)
        conn.send_bytes(bytes(verify_one(pk, msg, sig) for pk, msg, sig in checks))


class _Worker:
    conn: Connection

    def __init__(self, context: multiprocessing.context.BaseContext, forked: bool,
                 others: list[_Worker], niceness: int) -> None:
        parent, child = multiprocessing.Pipe(duplex=True)
        inherited = [parent.fileno(), *(w.conn.fileno() for w in others)] if forked else []
        self.process = context.Process(  # type: ignore[attr-defined]
            target=_serve, args=(child, inherited, niceness), daemon=True,
            name="ed25519-verify")
        self.process.start()
        child.close()
        self.conn = parent
        # One poll object per worker: Connection.poll() builds a selector on every call.
        self._poller = select.poll()
        self._poller.register(parent.fileno(), select.POLLIN)
        self._send_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self.sent = 0
        self.received = 0
        self.results: dict[int, bytes] = {}

    def send(self, checks: Sequence[SignatureCheck]) -> int:
        data = pickle.dumps(list(checks), protocol=pickle.HIGHEST_PROTOCOL)
        with self._send_lock:
            self.conn.send_bytes(data)
            self.sent += 1
            return self.sent - 1

    def outstanding(self) -> int:
        return self.sent - self.received  # a hint for choosing a worker: no lock needed

    def take_ready(self) -> None:
        """Read every verdict already back, so a worker never blocks on a full pipe. When
        another thread is reading, it is draining the pipe already: nothing to do."""
        if not self._read_lock.acquire(blocking=False):
            return
        try:
            while self.received < self.sent and self._poller.poll(0):
                self._read_one()
        finally:
            self._read_lock.release()

    def _read_one(self) -> None:
        """The next verdicts on the pipe, filed under their ticket; hold the read lock."""
        try:
            data = self.conn.recv_bytes()
        except (EOFError, OSError) as exc:
            code = self.process.exitcode
            raise RuntimeError(f"a signature verification worker died (exit code {code})") from exc
        self.results[self.received] = data
        self.received += 1

    def ready(self, ticket: int) -> bool:
        self.take_ready()
        return ticket < self.received

    def result(self, ticket: int) -> bytes:
        with self._read_lock:
            while self.received <= ticket:
                self._read_one()
            return self.results.pop(ticket)


class PendingVerdicts:
    """A batch in flight: `result()` waits for its verdicts, in the batch's order."""

    def __init__(self, parts: list[tuple[_Worker, int]]) -> None:
        self._parts = parts
        self._verdicts: list[bool] | None = None if parts else []

    def done(self) -> bool:
        return self._verdicts is not None or all(w.ready(t) for w, t in self._parts)

    def result(self) -> list[bool]:
        if self._verdicts is None:
            verdicts: list[bool] = []
            for worker, ticket in self._parts:
                verdicts.extend(byte == 1 for byte in worker.result(ticket))
            self._verdicts = verdicts
        return self._verdicts


class ProcessBatchVerifier:
    """Verifies batches on worker processes; `submit` returns at once, `__call__` waits."""

    def __init__(self, processes: int | None = None, *, niceness: int = 10) -> None:
        """`niceness` lowers the workers' priority below the caller's: the caller's thread
        (stepping replicas, decoding) cannot be spread over cores, verification can, so the
        workers take whatever CPU the caller leaves (measured: +8-14% on two cores)."""
        self.threads = processes or max(1, os.cpu_count() or 1)
        # Forking is fast and needs no importable __main__, but is only safe while this
        # process has no other thread (one could hold a lock the child would inherit).
        fork = threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if fork else "spawn")
        self._workers: list[_Worker] = []
        for _ in range(self.threads):
            self._workers.append(_Worker(context, fork, self._workers, niceness))

    def __call__(self, checks: Sequence[SignatureCheck]) -> list[bool]:
        return self.submit(checks).result()

    def submit(self, checks: Sequence[SignatureCheck]) -> PendingVerdicts:
        workers = self._workers
        for worker in workers:
            worker.take_ready()
        if not checks:
            return PendingVerdicts([])
        if len(checks) < 2 * MIN_CHUNK:
            worker = min(workers, key=_Worker.outstanding)
            return PendingVerdicts([(worker, worker.send(checks))])
        size = -(-len(checks) // len(workers))
        parts = []
        for worker, start in zip(workers, range(0, len(checks), size), strict=False):
            parts.append((worker, worker.send(checks[start:start + size])))
        return PendingVerdicts(parts)

    @property
    def pids(self) -> list[int]:
        """The worker processes, for a caller that accounts for their CPU time."""
        return [worker.process.pid for worker in self._workers if worker.process.pid]

    def close(self) -> None:
        for worker in self._workers:
            try:
                worker.conn.send_bytes(b"")  # the end-of-work message
            except OSError:
                pass
            worker.conn.close()
        for worker in self._workers:
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.kill()
        self._workers = []
