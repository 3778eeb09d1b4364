"""The retired-tables file: 16-byte ids appended durably, read strictly; a damaged file stops
the node rather than let a retired table open again from scratch. And the host policy's
refusals for a retired table and for a full list."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bitcraps.node.host_policy import HeldOffer, HostLimits, OfferBook, refuse_charter, refuse_offer
from bitcraps.node.retired_tables import (
    MAX_RETIRED,
    RETIRED_FILE,
    RetiredTables,
    RetiredTablesError,
    parse_retired,
    release_table_files,
    table_files,
)
from bitcraps.node.storage import StorageError

A, B, C = (bytes([i]) * 16 for i in (1, 2, 3))


def test_ids_are_appended_durably_and_read_back(tmp_path: Path) -> None:
    retired = RetiredTables.open(tmp_path)
    assert A not in retired and len(retired) == 0 and not retired.full
    retired.add(A)
    retired.add(B)
    retired.add(A)  # already there: nothing appended
    path = tmp_path / RETIRED_FILE
    assert path.read_bytes() == A + B
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = RetiredTables.open(tmp_path)
    assert A in again and B in again and C not in again and len(again) == 2


def test_an_append_cut_short_by_a_crash_is_ignored_then_written_over(tmp_path: Path) -> None:
    (tmp_path / RETIRED_FILE).write_bytes(A + B[:7])
    retired = RetiredTables.open(tmp_path)
    assert A in retired and len(retired) == 1
    retired.add(C)
    assert (tmp_path / RETIRED_FILE).read_bytes() == A + C


@pytest.mark.parametrize("raw, problem", [
    (A + B + A, "an id is listed twice"),
    (b"".join(i.to_bytes(16, "big") for i in range(MAX_RETIRED + 1)),
     f"more than {MAX_RETIRED} ids"),
])
def test_a_damaged_file_is_refused_without_quoting_it(tmp_path: Path, raw: bytes,
                                                      problem: str) -> None:
    path = tmp_path / RETIRED_FILE
    path.write_bytes(raw)
    with pytest.raises(RetiredTablesError) as caught:
        RetiredTables.open(tmp_path)
    assert str(caught.value) == f"{path} is damaged: {problem}"
    assert isinstance(caught.value, StorageError)  # `bitcraps daemon`: one error line


def test_the_parser_is_strict_about_its_input_type() -> None:
    assert parse_retired(A + B + b"\x00") == ([A, B], 32)
    with pytest.raises(RetiredTablesError):
        parse_retired(bytearray(A))  # type: ignore[arg-type]


def test_a_full_list_takes_no_more_ids(tmp_path: Path) -> None:
    ids = [i.to_bytes(16, "big") for i in range(MAX_RETIRED)]
    (tmp_path / RETIRED_FILE).write_bytes(b"".join(ids))
    retired = RetiredTables.open(tmp_path)
    assert retired.full and ids[-1] in retired
    with pytest.raises(ValueError, match="full"):
        retired.add(A)
    with pytest.raises(ValueError, match="16 bytes"):
        RetiredTables.open(tmp_path / "elsewhere").add(b"short")


def test_releasing_a_table_removes_its_files_only(tmp_path: Path) -> None:
    for table_id in (A, B):
        for path in table_files(tmp_path, table_id):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"x")
    removed = release_table_files(tmp_path, A)
    assert sorted(p.name for p in removed) == sorted(
        p.name for p in table_files(tmp_path, A))
    assert {p.name[32:] for p in removed} >= {".sqlite", ".sqlite-wal", ".sqlite-shm",
                                              ".dkg-seed", ".client-stamps"}
    assert all(not p.exists() for p in table_files(tmp_path, A))
    assert all(p.exists() for p in table_files(tmp_path, B))
    assert release_table_files(tmp_path, A) == []


def charter_refusal(**changes: object) -> str | None:
    me, them = b"m" * 32, b"t" * 32
    settings: dict[str, object] = dict(
        host_tables=True, max_tables=8, caller=them, public_key=me,
        replicas=(them, me, b"x" * 32, b"y" * 32), creator=them, game="kv",
        offer=HeldOffer(them, b"s" * 16, "kv", 30.0), hosted=0, hosted_for_caller=0,
        already_hosted=False)
    settings.update(changes)
    refused = refuse_charter(HostLimits(), **settings)  # type: ignore[arg-type]
    return None if refused is None else refused.reason


def test_the_host_refuses_a_retired_table_and_anything_once_the_list_is_full() -> None:
    assert charter_refusal() is None
    assert charter_refusal(retired=True) == "retired"
    assert charter_refusal(retired_full=True) == "retired_full"
    offer = dict(host_tables=True, max_tables=8, games=("kv",), caller=b"t" * 32,
                 game="kv", book=OfferBook(), hosted=0, hosted_for_caller=0)
    assert refuse_offer(HostLimits(), **offer) is None  # type: ignore[arg-type]
    refused = refuse_offer(HostLimits(), **offer, retired_full=True)  # type: ignore[arg-type]
    assert refused is not None and refused.reason == "retired_full"
