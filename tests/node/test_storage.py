"""SqliteStorage: DurableLog's rules on a real SQLite file, crash safety, full disks, damage."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st
from storage_workload import batch

from bitcraps.consensus import (
    Checkpoint,
    Commit,
    CommitCertificate,
    Committed,
    DurableLog,
    NewView,
    Prepare,
    PrePrepare,
    Record,
    ViewChange,
    ViewState,
    encode_record,
)
from bitcraps.node.storage import (
    SCHEMA_VERSION,
    SqliteStorage,
    StorageError,
    StorageFullError,
    table_db_path,
)
from test_durable import (
    EXAMPLES,
    committed,
    latest_new_view,
    own,
    pre_prepare,
    prepared,
    signed,
    stable,
)
from test_durable import records as random_records

TESTS = Path(__file__).resolve().parent


def _same(storage: SqliteStorage, log: DurableLog) -> None:
    assert storage.records() == log.records()
    assert len(storage) == len(log)


def test_a_new_store_is_empty_and_uses_wal_with_full_sync(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite"
    with SqliteStorage(path) as storage:
        assert storage.records() == [] and len(storage) == 0
        storage.write([ViewState(1, 0)])
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        conn.close()
    with SqliteStorage(path) as storage:
        assert storage.records() == [ViewState(1, 0)]


def test_the_durable_log_rules_hold_on_disk_and_across_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite"
    log = DurableLog()
    below = [committed(3), committed(4), prepared(4), own(Prepare(0, 4, b"d" * 32)),
             own(Checkpoint(4, b"d" * 32)), own(PrePrepare(0, 2, ()))]
    above = [committed(5), prepared(6), own(Commit(0, 5, b"d" * 32)), own(Checkpoint(8, b"d" * 32))]
    untied = [ViewState(1, 0), latest_new_view(1), own(ViewChange(1, 4, (), ())),
              own(NewView(1, (), ()))]
    steps: list[list[Record]] = [
        below + above + untied,
        [own(Prepare(0, 4, b"e" * 32)), ViewState(2, 1)],  # replaces: moves to the end
        [stable(4)],
        [committed(3), stable(8, b"later"), committed(8), committed(9)],  # order inside a batch
        [],
        list(EXAMPLES),
    ]
    with SqliteStorage(path) as storage:
        for records in steps:
            storage.write(records)
            log.write(records)
            _same(storage, log)
        assert (storage.writes, storage.syncs) == (log.writes, log.syncs)
    with SqliteStorage(path) as storage:
        _same(storage, log)
        storage.write([ViewState(9, 0)])  # write order continues after a reopen
        log.write([ViewState(9, 0)])
        _same(storage, log)


def test_seqs_up_to_2_64_minus_1_keep_their_order(tmp_path: Path) -> None:
    top = 2**64 - 1
    log = DurableLog()
    records: list[Record] = [committed(0), committed(2**63 - 1), committed(2**63),
                             committed(top - 1), stable(2**63)]
    with SqliteStorage(tmp_path / "t.sqlite") as storage:
        for record in records:
            storage.write([record])
            log.write([record])
        _same(storage, log)
        storage.write([stable(top)])
        log.write([stable(top)])
        _same(storage, log)


# A small pool of real records whose keys and seqs collide often, so replacement and truncation
# happen in most examples; mixed with arbitrary records from the codec's strategies.
POOL: list[Record] = (
    [committed(s) for s in range(1, 7)] + [prepared(s) for s in range(1, 7)]
    + [own(Prepare(v, s, bytes([v]) * 32)) for v in (0, 1) for s in range(1, 7)]
    + [own(Checkpoint(s, b"c" * 32)) for s in (2, 4, 6)]
    + [ViewState(v, c) for v in (0, 1, 2) for c in (0, 1)]
    + [stable(s, bytes([s])) for s in (0, 2, 4, 6)]
    + [latest_new_view(v) for v in (1, 2)]
    + [own(ViewChange(v, 0, (), ())) for v in (1, 2)] + [own(NewView(1, (), ()))]
)
pool_records = st.sampled_from(POOL) | random_records
batches = st.lists(st.lists(pool_records, max_size=6), max_size=8)


@settings(max_examples=60)
@given(batches, st.integers(0, 8))
def test_sqlite_storage_agrees_with_durable_log(writes: list[list[Record]], reopen_at: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.sqlite"
        log = DurableLog()
        storage = SqliteStorage(path)
        try:
            for i, records in enumerate(writes):
                if i == reopen_at:
                    storage.close()
                    storage = SqliteStorage(path)
                storage.write(records, sync=bool(i % 2))
                log.write(records, sync=bool(i % 2))
            _same(storage, log)
        finally:
            storage.close()
        with SqliteStorage(path) as reopened:
            _same(reopened, log)


# --- crashes ---------------------------------------------------------------------------------

CHILD = """
import sys
sys.path[:0] = [{tests!r}, {node_tests!r}]
from bitcraps.node.storage import SqliteStorage
from storage_workload import batch
storage = SqliteStorage({path!r})
for i in range(10_000):
    storage.write(batch(i))
    print(i, flush=True)
