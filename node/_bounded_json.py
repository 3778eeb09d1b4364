"""JSON from outside (an API body, a file a user names), parsed within bounds.

Python's `json` parser recurses once per nesting level, so a body of a thousand `[` ends in
`RecursionError`, and a deep value that does parse can make later code recurse past the
limit (a repr, a copy). `loads_bounded` refuses text that is too large or nested too deeply
*before* parsing it; its one error type, `JsonRejected`, carries a message that names the
limit and never quotes the input.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["MAX_JSON_DEPTH", "JsonRejected", "json_depth", "loads_bounded"]

MAX_JSON_DEPTH = 32

# A JSON string, quotes included, in the unrolled form (linear, no backtracking blow-up).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_CURLY_AS_SQUARE = bytes.maketrans(b"{}", b"[]")


class JsonRejected(ValueError):
    """The text is too large, nested too deeply, or not JSON."""


def json_depth(data: bytes, stop_after: int = 1 << 30) -> int:
    """How deeply the arrays and objects of JSON text `data` nest (brackets inside strings
    do not count), or any number above `stop_after` once it is known to be deeper.

    Each round deletes the innermost `[]` pairs at C speed, so well-formed text takes as
    many rounds as it is deep. Unbalanced text (not JSON anyway) counts its open brackets."""
    brackets = _STRING.sub(b"", data).translate(_CURLY_AS_SQUARE, _NOT_BRACKETS)
    depth = 0
    while brackets and depth <= stop_after:
        inner = brackets.replace(b"[]", b"")
        if len(inner) == len(brackets):
            return brackets.count(b"[")
        brackets, depth = inner, depth + 1
    return depth


def loads_bounded(data: bytes | str, *, max_bytes: int,
                  max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The JSON value in `data`: at most `max_bytes` long and `max_depth` levels deep."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    if len(raw) > max_bytes:
        raise JsonRejected(f"JSON text over {max_bytes} bytes")
    if json_depth(raw, stop_after=max_depth) > max_depth:
        raise JsonRejected(f"JSON nested more than {max_depth} levels deep")
    try:
        return json.loads(raw)
    except RecursionError:  # belt and braces: the depth check should have caught it
        raise JsonRejected(f"JSON nested more than {max_depth} levels deep") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise JsonRejected(f"not valid JSON: {_position(exc)}") from None


def _position(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} (line {exc.lineno}, column {exc.colno})"
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text (byte {exc.start})"
    return "a number has too many digits"  # int()'s digit limit, the one other ValueError
