"""`bitcraps fuzz TARGET --inputs N [--seed S] [--index I] [--json]`: fuzz the decoders.

Each target is a decoder of bytes that someone else chose (`bitcraps fuzz --list`); `all`
runs every one. Inputs are deterministic per (target, seed, index), so a finding replays
alone with ``--index``. Prints a summary (or JSON: inputs, max ms, peak bytes, failures with
their seed, index and input hex) and exits 1 if anything broke the oracle.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bitcraps.node._cli_errors import CliError

__all__ = ["add_parser"]

DEFAULT_INPUTS = 10_000


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "fuzz", help="fuzz every decoder of untrusted bytes with structurally hostile input",
        description="Feed a decoder mutations of valid encodings and hostile msgpack; any "
                    "exception but its typed error, a non-canonical value, over 100 ms or "
                    "unbounded memory is a finding.")
    parser.add_argument("target", nargs="?", help="a target name (see --list), or 'all'")
    parser.add_argument("--inputs", type=int, default=DEFAULT_INPUTS, metavar="N")
    parser.add_argument("--seed", type=int, default=0, metavar="S")
    parser.add_argument("--index", type=int, metavar="I", help="replay only input I")
    parser.add_argument("--json", action="store_true", help="print JSON results")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from bitcraps.node.fuzz import TARGET_NAMES, get_target, run_target

    if args.list:
        for name in TARGET_NAMES:
            print(f"{name:20s} {get_target(name).what}")
        return 0
    if args.target is None:
        raise CliError("name a target (bitcraps fuzz --list), or 'all'")
    names = list(TARGET_NAMES) if args.target == "all" else [args.target]
    if any(name not in TARGET_NAMES for name in names):
        raise CliError(f"no fuzz target {args.target}; see bitcraps fuzz --list")
    if args.inputs < 0:
        raise CliError("--inputs is at least 0")
    indices = None if args.index is None else [args.index]
    reports = []
    for name in names:
        report = run_target(get_target(name), args.inputs, args.seed, indices)
        reports.append(report.to_json())
        if not args.json:
            _print_summary(report.to_json())
    if args.json:
        json.dump({"targets": reports}, sys.stdout, indent=1)
        print()
    return 1 if any(report["failures"] for report in reports) else 0


def _print_summary(report: dict[str, Any]) -> None:
    print(f"{report['target']:20s} inputs {report['inputs']:>7d}  max {report['max_ms']:8.2f} ms"
          f"  peak {report['peak_bytes']:>10d} B  failures {len(report['failures'])}",
          flush=True)
    for failure in report["failures"]:
        print(f"  {failure['kind']}: {failure['detail']} ({failure['input_bytes']} bytes)\n"
              f"    replay: {failure['replay']}\n    input: {failure['input_hex']}")
