"""The README's craps example runs and prints what its comments say."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_example_runs() -> None:
    section = README.read_text(encoding="utf-8").split("## Craps rules engine", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, "no python example in the README's craps section"
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(match.group(1), "README.md", "exec"), {})
    assert output.getvalue().splitlines() == [
        "pass win 10",
        "place win 14",
        "1024",
        "wrong_phase: come is bet once a point is on; this is a come-out",
    ]
