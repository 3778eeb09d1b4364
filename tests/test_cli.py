"""The CLI shell: subcommand registration and the error policy (no tracebacks for users)."""

from __future__ import annotations

import argparse
import subprocess
import sys
import types
from importlib import metadata
from pathlib import Path

import pytest

from bitcraps.node import cli
from bitcraps.node._cli_errors import CliError

FAKE = "bitcraps_test_fake_commands"


def _raise(exc: BaseException) -> int:
    raise exc


def _fake_module(monkeypatch: pytest.MonkeyPatch) -> None:
    """Install a command module with one subcommand per outcome."""

    def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        outcomes: dict[str, object] = {
            "ok": lambda args: 0,
            "three": lambda args: 3,
            "user-error": lambda args: _raise(CliError("no such table: t1\n(try `bitcraps sim`)")),
            "bug": lambda args: _raise(ValueError("bad\nvalue")),
            "interrupt": lambda args: _raise(KeyboardInterrupt()),
            "group-user-error": lambda args: _raise(ExceptionGroup("g", [CliError("in nursery")])),
            "group-bug": lambda args: _raise(ExceptionGroup("g", [CliError("x"), KeyError("k")])),
            "group-interrupt": lambda args: _raise(
                BaseExceptionGroup("g", [KeyboardInterrupt(), ValueError()])
            ),
            "returns-none": lambda args: None,
            "exits": lambda args: _raise(SystemExit(5)),
        }
        for name, run in outcomes.items():
            subparsers.add_parser(name).set_defaults(run=run)

    module = types.ModuleType(FAKE)
    module.add_parser = add_parser  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, FAKE, module)
    monkeypatch.setattr(cli, "COMMAND_MODULES", [FAKE])
    monkeypatch.delenv(cli.DEBUG_ENV, raising=False)


def test_no_subcommand_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert "usage: bitcraps" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["version"]) == 0
    assert capsys.readouterr().out == f"bitcraps {metadata.version('bitcraps')}\n"


def test_bad_arguments_are_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["no-such-command"]) == 2
    assert "invalid choice" in capsys.readouterr().err
    assert cli.main(["--help"]) == 0


def test_missing_command_modules_are_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "COMMAND_MODULES", ["bitcraps.node.cmd_does_not_exist"])
    assert cli.main(["version"]) == 0


def test_a_command_module_with_a_missing_dependency_is_an_internal_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    name = "bitcraps_test_cmd_needs_missing_dep"
    (tmp_path / f"{name}.py").write_text("import bitcraps_test_missing_dep\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(cli, "COMMAND_MODULES", [name])
    monkeypatch.delenv(cli.DEBUG_ENV, raising=False)
    assert cli.main(["version"]) == 70
    assert capsys.readouterr().err == (
        "bitcraps: internal error: ModuleNotFoundError: "
        "No module named 'bitcraps_test_missing_dep' (set BITCRAPS_DEBUG=1 for a traceback)\n"
    )


@pytest.mark.parametrize(
    ("argv", "code", "stderr"),
    [
        (["ok"], 0, ""),
        (["three"], 3, ""),
        (["user-error"], 2, "bitcraps: error: no such table: t1 (try `bitcraps sim`)\n"),
        (["group-user-error"], 2, "bitcraps: error: in nursery\n"),
        (["interrupt"], 130, ""),
        (["group-interrupt"], 130, ""),
        (["exits"], 5, ""),
        (
            ["bug"],
            70,
            "bitcraps: internal error: ValueError: bad value "
            "(set BITCRAPS_DEBUG=1 for a traceback)\n",
        ),
        (
            ["group-bug"],
            70,
            "bitcraps: internal error: KeyError: 'k' (set BITCRAPS_DEBUG=1 for a traceback)\n",
        ),
        (
            ["returns-none"],
            70,
            "bitcraps: internal error: TypeError: command 'returns-none' returned NoneType, "
            "expected int (set BITCRAPS_DEBUG=1 for a traceback)\n",
        ),
    ],
)
def test_error_policy(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    code: int,
    stderr: str,
) -> None:
    _fake_module(monkeypatch)
    assert cli.main(argv) == code
    assert capsys.readouterr().err == stderr


def test_debug_shows_the_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake_module(monkeypatch)
    monkeypatch.setenv(cli.DEBUG_ENV, "1")
    assert cli.main(["bug"]) == 70
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert err.endswith("bitcraps: internal error: ValueError: bad value\n")


def test_console_entry_point_exit_status() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from bitcraps.node.cli import main; sys.exit(main())"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "usage: bitcraps" in done.stderr
    assert "Traceback" not in done.stderr
