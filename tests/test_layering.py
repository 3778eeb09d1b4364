"""Layering rules from docs' ARCHITECTURE "Layers and what each may import", checked with ``ast``.

- ``consensus/`` and ``games/`` (except the sandbox host module) are pure: no clock, randomness,
  I/O, threads or event loop; only the standard library's pure parts, msgpack and each other.
- ``accel/`` is synchronous: no trio, no asyncio.
- ``transports/``: asyncio libraries only inside a ``*_bridge.py`` module.

Every ``import`` and ``from ... import`` counts, wherever it sits (inside functions, under
``if TYPE_CHECKING:``, in ``try:``); relative imports are resolved first.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = "bitcraps"

# Top-level modules a pure package may not import, with the reason shown in the failure.
IMPURE: dict[str, str] = {
    "trio": "event loop",
    "asyncio": "event loop",
    "time": "clock (count ticks instead)",
    "random": "randomness (pass it in)",
    "secrets": "randomness (pass it in)",
    "socket": "network I/O",
    "selectors": "I/O multiplexing",
    "ssl": "network I/O",
    "http": "network I/O",
    "urllib": "network I/O",
    "socketserver": "network I/O",
    "os": "operating system access",
    "shutil": "file system access",
    "tempfile": "file system access",
    "sqlite3": "storage I/O",
    "threading": "threads",
    "_thread": "threads",
    "concurrent": "threads or processes",
    "multiprocessing": "processes",
    "subprocess": "processes",
    "signal": "signals",
    "sched": "clock",
    "ctypes": "native code",
    "importlib": "dynamic import (hides dependencies from this check)",
}
PURE_THIRD_PARTY = frozenset({"msgpack"})
PURE_FIRST_PARTY = ("bitcraps.consensus", "bitcraps.games")
SANDBOX_HOST = "games/_sandbox_host.py"
SANDBOX_HOST_MODULE = "bitcraps.games._sandbox_host"

EVENT_LOOPS = frozenset({"trio", "asyncio", "anyio"})
ASYNCIO_LIBS = frozenset({"asyncio", "aiortc", "aioice", "bleak", "bless", "bumble"})
BRIDGE_SUFFIX = "_bridge.py"


@dataclass(frozen=True)
class Import:
    module: str  # absolute dotted name; "__import__" for a call to the builtin
    line: int


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


# A rule gets the file's path (relative to the repo, with "/") and one import; it returns
# the reason that import is not allowed there, or None.
Rule = Callable[[str, Import], str | None]


def package_of(path: str) -> str:
    """Dotted package holding the module at ``path``: consensus/x/y.py -> bitcraps.consensus.x."""
    parts = path.removesuffix(".py").split("/")
    return ".".join([NAMESPACE, *parts[:-1]])


def imports_in(source: str, path: str) -> Iterator[Import]:
    tree = ast.parse(source, filename=path)
    package = package_of(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                if node.level - 1 >= len(base_parts):
                    yield Import("<relative import beyond the top package>", node.lineno)
                    continue
                base = ".".join(base_parts[: len(base_parts) - (node.level - 1)])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            if node.level and not node.module or module == NAMESPACE:
                # "from . import x" / "from bitcraps import node": the names are modules
                for alias in node.names:
                    yield Import(f"{module}.{alias.name}", node.lineno)
            else:
                yield Import(module, node.lineno)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "__import__"
        ):
            yield Import("__import__", node.lineno)


def check_source(source: str, path: str, rule: Rule) -> list[Violation]:
    try:
        found = sorted(imports_in(source, path), key=lambda imp: imp.line)
    except SyntaxError as exc:
        return [Violation(path, exc.lineno or 0, f"cannot parse: {exc.msg}")]
    violations = []
    for imp in found:
        reason = rule(path, imp)
        if reason is not None:
            violations.append(Violation(path, imp.line, reason))
    return violations


def check_folder(folder: str, rule: Rule, exclude: frozenset[str] = frozenset()) -> list[Violation]:
    violations = []
    for file in python_files(folder):
        path = file.relative_to(ROOT).as_posix()
        if path in exclude:
            continue
        violations.extend(check_source(file.read_text(encoding="utf-8"), path, rule))
    return violations


def python_files(folder: str) -> list[Path]:
    return sorted(p for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)


# --- rules -----------------------------------------------------------------------------------


def pure_rule(path: str, imp: Import) -> str | None:
    module = imp.module
    top = module.split(".")[0]
    if module == "__import__":
        return "calls __import__ (dynamic import hides dependencies from this check)"
    if module.startswith("<"):
        return module
    if top in IMPURE:
        return f"imports {module!r}: {IMPURE[top]} is not allowed in a pure package"
    if top == NAMESPACE:
        if module == SANDBOX_HOST_MODULE or module.startswith(SANDBOX_HOST_MODULE + "."):
            return f"imports {module!r}: the sandbox host is not pure"
        if any(module == p or module.startswith(p + ".") for p in PURE_FIRST_PARTY):
            return None
        return f"imports {module!r}: a pure package may import only {', '.join(PURE_FIRST_PARTY)}"
    if top in sys.stdlib_module_names or top in PURE_THIRD_PARTY:
        return None
    return (
        f"imports {module!r}: third-party package not allowed in a pure package "
        f"(allowed: {', '.join(sorted(PURE_THIRD_PARTY))})"
    )


def accel_rule(path: str, imp: Import) -> str | None:
    top = imp.module.split(".")[0]
    if top in EVENT_LOOPS:
        return f"imports {imp.module!r}: accel/ is synchronous (run it with trio.to_thread)"
    return None


def transports_rule(path: str, imp: Import) -> str | None:
    top = imp.module.split(".")[0]
    if top in ASYNCIO_LIBS and not path.endswith(BRIDGE_SUFFIX):
        return f"imports {imp.module!r}: asyncio libraries belong in a *{BRIDGE_SUFFIX} module"
    return None


# --- the tree --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("folder", "rule", "exclude"),
    [
        pytest.param("consensus", pure_rule, frozenset(), id="consensus-pure"),
        pytest.param("games", pure_rule, frozenset({SANDBOX_HOST}), id="games-pure"),
        pytest.param("accel", accel_rule, frozenset(), id="accel-sync"),
        pytest.param("transports", transports_rule, frozenset(), id="transports-bridges"),
    ],
)
def test_layering(folder: str, rule: Rule, exclude: frozenset[str]) -> None:
    assert python_files(folder), f"no Python files under {folder}/: is ROOT ({ROOT}) right?"
    violations = check_folder(folder, rule, exclude)
    assert not violations, "layering violations:\n" + "\n".join(map(str, violations))


# --- the checker itself ----------------------------------------------------------------------

PURE_BAD = """\
import msgpack
import hashlib, time
from dataclasses import dataclass
from . import _quorum
from ._messages import Prepare
from bitcraps.games import craps

