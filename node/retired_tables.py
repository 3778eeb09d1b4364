"""Tables this node released: their ids, so that none of them is ever opened again from scratch.

A table formed at run time that never started here (this replica executed nothing, so it has
no dice key) is closed by `formed_tables` once `node.table_start_timeout_s` has passed, and
its files are released: the database (and its -wal, -shm), the DKG seed and the client stamp
file. Its replica may still have voted (a PREPARE for a request its fellow replicas went on to
commit), and a replica must never contradict a vote it cast: opening the same table again on
fresh files could. So its id is first added to this list, durably, and from then on a CHARTER
(host protocol), a stored charter or a ``[[tables]]`` block naming it is refused.

The file ``<data_dir>/retired-tables`` holds the ids, 16 bytes each, in the order retired, and
nothing else. Each append is fsynced (and the directory too when the file is new) before any
of the table's files is deleted. The reader is strict: whole records, no id twice, at most
`MAX_RETIRED` ids. A last record shorter than 16 bytes is what an append cut short by a crash
leaves (the table's files were not touched yet): it is ignored, and the next append writes over
it. Anything else is a damaged file, and the node does not start on it
(`RetiredTablesError`, a `StorageError`).

How fast it grows: an id is added only when a formed table expires, and the host policy
bounds the tables others may form here at once (`node.max_hosted_tables`, each
`node.host_tables_per_peer` per requester) while each one lives `node.table_start_timeout_s`
before it expires: at the defaults (32 tables, 600 s) at most 4,608 ids a day, 72 KiB. Once the
list holds `MAX_RETIRED` ids (1 MiB), the node refuses others' offers and charters (reason
``retired_full``) rather than grow it or keep their files; a table of its own that never
started then keeps its files, as all tables did before. The operator decides what to delete.
"""

from __future__ import annotations

import os
from pathlib import Path

from .storage import StorageError, table_db_path

__all__ = ["MAX_RETIRED", "RETIRED_FILE", "TABLE_ID_BYTES", "RetiredTables",
           "RetiredTablesError", "parse_retired", "release_table_files", "table_files"]

RETIRED_FILE = "retired-tables"
TABLE_ID_BYTES = 16
MAX_RETIRED = 1 << 16

# A table's files besides its charter: the database and SQLite's side files, the client stamp
# file and the DKG seed, and the ".partial" files a crash may leave while either is written;
# the request ledger (`request_ledger_file`) and its side files.
_SUFFIXES = (".sqlite", ".sqlite-wal", ".sqlite-shm", ".sqlite-journal", ".client-stamps",
             ".client-stamps.partial", ".dkg-seed", ".dkg-seed.partial", ".requests",
             ".requests-wal", ".requests-shm", ".requests-journal")


class RetiredTablesError(StorageError):
    """The retired-tables file is damaged; the message names the file, never its bytes."""


def parse_retired(raw: bytes) -> tuple[list[bytes], int]:
    """The ids a retired-tables file holds, and how many of its bytes are whole records
    (`RetiredTablesError` without the file's name, for a damaged one)."""
    if type(raw) is not bytes:
        raise RetiredTablesError("a retired-tables file is bytes")
    whole = len(raw) - len(raw) % TABLE_ID_BYTES
    if whole > MAX_RETIRED * TABLE_ID_BYTES:
        raise RetiredTablesError(f"more than {MAX_RETIRED} ids")
    ids = [raw[i:i + TABLE_ID_BYTES] for i in range(0, whole, TABLE_ID_BYTES)]
    if len(set(ids)) != len(ids):
        raise RetiredTablesError("an id is listed twice")
    return ids, whole


class RetiredTables:
    """The list, in memory and in its file. Blocking: call `open` and `add` off the loop,
    from one task at a time."""

    def __init__(self, path: Path, ids: list[bytes], whole_bytes: int) -> None:
        self.path = path
        self._ids = set(ids)
        self._whole_bytes = whole_bytes

    @classmethod
    def open(cls, data_dir: Path) -> RetiredTables:
        path = Path(data_dir) / RETIRED_FILE
        try:
            with open(path, "rb") as handle:
                raw = handle.read((MAX_RETIRED + 1) * TABLE_ID_BYTES)
        except FileNotFoundError:
            return cls(path, [], 0)
        except OSError as exc:
            raise RetiredTablesError(
                f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
        try:
            ids, whole = parse_retired(raw)
        except RetiredTablesError as exc:
            raise RetiredTablesError(f"{path} is damaged: {exc}") from None
        return cls(path, ids, whole)

    def __contains__(self, table_id: object) -> bool:
        return table_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def full(self) -> bool:
        return len(self._ids) >= MAX_RETIRED

    def add(self, table_id: bytes) -> None:
        """Append `table_id`, durably when this returns (OSError: it may not be)."""
        if type(table_id) is not bytes or len(table_id) != TABLE_ID_BYTES:
            raise ValueError(f"a table id is {TABLE_ID_BYTES} bytes")
        if table_id in self._ids:
            return
        if self.full:
            raise ValueError(f"the retired-tables list is full ({MAX_RETIRED} ids)")
        created = not self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.ftruncate(fd, self._whole_bytes)  # drops what a cut-short append left
            written = os.pwrite(fd, table_id, self._whole_bytes)
            if written != TABLE_ID_BYTES:
                raise OSError(f"short write to {self.path}")
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            _fsync_directory(self.path.parent)
        self._ids.add(table_id)
        self._whole_bytes += TABLE_ID_BYTES


def table_files(data_dir: Path, table_id: bytes) -> list[Path]:
    """Where a table's files are (whether or not each exists), its charter aside."""
    database = table_db_path(data_dir, table_id)
    stem = database.with_suffix("")
    return [stem.with_name(stem.name + suffix) for suffix in _SUFFIXES]


def release_table_files(data_dir: Path, table_id: bytes) -> list[Path]:
    """Delete a retired table's files (blocking); the ones that were there."""
    removed: list[Path] = []
    for path in table_files(data_dir, table_id):
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        removed.append(path)
    if removed:
        _fsync_directory(removed[0].parent)
    return removed


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
