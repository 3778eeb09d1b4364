"""SQLite storage for one replica's durable log: the rules of `consensus.DurableLog`, on disk.

One database file holds one table replica's records (see ``table_db_path``). The rules are
exactly ``DurableLog``'s:

- ``write(records)`` stores each record under its key, replacing any record with the same key;
  a replaced record moves to the end of the write order;
- a ``StableCheckpoint`` at seq s, when it is written, deletes every record tied to a seq at or
  below s (``record_seq``); records later in the same batch are kept;
- ``records()`` returns what is stored, in write order.

Durability: WAL journal, ``synchronous=FULL``, one transaction per ``write()`` call, committed
(and so fsynced) before ``write`` returns. A process killed at any moment leaves a prefix of
complete ``write`` batches, never part of one. ``sync=False`` is accepted for the ``DurableLog``
interface and is counted, but the commit is as durable as with ``sync=True``.

Threads: the store owns one connection (``check_same_thread=False``) and serialises every method
on a lock, so it may be called from any thread, one call at a time, e.g. from trio through
``trio.to_thread.run_sync(storage.write, records)``. Calls from several threads at once wait
for each other; they never share the connection concurrently.

Errors: every failure is a ``StorageError`` with a one-line message naming the file. A full disk
(SQLite's SQLITE_FULL) is ``StorageFullError``: the transaction is rolled back, what was
committed before stays intact, and the daemon should stop cleanly.

Schema (``PRAGMA user_version`` = ``SCHEMA_VERSION``, ``PRAGMA application_id`` =
``APPLICATION_ID``)::

    records(key BLOB PRIMARY KEY,   -- msgpack of the record's key tuple
            ord INTEGER UNIQUE,     -- write order, grows with every stored record
            seq INTEGER NULL,       -- record_seq(record) - 2**63 (fits SQLite's int64), or NULL
            data BLOB)              -- encode_record(record)
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgpack

from bitcraps.consensus import (
    DecodeError,
    Record,
    StableCheckpoint,
    decode_record,
    encode_record,
)
from bitcraps.consensus._durable import record_seq

__all__ = [
    "APPLICATION_ID",
    "SCHEMA_VERSION",
    "SqliteStorage",
    "StorageError",
    "StorageFullError",
    "table_db_path",
]

SCHEMA_VERSION = 1
APPLICATION_ID = 0x42435250  # "BCRP"
_SEQ_OFFSET = 1 << 63  # seqs are u64; SQLite integers are i64: store seq - 2**63 (order kept)
_SQLITE_FULL = 13
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26
_BUSY_TIMEOUT_MS = 10_000

_SCHEMA = """
CREATE TABLE records (
    key  BLOB PRIMARY KEY,
    ord  INTEGER NOT NULL UNIQUE,
    seq  INTEGER,
    data BLOB NOT NULL
);
CREATE INDEX records_seq ON records(seq) WHERE seq IS NOT NULL;
"""


class StorageError(Exception):
    """The database cannot be opened, read or written; the message names the file."""


class StorageFullError(StorageError):
    """The disk (or the database's size limit) is full; nothing of the failed write was kept."""


def table_db_path(data_dir: Path | str, table_id: bytes) -> Path:
    """Where a node keeps a table replica's database: ``<data_dir>/tables/<hex id>.sqlite``."""
    return Path(data_dir) / "tables" / f"{table_id.hex()}.sqlite"


class SqliteStorage:
    """A durable log in one SQLite file; see the module docstring for the rules."""

    def __init__(self, path: Path | str, max_bytes: int | None = None) -> None:
        """Open the store at ``path``, creating it (and missing parent directories, mode 0700)
        if needed. ``max_bytes`` caps the database file's size: a write that would grow it
        past the cap fails with StorageFullError."""
        self.path = Path(path)
        self.writes = 0
        self.syncs = 0
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create the directory of {self.path}: "
                               f"{exc.strerror or exc}") from None
        try:
            self._conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False,
                timeout=_BUSY_TIMEOUT_MS / 1000,
            )
            self._setup(self._conn)
            if max_bytes is not None:
                page_size = self._conn.execute("PRAGMA page_size").fetchone()[0]
                pages = max(1, max_bytes // page_size)
                self._conn.execute(f"PRAGMA max_page_count = {int(pages)}")
        except sqlite3.Error as exc:
            self._close_quietly()
            raise self._error("open", exc) from None
        except StorageError:
            self._close_quietly()
            raise
        self._next_ord = self._query_next_ord()
        try:  # a new database file (and its WAL) must survive a power cut: sync the directory
            fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            self._close_quietly()
            raise StorageError(f"cannot sync the directory of {self.path}: "
                               f"{exc.strerror or exc}") from None

    # --- the DurableLog interface ------------------------------------------------------------

    def write(self, records: Iterable[Record], sync: bool = True) -> None:
        """Store ``records`` in one transaction, committed durably before returning."""
        rows = [(record, encode_record(record)) for record in records]
        with self._lock:
            conn = self._connection()
            if rows:
                next_ord = self._next_ord
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    for record, data in rows:
                        seq = record_seq(record)
                        conn.execute(
                            "INSERT OR REPLACE INTO records (key, ord, seq, data) "
                            "VALUES (?, ?, ?, ?)",
                            (_key_bytes(record.key), next_ord,
                             None if seq is None else seq - _SEQ_OFFSET, data),
                        )
                        next_ord += 1
                        if isinstance(record, StableCheckpoint):
                            conn.execute(
                                "DELETE FROM records WHERE seq IS NOT NULL AND seq <= ?",
                                (record.seq - _SEQ_OFFSET,),
                            )
                    conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    self._rollback_quietly(conn)
                    raise self._error("write to", exc) from None
                self._next_ord = next_ord
            self.writes += 1
            self.syncs += int(sync)

    def records(self) -> list[Record]:
        """Every stored record, in write order; StorageError if one is damaged."""
        with self._lock:
            conn = self._connection()
            try:
                rows = conn.execute("SELECT ord, key, data FROM records ORDER BY ord").fetchall()
            except sqlite3.Error as exc:
                raise self._error("read", exc) from None
        return [self._decode_row(ord_, key, data) for ord_, key, data in rows]

    def _decode_row(self, ord_: object, key: object, data: object) -> Record:
        """A stored row back to its record, as strictly as the wire decodes: the one
        canonical encoding (`decode_record` checks), filed under its own key."""
        where = f"record {ord_} in {self.path} is damaged"
        if type(data) is not bytes or type(key) is not bytes:
            raise StorageError(f"{where}: not a blob")
        try:
            record = decode_record(data)
        except DecodeError as exc:
            raise StorageError(f"{where}: {exc}") from None
        if _key_bytes(record.key) != key:
            raise StorageError(f"{where}: it is stored under another record's key")
        return record

    def __len__(self) -> int:
        with self._lock:
            conn = self._connection()
            try:
                (count,) = conn.execute("SELECT COUNT(*) FROM records").fetchone()
            except sqlite3.Error as exc:
                raise self._error("read", exc) from None
        return int(count)

    # --- lifetime ----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection; later calls raise StorageError. Closing twice is fine."""
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                try:
                    conn.close()
                except sqlite3.Error as exc:
                    raise self._error("close", exc) from None

    def __enter__(self) -> SqliteStorage:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- internals ---------------------------------------------------------------------------

    def _setup(self, conn: sqlite3.Connection) -> None:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        if app_id not in (0, APPLICATION_ID):
            raise StorageError(f"{self.path} is an SQLite database of another application "
                               f"(application_id {app_id:#x}), not a bitcraps store")
        if version == 0 and not tables:
            self._journal_wal(conn)
            conn.executescript(
                "BEGIN IMMEDIATE;" + _SCHEMA + f"PRAGMA user_version = {SCHEMA_VERSION};"
                f"PRAGMA application_id = {APPLICATION_ID}; COMMIT;"
            )
        elif version != SCHEMA_VERSION:
            hint = ("written by a newer bitcraps; upgrade bitcraps" if version > SCHEMA_VERSION
                    else "not a bitcraps store this version can read")
            raise StorageError(f"{self.path} has schema version {version}, this bitcraps "
                               f"reads version {SCHEMA_VERSION} ({hint})")
        else:
            self._journal_wal(conn)
        conn.execute("PRAGMA synchronous = FULL")
        if conn.execute("PRAGMA synchronous").fetchone()[0] != 2:
            raise StorageError(f"{self.path}: SQLite refused synchronous=FULL")

    def _journal_wal(self, conn: sqlite3.Connection) -> None:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StorageError(f"{self.path}: SQLite cannot use WAL mode here (got {mode}); "
                               "put the data dir on a local filesystem")

    def _query_next_ord(self) -> int:
        with self._lock:
            conn = self._connection()
            try:
                (top,) = conn.execute("SELECT MAX(ord) FROM records").fetchone()
            except sqlite3.Error as exc:
                raise self._error("read", exc) from None
        return 1 if top is None else int(top) + 1

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StorageError(f"the store {self.path} is closed")
        return self._conn

    def _error(self, doing: str, exc: sqlite3.Error) -> StorageError:
        code = getattr(exc, "sqlite_errorcode", None)
        if code is not None and code & 0xFF == _SQLITE_FULL:
            return StorageFullError(f"cannot {doing} {self.path}: the disk is full ({exc}); "
                                    "the last write was not kept, earlier ones are intact")
        if code is not None and code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
            return StorageError(f"{self.path} is corrupt or not a database ({exc}); restore it "
                                "from a backup or move it away to resync the table from peers")
        return StorageError(f"cannot {doing} {self.path}: {exc}")

    def _rollback_quietly(self, conn: sqlite3.Connection) -> None:
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    def _close_quietly(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except sqlite3.Error:
                pass


def _key_bytes(key: tuple[Any, ...]) -> bytes:
    data: bytes = msgpack.packb(list(key), use_bin_type=True)
    return data