def later():
    import random
    from os import path
    return __import__("socket")

if True:
    from trio import sleep
from ..node import storage
from .. import transports
import numpy.linalg
from bitcraps.games._sandbox_host import spawn
"""


def test_checker_reports_each_forbidden_import_with_its_line() -> None:
    violations = check_source(PURE_BAD, "consensus/_example.py", pure_rule)
    assert [(v.path, v.line) for v in violations] == [
        ("consensus/_example.py", line) for line in (2, 9, 10, 11, 14, 15, 16, 17, 18)
    ]
    text = "\n".join(map(str, violations))
    for fragment in (
        "consensus/_example.py:2: imports 'time'",
        ":9: imports 'random'",
        ":10: imports 'os'",
        ":11: calls __import__",
        ":14: imports 'trio'",
        ":15: imports 'bitcraps.node'",
        ":16: imports 'bitcraps.transports'",
        ":17: imports 'numpy.linalg': third-party",
        ":18: imports 'bitcraps.games._sandbox_host'",
    ):
        assert fragment in text


def test_checker_resolves_relative_imports() -> None:
    source = "from . import a\nfrom ..b import c\nfrom .d import e\n"
    found = [imp.module for imp in imports_in(source, "games/x/y.py")]
    assert found == ["bitcraps.games.x.a", "bitcraps.games.b", "bitcraps.games.x.d"]
    assert check_source("from .... import x\n", "consensus/m.py", pure_rule)


def test_checker_reports_unparsable_files() -> None:
    [violation] = check_source("def broken(:\n", "games/bad.py", pure_rule)
    assert violation.path == "games/bad.py" and "cannot parse" in violation.message


def test_accel_rule() -> None:
    source = "import nacl.bindings\nimport numpy\n\ndef f():\n    import trio\n"
    assert [v.line for v in check_source(source, "accel/verify.py", accel_rule)] == [5]


def test_transports_rule_confines_asyncio_libraries_to_bridges() -> None:
    source = "import trio\nfrom aiortc import RTCPeerConnection\nimport asyncio\n"
    assert check_source(source, "transports/webrtc_bridge.py", transports_rule) == []
    assert [v.line for v in check_source(source, "transports/webrtc.py", transports_rule)] == [2, 3]
