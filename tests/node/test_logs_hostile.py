"""A log call handed another party's bytes must neither raise nor print their contents whole:
values nested past the recursion limit, huge values, and local variables of a failing frame."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

from bitcraps.node.logs import configure_logging, get_logger


def node_log(out: io.StringIO) -> Any:
    """A logger writing through the node's own handler only: pytest's capture handler formats
    records with str(), which is not what the node writes."""
    configure_logging("info", "n1", stream=out)
    ours = [h for h in logging.getLogger().handlers if h.get_name() == "bitcraps-json"]
    target = logging.getLogger("hostile-values")
    target.handlers, target.propagate = ours, False
    return get_logger("hostile-values")


def lines_of(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def nested(depth: int) -> list[Any]:
    root: list[Any] = []
    inner = root
    for _ in range(depth):
        inner.append([])
        inner = inner[0]
    return root


def test_a_value_nested_past_the_recursion_limit_is_described_not_rendered() -> None:
    out = io.StringIO()
    node_log(out).info("frame refused", value=nested(5000), peer="ab")
    (line,) = lines_of(out)
    assert line["value"] == "<list of length 1>"
    assert line["peer"] == "ab" and line["event"] == "frame refused"


def test_a_huge_value_is_cut_to_a_description_when_another_value_fails() -> None:
    out = io.StringIO()
    node_log(out).info("x", deep=nested(5000), big="z" * 100_000)
    (line,) = lines_of(out)
    assert line["big"] == "<str of length 100000>"


def test_a_logged_exception_never_shows_the_frames_local_variables() -> None:
    out = io.StringIO()
    log = node_log(out)

    def decode(frame: bytes) -> None:
        raise ValueError("bad frame")

    try:
        decode(b"SECRET-PEER-BYTES")
    except ValueError:
        log.exception("decode failed")
    (line,) = lines_of(out)
    assert "SECRET-PEER-BYTES" not in json.dumps(line)
    assert line["exception"][0]["frames"][-1]["name"] == "decode"
