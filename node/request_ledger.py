"""The requests this node's clients sent to one table for the API: by request id, and by the
caller's idempotency key.

Exactly-once execution of one *signed* request is the replicas' (a client's timestamp and
the replicated client table); what a caller needs besides is to learn a request's outcome
and to retry without signing a second request. So each request the API sends gets an entry
before it leaves: its request id (16 bytes of the signed envelope's hash), the client key,
the timestamp, the signed bytes themselves while it is pending, and the caller's key if one
was given; once it ends, its outcome (executed with its result and seq, not executed with
the replicas' reason, or lost) in place of the signed bytes. A retry with the same key is
answered from the entry: the result, the same refusal, or a wait on the same outstanding
request, never a new one.

Durability (`RequestLedger.open`, a `LedgerFile`): an entry is on disk before its request
leaves, so after a restart the node resends the very same signed request (`TableClients`)
rather than sign another, and a retry after a restart still finds its key. An outcome is on
disk before its client sends anything newer (`needs_flush`), since the replicas keep the
reply to a client's latest request only. Writes are group-committed: requests sent at once
(a batch) share one fsync.

The window: an entry is kept `MAX_AGE_S` (24 hours) after its request was sent, and while
it is among the latest `MAX_ENTRIES` (10,000) of the table and their outcomes fit in
`MAX_BYTES` (16 MiB); the oldest ended entries go first. A pending entry is never forgotten
(there is at most one per client key). A key older than the window is unknown again: a
retry with it sends a new request.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack
import trio

from bitcraps.consensus import Completed, Envelope, Lapsed, NotExecuted, Request

from .request_ledger_file import LedgerFile, LedgerFileError

__all__ = ["EXECUTED", "LOST", "MAX_AGE_S", "MAX_BYTES", "MAX_ENTRIES", "NOT_EXECUTED",
           "PENDING", "KeyConflict", "KeyInUse", "LedgerEntry", "LedgerFileError",
           "RequestLedger", "describe", "request_id_of"]

PENDING, EXECUTED, NOT_EXECUTED, LOST = "pending", "executed", "not_executed", "lost"
_STATUSES = (PENDING, EXECUTED, NOT_EXECUTED, LOST)
MAX_ENTRIES = 10_000
MAX_AGE_S = 24 * 3600
MAX_BYTES = 16 << 20
REQUEST_ID_BYTES = 16
_ENTRY_VERSION = 1
_LOAD_SLACK = 1024  # rows read beyond MAX_ENTRIES at start: pending ones the bounds keep
_MAX_STORED_BYTES = 2 << 20  # one stored envelope or result (a request is under 1 MiB)

Offload = Callable[..., Awaitable[Any]]
Outcome = Completed | NotExecuted | Lapsed


class KeyConflict(Exception):
    """The idempotency key names a request with another operation."""


class KeyInUse(Exception):
    """Another call with the same idempotency key is still sending its request."""


def request_id_of(envelope: Envelope[Request]) -> bytes:
    return hashlib.sha256(envelope.wire).digest()[:REQUEST_ID_BYTES]


def wall_clock_us() -> int:
    return time.time_ns() // 1000


@dataclass(slots=True, eq=False)
class LedgerEntry:
    request_id: bytes
    client: bytes
    timestamp: int
    operation_digest: bytes
    quorum: int
    created_us: int
    key: str | None
    envelope: bytes | None  # the signed request while pending
    status: str = PENDING
    result: bytes = b""
    seq: int = 0
    reason: int = 0  # a NotExecuted refusal's code
    horizon_seq: int = 0  # a lost request's horizon

    @property
    def size(self) -> int:
        return len(self.result) + len(self.envelope or b"") + 200

    def finish(self, outcome: Outcome) -> None:
        if isinstance(outcome, Completed):
            self.status, self.result, self.seq = EXECUTED, outcome.result, outcome.seq
        elif isinstance(outcome, NotExecuted):
            self.status, self.seq, self.reason = NOT_EXECUTED, outcome.seq, outcome.reason
        else:
            self.status, self.seq = LOST, outcome.seen_seq
            self.horizon_seq = outcome.horizon_seq
        self.envelope = None

    def outcome(self) -> Outcome | None:
        """How the request ended (replies are not kept: `Completed.replies` is empty)."""
        if self.status == EXECUTED:
            return Completed(self.timestamp, self.result, 0, (), self.seq)
        if self.status == NOT_EXECUTED:
            return NotExecuted(self.timestamp, self.reason, self.seq, 0)
        if self.status == LOST:
            return Lapsed(self.timestamp, self.horizon_seq, self.seq, 0)
        return None

    def encode(self) -> bytes:
        return msgpack.packb([_ENTRY_VERSION, self.client, self.timestamp,
                              self.operation_digest, self.quorum, self.key, self.envelope,
                              self.status, self.result, self.seq, self.reason,
                              self.horizon_seq])

    @classmethod
    def decode(cls, request_id: bytes, created_us: int, data: bytes) -> LedgerEntry:
        """An entry from its stored bytes, strictly (its one encoding, each field's type and
        range); ValueError (never quoting them) if they are not one."""
        try:
            fields = msgpack.unpackb(data, raw=False, strict_map_key=True, max_array_len=12,
                                     max_map_len=0, max_str_len=1024,
                                     max_bin_len=_MAX_STORED_BYTES, max_ext_len=0)
        except Exception:  # msgpack raises several kinds for malformed input
            raise ValueError("not msgpack") from None
        if type(fields) is not list or len(fields) != 12 or fields[0] != _ENTRY_VERSION:
            raise ValueError("not a ledger entry")
        _, client, timestamp, digest, quorum, key, envelope, status, result, seq, reason, \
            horizon = fields
        if not (type(client) is bytes and len(client) == 32 and type(digest) is bytes
                and len(digest) == 32 and all(type(v) is int and v >= 0 for v in (
                    timestamp, quorum, seq, reason, horizon))
                and (key is None or type(key) is str) and type(result) is bytes
                and status in _STATUSES and (envelope is None or type(envelope) is bytes)
                and (envelope is None) == (status != PENDING)
                and len(request_id) == REQUEST_ID_BYTES):
            raise ValueError("a ledger entry's fields have the wrong types")
        entry = cls(request_id, client, timestamp, digest, quorum, created_us, key, envelope,
                    status, result, seq, reason, horizon)
        if entry.encode() != data:  # one encoding per entry, as `encode` writes it
            raise ValueError("a ledger entry not in its one encoding")
        return entry


class RequestLedger:
    """The entries of one table, in memory and (with a file) on disk; see the module doc."""

    def __init__(self, file: LedgerFile | None = None, *,
                 clock_us: Callable[[], int] = wall_clock_us, max_entries: int = MAX_ENTRIES,
                 max_age_s: float = MAX_AGE_S, max_bytes: int = MAX_BYTES) -> None:
        self.file = file
        self._clock_us = clock_us
        self._max_entries = max_entries
        self._max_age_us = int(max_age_s * 1_000_000)
        self._max_bytes = max_bytes
        self._entries: dict[bytes, LedgerEntry] = {}  # oldest first
        self._keys: dict[str, LedgerEntry] = {}
        self._claims: dict[str, trio.Event] = {}
        self._dirty: dict[bytes, LedgerEntry] = {}
        self._deleted: set[bytes] = set()
        self._writing: set[bytes] = set()  # clients whose entries a write in flight holds
        self._bytes = 0
        self._lock = trio.Lock()
        self._started = self._finished = 0
        self.damaged = 0  # stored rows skipped at start: not an entry
        self.writes = 0
        if file is not None:
            self._load(file)

    @classmethod
    def open(cls, path: Path, **kwargs: Any) -> RequestLedger:
        """The ledger in the file at `path` (created if missing). Blocking: off the loop."""
        return cls(LedgerFile(path), **kwargs)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()

    def _load(self, file: LedgerFile) -> None:
        for request_id, created_us, data in file.rows(self._max_entries + _LOAD_SLACK):
            try:
                entry = LedgerEntry.decode(request_id, created_us, data)
            except ValueError:
                self.damaged += 1
                self._deleted.add(request_id)
                continue
            self._index(entry)
        self._prune()
        file.write([], sorted(self._deleted))
        self._deleted.clear()

    # --- reading -------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def unwritten(self) -> int:
        """Entries changed since the last write (always 0 without a file)."""
        return len(self._dirty) if self.file is not None else 0

    def get(self, request_id: bytes) -> LedgerEntry | None:
        return self._entries.get(request_id)

    def by_key(self, key: str) -> LedgerEntry | None:
        return self._keys.get(key)

    def pending(self) -> list[LedgerEntry]:
        return [entry for entry in self._entries.values() if entry.status == PENDING]

    # --- idempotency keys ----------------------------------------------------------------

    async def claim(self, key: str, operation: bytes, deadline: float) -> LedgerEntry | None:
        """The entry `key` names (`KeyConflict` if for another operation), or None: then
        the caller holds the key until `release`, and sends the request. A call that finds
        the key held waits (until `deadline`: `KeyInUse`) for the holder to finish."""
        digest = hashlib.sha256(operation).digest()
        while True:
            entry = self._keys.get(key)
            if entry is not None:
                if entry.operation_digest != digest:
                    raise KeyConflict("this idempotency key was used for another operation")
                return entry
            held = self._claims.get(key)
            if held is None:
                self._claims[key] = trio.Event()
                return None
            with trio.move_on_at(deadline):
                await held.wait()
            if not held.is_set():
                raise KeyInUse("a request with this idempotency key is still being sent")

    def release(self, key: str) -> None:
        held = self._claims.pop(key, None)
        if held is not None:
            held.set()

    # --- entries -------------------------------------------------------------------------

    def add(self, envelope: Envelope[Request], quorum: int, key: str | None) -> LedgerEntry:
        """A new pending entry for a signed request (in memory: `flush` before it leaves)."""
        request = envelope.message
        entry = LedgerEntry(request_id_of(envelope), envelope.sender, request.timestamp,
                            hashlib.sha256(request.operation).digest(), quorum,
                            self._clock_us(), key, envelope.wire)
        self._index(entry)
        self._dirty[entry.request_id] = entry
        self._prune()
        return entry

    def forget(self, entry: LedgerEntry) -> None:
        """Drop an entry whose request never left (its write failed)."""
        self._unindex(entry)
        self._dirty.pop(entry.request_id, None)
        self._deleted.add(entry.request_id)

    def finish(self, request_id: bytes, outcome: Outcome) -> None:
        """Record how a request ended (in memory; `needs_flush` tells when it must be
        written)."""
        entry = self._entries.get(request_id)
        if entry is None or entry.status != PENDING:
            return
        self._bytes -= entry.size
        entry.finish(outcome)
        self._bytes += entry.size
        self._dirty[request_id] = entry

    def needs_flush(self, client: bytes) -> bool:
        """Whether an entry of `client` is not on disk yet: it must be, before the client
        sends anything newer."""
        return self.file is not None and (
            client in self._writing or any(e.client == client for e in self._dirty.values()))

    async def flush(self, offload: Offload) -> None:
        """Write every changed entry (group commit: a write in flight when this is called
        does not count, the next one does); `LedgerFileError` if it failed."""
        if self.file is None:
            self._dirty.clear()
            self._deleted.clear()
            return
        target = self._started + 1
        async with self._lock:
            if self._finished >= target:
                return
            dirty, self._dirty = self._dirty, {}
            deleted, self._deleted = self._deleted, set()
            rows = [(rid, e.created_us, e.encode()) for rid, e in dirty.items()]
            self._started += 1
            ticket = self._started
            self._writing = {e.client for e in dirty.values()}
            try:
                await offload(self.file.write, rows, sorted(deleted))
            except OSError:
                for rid, entry in dirty.items():
                    if rid in self._entries:
                        self._dirty.setdefault(rid, entry)
                self._deleted |= {rid for rid in deleted if rid not in self._entries}
                raise
            finally:
                self._writing = set()
            self._finished = ticket
            self.writes += 1

    def _index(self, entry: LedgerEntry) -> None:
        old = self._entries.pop(entry.request_id, None)
        if old is not None:
            self._unindex(old)
        self._entries[entry.request_id] = entry
        self._bytes += entry.size
        if entry.key is not None:
            self._keys[entry.key] = entry

    def _unindex(self, entry: LedgerEntry) -> None:
        if self._entries.pop(entry.request_id, None) is not None:
            self._bytes -= entry.size
        if entry.key is not None and self._keys.get(entry.key) is entry:
            del self._keys[entry.key]

    def _prune(self) -> None:
        """Forget the oldest ended entries past the window (count, bytes, age): from the
        oldest on, stopping at the first within it (pending ones are passed over)."""
        oldest = self._clock_us() - self._max_age_us
        count, size = len(self._entries), self._bytes
        doomed: list[LedgerEntry] = []
        for entry in self._entries.values():
            if (count <= self._max_entries and size <= self._max_bytes
                    and entry.created_us >= oldest):
                break
            if entry.status != PENDING:
                doomed.append(entry)
                count, size = count - 1, size - entry.size
        for entry in doomed:
            self._unindex(entry)
            self._dirty.pop(entry.request_id, None)
            self._deleted.add(entry.request_id)


def describe(entry: LedgerEntry) -> dict[str, Any]:
    """An entry for the API (the result as hex; the caller's key is not echoed)."""
    shown: dict[str, Any] = {"request_id": entry.request_id.hex(), "status": entry.status,
                             "timestamp": entry.timestamp, "client": entry.client.hex(),
                             "sent_at_us": entry.created_us,
                             "idempotency_key": entry.key}
    if entry.status == EXECUTED:
        shown.update(seq=entry.seq, result=entry.result.hex())
    elif entry.status == NOT_EXECUTED:
        shown.update(seq=entry.seq, reason_code=entry.reason)
    return shown
