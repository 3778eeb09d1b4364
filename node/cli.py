"""The ``bitcraps`` command line.

Subcommands live in their own modules (listed in ``COMMAND_MODULES``). Each one exposes::

    def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        parser = subparsers.add_parser("name", help="...")
        parser.set_defaults(run=run)   # run(args: argparse.Namespace) -> int

Error policy: no traceback reaches the user unless ``BITCRAPS_DEBUG=1``.

- ``CliError`` from a command: ``bitcraps: error: <message>`` on stderr, exit 2.
- Bad arguments: argparse's usage message, exit 2.
- Ctrl-C: exit 130, silently.
- Anything else: one line ``bitcraps: internal error: ...``, exit 70.

Exceptions that reach ``main`` wrapped in an exception group (trio nurseries wrap them) are
classified by the exceptions they contain.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

from bitcraps.node._cli_errors import CliError

__all__ = ["COMMAND_MODULES", "CliError", "build_parser", "main"]

PROG = "bitcraps"

COMMAND_MODULES = [
    "bitcraps.node.cmd_sim",
    "bitcraps.node.cmd_bench",
    "bitcraps.node.cmd_demo",
    "bitcraps.node.cmd_init",
    "bitcraps.node.cmd_daemon",
    "bitcraps.node.cmd_control",
    "bitcraps.node.cmd_table",
    "bitcraps.node.cmd_play",
    "bitcraps.node.cmd_request",
    "bitcraps.node.cmd_audit",
    "bitcraps.node.cmd_fuzz",
]

# Commands that talk to a running daemon are built alone, without importing every other
# command module (the simulator, pydantic config, ...): `bitcraps status` stays well under
# 300 ms. `bitcraps --help` and every other command still build the full parser.
LEAN_COMMANDS = {
    name: "bitcraps.node.cmd_control"
    for name in ("id", "status", "peers", "tables", "stop", "config")
} | {"table": "bitcraps.node.cmd_table", "request": "bitcraps.node.cmd_request"} | {
    name: "bitcraps.node.cmd_play" for name in ("bet", "roll", "pass", "cashout", "receipt",
                                                "leave", "takedown", "turn-off", "turn-on")} | {
    "daemon": "bitcraps.node.cmd_daemon"}  # its start: not the simulator's imports, nor others'

EXIT_OK = 0
EXIT_USAGE = 2  # CliError and argparse usage errors
EXIT_SOFTWARE = 70  # sysexits.h EX_SOFTWARE: a bug in bitcraps
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE

DEBUG_ENV = "BITCRAPS_DEBUG"

Run = Callable[[argparse.Namespace], int]


def build_parser(command_modules: list[str] | None = None) -> argparse.ArgumentParser:
    """Build the top-level parser with every subcommand module that is installed.

    A module in the list that does not exist yet is skipped; any other import failure
    (including a missing dependency of an existing module) propagates.
    """
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="BitCraps: a peer-to-peer casino node.",
    )
    parser.add_argument("--version", action=_VersionAction, help="print the version and exit")
    parser.add_argument("--data-dir", dest="global_data_dir", metavar="DIR", type=Path,
                        default=None,
                        help="the node's data dir, for any command (same as the command's "
                             "own --data-dir)")
    subparsers = parser.add_subparsers(title="commands", metavar="<command>", dest="command")

    version_parser = subparsers.add_parser("version", help="print the bitcraps version")
    version_parser.set_defaults(run=_run_version)

    names = COMMAND_MODULES if command_modules is None else command_modules
    for name in names:
        module = import_if_present(name)
        if module is None:
            continue
        add_parser = getattr(module, "add_parser", None)
        if not callable(add_parser):
            raise TypeError(f"command module {name} has no add_parser(subparsers) function")
        add_parser(subparsers)
    return parser


def import_if_present(name: str) -> ModuleType | None:
    """The module, or None when it does not exist (a failure inside it still raises)."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None
        raise


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit status (the console script passes it to ``sys.exit``)."""
    try:
        if argv is None:
            argv = sys.argv[1:]
        parser = build_parser(_lean_modules(argv))
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # argparse: --help, or a usage error already printed
            return _system_exit_code(exc)
        _apply_global_data_dir(args)
        run: Run | None = getattr(args, "run", None)
        if run is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        code = run(args)
        if not isinstance(code, int):
            raise TypeError(
                f"command {args.command!r} returned {type(code).__name__}, expected int"
            )
        return code
    except BaseException as exc:  # the CLI's last line of defence: classify, never re-raise
        return _handle(exc)


def _lean_modules(argv: list[str]) -> list[str] | None:
    module = LEAN_COMMANDS.get(_command_name(argv) or "")
    return None if module is None else [module]


def _command_name(argv: list[str]) -> str | None:
    """The subcommand's name: the first word that is neither an option nor the value of the
    global --data-dir."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--data-dir":
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def _apply_global_data_dir(args: argparse.Namespace) -> None:
    """`bitcraps --data-dir DIR status` is `bitcraps status --data-dir DIR` (the command's own
    option wins when both are given)."""
    chosen = getattr(args, "global_data_dir", None)
    if chosen is not None and getattr(args, "data_dir", None) is None:
        args.data_dir = chosen


class _VersionAction(argparse.Action):
    """``--version``: the installed version, looked up only when asked (no cost otherwise)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help=str(kwargs.get("help", "")))

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        print(f"{PROG} {_package_version()}")
        parser.exit(EXIT_OK)


def _run_version(args: argparse.Namespace) -> int:
    print(f"{PROG} {_package_version()}")
    return EXIT_OK


def _package_version() -> str:
    from importlib import metadata  # 20 ms: only for this command

    try:
        return metadata.version(PROG)
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


# --- error reporting -----------------------------------------------------------------------


def _handle(exc: BaseException) -> int:
    if isinstance(exc, SystemExit):
        return _system_exit_code(exc)

    leaves = list(_leaves(exc))
    if any(isinstance(leaf, KeyboardInterrupt) for leaf in leaves):
        return EXIT_INTERRUPTED
    if leaves and all(isinstance(leaf, CliError) for leaf in leaves):
        for leaf in leaves:
            _err(f"{PROG}: error: {_one_line(leaf)}")
        return max(getattr(leaf, "exit_status", EXIT_USAGE) for leaf in leaves)
    if leaves and all(isinstance(leaf, BrokenPipeError) for leaf in leaves):
        _silence_stdout()
        return EXIT_BROKEN_PIPE

    culprit = next((leaf for leaf in leaves if not isinstance(leaf, CliError)), exc)
    line = f"{PROG}: internal error: {_type_name(culprit)}: {_one_line(culprit)}"
    if _debug():
        traceback.print_exception(exc, file=sys.stderr)
        _err(line)
    else:
        _err(f"{line} (set {DEBUG_ENV}=1 for a traceback)")
    return EXIT_SOFTWARE


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner)
    else:
        yield exc


def _system_exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return EXIT_OK
    if isinstance(exc.code, int):
        return exc.code
    _err(str(exc.code))
    return 1


def _type_name(exc: BaseException) -> str:
    cls = type(exc)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _one_line(exc: BaseException) -> str:
    text = " ".join(part.strip() for part in str(exc).splitlines() if part.strip())
    return text or "(no message)"


def _debug() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip() not in ("", "0")


def _err(text: str) -> None:
    try:
        print(text, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def _silence_stdout() -> None:
    # Python would complain again when it flushes stdout at exit; point it at /dev/null.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


if __name__ == "__main__":
    sys.exit(main())
