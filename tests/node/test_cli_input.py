"""The CLI's input boundary: files and integer arguments from the user end as one
`bitcraps: error:` line (exit 2) when they are hostile, never as an internal error (70)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bitcraps.node import cli
from bitcraps.node._cli_errors import CliError
from bitcraps.node._cli_input import parse_ascii_int, read_json_file


@pytest.mark.parametrize(("content", "message"), [
    (b"[" * 100_000, "nested more than 32 levels deep"),
    (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "nested more than 32 levels deep"),
    (b"[" * 40 + b"]" * 40, "nested more than 32 levels deep"),
    (b" " * (2 << 20), "larger than 1048576 bytes"),
    (b"{", "not valid JSON"),
    (b"\xff", "not UTF-8"),
    (b'{"n": ' + b"7" * 5000 + b"}", "too many digits"),
])
def test_receipt_verify_on_hostile_files_is_one_error_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes,
        message: str) -> None:
    path = tmp_path / "receipt.json"
    path.write_bytes(content)
    assert cli.main(["receipt", "verify", str(path)]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    [line] = err.splitlines()
    assert line.startswith("bitcraps: error: ") and message in line
    assert "internal error" not in err


def test_an_unreadable_file_is_an_error_line(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["receipt", "verify", str(tmp_path / "missing.json")]) == cli.EXIT_USAGE
    assert capsys.readouterr().err.startswith("bitcraps: error: cannot read ")
    assert cli.main(["receipt", "verify", str(tmp_path)]) == cli.EXIT_USAGE  # a directory


def test_read_json_file_gives_the_value_within_bounds(tmp_path: Path) -> None:
    path = tmp_path / "ok.json"
    path.write_text('{"a": [[["[[[[ in a string ]"]]]}')
    assert read_json_file(path, "x") == {"a": [[["[[[[ in a string ]"]]]}
    with pytest.raises(CliError, match="larger than 8 bytes"):
        read_json_file(path, "x", max_bytes=8)


@pytest.mark.parametrize("text", ["\u0663", "\u00b3", "1_000", " 3", "3 ", "+3", "", "-",
                                  "9" * 41, "0x10"])
def test_integers_are_ascii_digits(text: str) -> None:
    assert parse_ascii_int(text, -10**50, 10**50) is None


def test_integers_in_range() -> None:
    assert parse_ascii_int("42", 0, 64) == 42
    assert parse_ascii_int("-3", -5, 0) == -3
    assert parse_ascii_int("65", 0, 64) is None


@pytest.mark.parametrize("argv", [
    ["table", "create", "--game", "kv", "--seats", "1000000"],
    ["table", "create", "--game", "kv", "--max-bet", str(2**64)],
    ["table", "create", "--game", "kv", "--replicas", "\u0664"],
    ["bet", "abcd", "pass", "\u0663"],
    ["bet", "abcd", "pass", "-5"],
    ["cashout", "abcd", "--amount", str(2**63)],
])
def test_out_of_range_arguments_are_usage_errors(argv: list[str],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(argv) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "expected an integer from" in err and "internal error" not in err


def test_roll_verify_takes_ascii_roll_numbers_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["roll", "verify", "abcd", "\u0663"]) == cli.EXIT_USAGE
    assert "ROLL in digits 0-9" in capsys.readouterr().err
