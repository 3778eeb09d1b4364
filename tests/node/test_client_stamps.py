"""The durable ceiling on this node's client timestamps: written aside, fsynced, renamed."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bitcraps.node.client_stamps import StampFile, StampFileError, encode_stamp, parse_stamp


def test_a_reserved_ceiling_survives_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "t.client-stamps"
    stamps = StampFile(path)
    assert stamps.ceiling == 0 and not stamps.damaged and not path.exists()
    stamps.reserve(1_000)
    stamps.reserve(500)  # never lowered, and not written again
    assert stamps.ceiling == 1_000 and stamps.reservations == 1
    assert StampFile(path).ceiling == 1_000
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.client-stamps"]


@pytest.mark.parametrize("content", [b"", b"12", b"-5\n", b"1e9\n", b"\xff\n", b"9" * 21 + b"\n",
                                     b"12\n13\n", b" 12\n", b"007\n",
                                     b"18446744073709551616\n", b"99999999999999999999\n",
                                     b"5\n" + b"\0" * (1 << 20)])
def test_a_damaged_file_reads_as_zero_and_is_rewritten(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "t.client-stamps"
    path.write_bytes(content)
    stamps = StampFile(path)
    assert stamps.ceiling == 0 and stamps.damaged
    stamps.reserve(7)
    assert not stamps.damaged and path.read_bytes() == b"7\n"


@pytest.mark.parametrize("ceiling", [0, 7, 60_000_000, 2**64 - 1])
def test_one_ceiling_has_one_encoding(ceiling: int) -> None:
    """What the fuzz target `client-stamps` checks on every input: a ceiling read back
    re-encodes to the very bytes read (a leading zero or a number past a u64 is damage)."""
    assert parse_stamp(encode_stamp(ceiling)) == ceiling
    for other in (b"0" + encode_stamp(ceiling), encode_stamp(ceiling) + b"\n"):
        with pytest.raises(StampFileError):
            parse_stamp(other)
