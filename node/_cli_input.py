"""What the command line reads from its user, bounded: JSON files and integer arguments.

Every ``bitcraps`` command that reads a file the user names goes through `read_json_file`:
the file is read up to a size limit, its nesting checked before it is parsed, and every
problem is a `CliError` (one ``bitcraps: error: ...`` line, exit 2), never an internal
error. Integer arguments go through `ascii_int`: ``int()`` alone takes any script's digits
(``"\\u0663"`` is 3) and underscores.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bitcraps.node._bounded_json import MAX_JSON_DEPTH, JsonRejected, loads_bounded
from bitcraps.node._cli_errors import CliError

__all__ = ["MAX_FILE_BYTES", "ascii_int", "parse_ascii_int", "read_json_file", "whole_number"]

MAX_FILE_BYTES = 1 << 20  # a receipt is a few KiB


def read_json_file(path: Path, what: str, *, max_bytes: int = MAX_FILE_BYTES,
                   max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The JSON value in the file `path` (`what` it should hold names it in errors)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    if len(data) > max_bytes:
        raise CliError(f"{path}: not {what}: larger than {max_bytes} bytes")
    try:
        return loads_bounded(data, max_bytes=max_bytes, max_depth=max_depth)
    except JsonRejected as exc:
        raise CliError(f"{path}: not {what}: {exc}") from None


def parse_ascii_int(text: str, low: int, high: int) -> int | None:
    """`text` as an integer within [low, high] if it is one in ASCII digits, else None."""
    digits = text[1:] if text.startswith("-") else text
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 40:
        return None
    value = int(text)
    return value if low <= value <= high else None


def ascii_int(low: int, high: int) -> Callable[[str], int]:
    """An argparse `type=` for integers in [low, high] written in ASCII digits."""

    def parse(text: str) -> int:
        value = parse_ascii_int(text, low, high)
        if value is None:
            raise argparse.ArgumentTypeError(
                f"expected an integer from {low} to {high} in digits 0-9")
        return value

    parse.__name__ = "integer"  # argparse names the type in its message
    return parse


def whole_number(text: str, low: int, high: int, what: str) -> int:
    """`text` as an integer in [low, high], or a `CliError` naming `what`: one
    ``bitcraps: error:`` line (exit 2), where argparse's `ascii_int` prints its usage too."""
    value = parse_ascii_int(text, low, high)
    if value is None:
        raise CliError(f"{what}: expected an integer from {low} to {high} in digits 0-9")
    return value