"""


def test_a_store_killed_mid_write_reopens_to_a_prefix_of_whole_batches(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite"
    code = CHILD.format(tests=str(TESTS.parent), node_tests=str(TESTS), path=str(path))
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    acked = -1
    try:
        for line in child.stdout:
            acked = int(line)
            if acked >= 12:
                break
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
    assert acked >= 12, "the writer died before it was killed"
    with SqliteStorage(path) as storage:
        got = [encode_record(r) for r in storage.records()]
    log = DurableLog()
    prefixes = {}
    for i in range(acked + 40):  # the child may have committed more than it printed
        log.write(batch(i))
        prefixes[i] = [encode_record(r) for r in log.records()]
    matches = [i for i, records in prefixes.items() if records == got]
    assert matches, "the reopened store is not the result of any prefix of whole batches"
    assert max(matches) >= acked, "a batch acknowledged as written was lost"


# --- full disks ------------------------------------------------------------------------------


def _big_committed(seq: int) -> Committed:
    pp = pre_prepare(0, seq, bytes([seq % 256]) * 12_000)
    return Committed(CommitCertificate(pp, (signed(Commit(0, seq, pp.message.digest)),)))


def _fill(storage: SqliteStorage, log: DurableLog) -> list[Record]:
    """Write growing batches until the disk is full; returns the batch that failed."""
    for i in range(200):
        records: list[Record] = [_big_committed(i + 1), ViewState(i, 0)]
        try:
            storage.write(records)
        except StorageFullError:
            return records
        log.write(records)
    raise AssertionError("the disk never filled up")


def test_a_size_cap_gives_storage_full_and_keeps_what_was_committed(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite"
    log = DurableLog()
    with SqliteStorage(path, max_bytes=256 * 1024) as storage:
        failed = _fill(storage, log)
        _same(storage, log)  # the failed transaction was rolled back in place
        with pytest.raises(StorageFullError, match="disk is full"):
            storage.write(failed)
        storage.write([ViewState(77, 0)])  # a small write still fits
        log.write([ViewState(77, 0)])
    with SqliteStorage(path) as storage:  # no cap now: committed data intact, writes go on
        _same(storage, log)
        storage.write(failed)
        log.write(failed)
        _same(storage, log)


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "tiny"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tiny tmpfs needs root; the size-cap test covers SQLITE_FULL")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=320k,mode=0700", "tmpfs",
                           str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_filesystem_gives_storage_full_and_loses_nothing(tiny_fs: Path) -> None:
    path = tiny_fs / "t.sqlite"
    log = DurableLog()
    with SqliteStorage(path) as storage:
        failed = _fill(storage, log)
        _same(storage, log)
    subprocess.run(["mount", "-o", "remount,size=8m", str(tiny_fs)], check=True)
    with SqliteStorage(path) as storage:  # after freeing space: all committed data, and writes
        _same(storage, log)
        storage.write(failed)
        log.write(failed)
        _same(storage, log)


# --- damage and versions ---------------------------------------------------------------------


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite"
    path.write_bytes(b"this is not sqlite " * 500)
    with pytest.raises(StorageError, match="corrupt or not a database"):
        SqliteStorage(path)


def test_a_damaged_database_page_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite"
    with SqliteStorage(path) as storage:
        storage.write(batch(0) + batch(1))
    data = bytearray(path.read_bytes())  # closing checkpointed the WAL into the main file
    for at in range(4096 + 16, len(data), 97):  # smash every page after the first
        data[at] ^= 0xA5
    path.write_bytes(bytes(data))
    with pytest.raises(StorageError, match=str(path)):
        with SqliteStorage(path) as storage:
            storage.records()


def test_a_record_that_does_not_decode_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite"
    with SqliteStorage(path) as storage:
        storage.write([ViewState(1, 0), ViewState(2, 0), committed(3)])
    conn = sqlite3.connect(path)
    conn.execute("UPDATE records SET data = x'c1c1' WHERE ord = (SELECT MAX(ord) FROM records)")
    conn.commit()
    conn.close()
    with SqliteStorage(path) as storage:
        with pytest.raises(StorageError, match=r"record \d+ in .* is damaged"):
            storage.records()


@pytest.mark.parametrize("version", [SCHEMA_VERSION + 1, 99])
def test_an_unknown_schema_version_is_refused(tmp_path: Path, version: int) -> None:
    path = tmp_path / "t.sqlite"
    SqliteStorage(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.close()
    with pytest.raises(StorageError, match=f"schema version {version}.*newer bitcraps"):
        SqliteStorage(path)


def test_another_applications_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.execute("PRAGMA application_id = 1234")
    conn.close()
    with pytest.raises(StorageError, match="another application"):
        SqliteStorage(path)


def test_a_closed_store_says_so(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "t.sqlite")
    storage.close()
    storage.close()
    with pytest.raises(StorageError, match="closed"):
        storage.write([ViewState(0, 0)])
    with pytest.raises(StorageError, match="closed"):
        storage.records()


def test_missing_directories_are_created_private(tmp_path: Path) -> None:
    path = table_db_path(tmp_path / "data", bytes(16))
    with SqliteStorage(path) as storage:
        storage.write([ViewState(0, 0)])
    assert (tmp_path / "data" / "tables").stat().st_mode & 0o777 == 0o700
    (tmp_path / "file").write_text("x")
    with pytest.raises(StorageError, match="cannot create the directory of"):
        SqliteStorage(tmp_path / "file" / "t.sqlite")


def test_table_db_path() -> None:
    assert table_db_path("/d", bytes(range(16))) == \
        Path("/d/tables/000102030405060708090a0b0c0d0e0f.sqlite")


# --- threads ---------------------------------------------------------------------------------


async def test_writes_from_trio_worker_threads(tmp_path: Path) -> None:
    log = DurableLog()
    storage = SqliteStorage(tmp_path / "t.sqlite")
    try:
        for i in range(6):
            await trio.to_thread.run_sync(storage.write, batch(i))
            log.write(batch(i))
        assert await trio.to_thread.run_sync(storage.records) == log.records()
    finally:
        storage.close()


def test_concurrent_threads_are_serialised(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "t.sqlite")
    errors: list[BaseException] = []

    def writer(view: int) -> None:
        try:
            for n in range(20):
                storage.write([own(Prepare(view, n + 1, b"p" * 32))])
                storage.records()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(v,)) for v in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert len(storage) == 80 and storage.writes == 80
    finally:
        storage.close()
