"""Where a table's request ledger lives on disk: one SQLite file, ``tables/<id>.requests``.

One row per request the API sent (see `request_ledger`): its 16-byte request id, when it was
sent (wall clock, microseconds: the order rows load in and expire by) and the entry itself,
msgpack (`LedgerEntry.encode`). WAL journal, ``synchronous=FULL``: `write` commits (and so
fsyncs) one transaction before it returns, so a request's entry is on disk before the
request leaves, and a crash leaves whole writes only.

The rows are read as untrusted input (the file may be damaged or forged): at most `limit`
rows, newest first, each decoded strictly; a row that does not decode is skipped and counted
(`damaged`), never quoted. Every failure is a `LedgerFileError` (an `OSError`), one line
naming the file.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

__all__ = ["APPLICATION_ID", "LedgerFile", "LedgerFileError", "SCHEMA_VERSION", "ledger_path"]

SCHEMA_VERSION = 1
APPLICATION_ID = 0x42435251  # "BCRQ"
_BUSY_TIMEOUT_S = 10.0
_SCHEMA = """
CREATE TABLE requests (
    request_id BLOB PRIMARY KEY,
    created_us INTEGER NOT NULL,
    data       BLOB NOT NULL
);
CREATE INDEX requests_created ON requests(created_us);
"""

Row = tuple[bytes, int, bytes]
"""(request id, created_us, encoded entry)"""


class LedgerFileError(OSError):
    """The ledger file cannot be opened, read or written; the message names the file."""


def ledger_path(table_db: Path) -> Path:
    """The ledger next to a table's database: ``<id>.sqlite`` -> ``<id>.requests``."""
    return table_db.with_suffix(".requests")


class LedgerFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                         timeout=_BUSY_TIMEOUT_S)
        except sqlite3.Error as exc:
            raise self._error("open", exc) from None
        try:
            self._setup()
        except sqlite3.Error as exc:
            self._conn.close()
            raise self._error("open", exc) from None
        except LedgerFileError:
            self._conn.close()
            raise
        _sync_directory(path)

    def _setup(self) -> None:
        conn = self._conn
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        application = conn.execute("PRAGMA application_id").fetchone()[0]
        if version == 0 and application == 0:
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if tables:
                raise LedgerFileError(f"{self.path} is not a request ledger")
            conn.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} "
                               f"PRAGMA application_id = {APPLICATION_ID}; "
                               f"PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")
        elif application != APPLICATION_ID or version != SCHEMA_VERSION:
            raise LedgerFileError(f"{self.path} is not a request ledger of this version")

    def _error(self, what: str, exc: sqlite3.Error) -> LedgerFileError:
        return LedgerFileError(f"cannot {what} the request ledger {self.path}: "
                               f"{type(exc).__name__}")

    def rows(self, limit: int) -> list[Row]:
        """At most `limit` rows, the newest, oldest first; rows of the wrong types skipped."""
        with self._lock:
            try:
                found = self._conn.execute(
                    "SELECT request_id, created_us, data FROM requests "
                    "ORDER BY created_us DESC LIMIT ?", (limit,)).fetchall()
            except sqlite3.Error as exc:
                raise self._error("read", exc) from None
        return [(rid, created, data) for rid, created, data in reversed(found)
                if type(rid) is bytes and type(created) is int and type(data) is bytes]

    def write(self, rows: Sequence[Row], deletes: Sequence[bytes]) -> None:
        """Delete, then insert or replace, in one transaction, durable when this returns."""
        if not rows and not deletes:
            return
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany("DELETE FROM requests WHERE request_id = ?",
                                 [(rid,) for rid in deletes])
                conn.executemany("INSERT OR REPLACE INTO requests (request_id, created_us, "
                                 "data) VALUES (?, ?, ?)", rows)
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                raise self._error("write", exc) from None

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _sync_directory(path: Path) -> None:
    """A new database file must survive a power cut: sync its directory."""
    try:
        fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise LedgerFileError(f"cannot sync the directory of {path}: "
                              f"{exc.strerror or exc}") from None
