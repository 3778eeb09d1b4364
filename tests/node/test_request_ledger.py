"""The request ledger's file and bounds (real SQLite files): what it keeps, for how long,
what it does with a damaged or foreign file, and that requests sent at once share a write."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
import trio

from bitcraps.accel._ed25519_cpu import Ed25519Signer
from bitcraps.consensus import Client, Completed, Envelope, ReplicaConfig, Request
from bitcraps.node.request_ledger import EXECUTED, PENDING, RequestLedger
from bitcraps.node.request_ledger_file import LedgerFileError
from bitcraps.node.table_shell import inline_offload

SIGNERS = [Ed25519Signer(hashlib.sha256(b"ledger%d" % i).digest()) for i in range(4)]
CONFIG = ReplicaConfig(b"L" * 16, tuple(s.public_key for s in SIGNERS))


class Clock:
    def __init__(self) -> None:
        self.now_us = 1_000_000_000

    def __call__(self) -> int:
        return self.now_us


def signed(count: int) -> list[Envelope[Request]]:
    client = Client(CONFIG, SIGNERS[0])
    return [client.sign(b"op%d" % i) for i in range(count)]


def executed(envelope: Envelope[Request]) -> Completed:
    return Completed(envelope.message.timestamp, b"result", 0, (), 7)


async def test_the_oldest_ended_entries_go_first_and_a_pending_one_never(
        tmp_path: Path) -> None:
    clock = Clock()
    ledger = RequestLedger.open(tmp_path / "t.requests", clock_us=clock, max_entries=3)
    first, *rest = signed(5)
    pending = ledger.add(first, 2, "kept-pending")
    for number, envelope in enumerate(rest):
        clock.now_us += 1
        entry = ledger.add(envelope, 2, f"key-{number}")
        ledger.finish(entry.request_id, executed(envelope))
        await ledger.flush(inline_offload)
    assert [e.key for e in ledger.pending()] == ["kept-pending"]
    assert len(ledger) == 3 and ledger.by_key("key-0") is None  # the oldest ended one
    ledger.close()
    reopened = RequestLedger.open(tmp_path / "t.requests", clock_us=clock, max_entries=3)
    assert sorted(str(e.key) for e in reopened._entries.values()) == [
        "kept-pending", "key-2", "key-3"]
    again = reopened.by_key("key-3")
    assert again is not None and again.status == EXECUTED and again.result == b"result"
    assert reopened.get(pending.request_id) is not None
    assert reopened.get(pending.request_id).envelope == first.wire  # type: ignore[union-attr]


async def test_an_entry_older_than_the_window_is_forgotten(tmp_path: Path) -> None:
    clock = Clock()
    ledger = RequestLedger.open(tmp_path / "t.requests", clock_us=clock, max_age_s=60)
    old, new = signed(2)
    entry = ledger.add(old, 2, "old")
    ledger.finish(entry.request_id, executed(old))
    clock.now_us += 61_000_000
    ledger.add(new, 2, "new")
    await ledger.flush(inline_offload)
    assert ledger.by_key("old") is None and ledger.by_key("new") is not None
    ledger.close()
    assert RequestLedger.open(tmp_path / "t.requests", clock_us=clock).by_key("old") is None


async def test_a_damaged_row_is_skipped_counted_and_removed(tmp_path: Path) -> None:
    path = tmp_path / "t.requests"
    ledger = RequestLedger.open(path)
    [envelope] = signed(1)
    entry = ledger.add(envelope, 2, "good")
    await ledger.flush(inline_offload)
    ledger.close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO requests VALUES (?, ?, ?)", (b"\x01" * 16, 5, b"\xc1junk"))
        conn.execute("INSERT INTO requests VALUES (?, ?, ?)", (b"\x02" * 16, 6, b"\x93\x01\x02"))
    reopened = RequestLedger.open(path)
    assert reopened.damaged == 2 and len(reopened) == 1
    assert reopened.get(entry.request_id) is not None and reopened.by_key("good") is not None
    reopened.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM requests").fetchone()[0] == 1


@pytest.mark.parametrize("content", [b"not a database at all" * 100, None])
def test_a_file_that_is_no_ledger_is_refused_with_one_line(tmp_path: Path,
                                                          content: bytes | None) -> None:
    path = tmp_path / "t.requests"
    if content is None:  # an SQLite database of something else
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE records (key BLOB)")
    else:
        path.write_bytes(content)
    with pytest.raises(LedgerFileError) as refused:
        RequestLedger.open(path)
    assert str(path) in str(refused.value) and "\n" not in str(refused.value)


async def test_requests_sent_at_once_share_one_write(tmp_path: Path) -> None:
    ledger = RequestLedger.open(tmp_path / "t.requests")
    envelopes = signed(50)

    async def thread_offload(fn, *args):  # type: ignore[no-untyped-def]
        return await trio.to_thread.run_sync(fn, *args)

    async def send(envelope: Envelope[Request]) -> None:
        ledger.add(envelope, 2, None)
        await ledger.flush(thread_offload)

    async with trio.open_nursery() as nursery:
        for envelope in envelopes:
            nursery.start_soon(send, envelope)
    assert len(ledger) == 50 and ledger.unwritten == 0
    assert ledger.writes <= 3  # the first alone, then all those queued meanwhile together
    ledger.close()
    assert len(RequestLedger.open(tmp_path / "t.requests").pending()) == 50
    assert all(e.status == PENDING for e in ledger.pending())
