"""`bitcraps sim`: the deterministic consensus simulator over many seeds.

Each seed is one scenario (faults, load, tunables) run in virtual time with real Ed25519
signatures; the invariants are checked throughout. Exit status 0 means no violation and
every scenario live; 1 otherwise, with each failing seed's replay command printed.
`--game craps` runs a craps table on the replicas instead of the key-value store: the real
DKG and coin shares on libsodium's group, scripted players, and replicas that withhold or
corrupt coin shares or deal bad DKG shares (see bitcraps.games.sim_craps).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from bitcraps.accel._ed25519_cpu import Ed25519Signer, verify_one
from bitcraps.accel._ed25519_group import SodiumEd25519Group
from bitcraps.consensus.sim import (
    ScenarioResult,
    SignatureCheck,
    make_scenario,
    parse_faults,
    run_scenario,
    summarize,
)
from bitcraps.games.sim_craps import (
    TABLE_FAULTS,
    make_craps_scenario,
    run_craps_scenario,
    summarize_craps,
)
from bitcraps.node._cli_errors import CliError

__all__ = ["add_parser", "verify_batch"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sim", help="run the deterministic consensus simulator over many seeds",
        description="Run PBFT scenarios in virtual time with faults, checking safety and "
                    "liveness invariants. A failing seed prints the command that replays it.",
    )
    parser.add_argument("--game", choices=("kv", "craps"), default="kv",
                        help="what the replicas run: kv (a key-value store, default) or craps "
                             "(a craps table with fair dice and scripted players)")
    parser.add_argument("--replicas", type=int, default=4, metavar="N",
                        help="replicas per scenario (default 4)")
    runs = parser.add_mutually_exclusive_group()
    runs.add_argument("--seeds", type=int, default=20, metavar="K",
                      help="number of seeds to run (default 20)")
    runs.add_argument("--seed", type=int, default=None, metavar="S",
                      help="run this one seed (replay)")
    parser.add_argument("--first-seed", type=int, default=0, metavar="S",
                        help="first seed of the range (default 0)")
    parser.add_argument("--faults", default="all", metavar="KINDS",
                        help="all (each seed picks a random set), none, or a comma list of: "
                             "drop, duplicate, reorder, partition, crash, silent, equivocate, "
                             "wrong_digest, stale, twins, byzantine_client, hostile_payload; "
                             "with --game craps "
                             f"also {', '.join(TABLE_FAULTS)} (default all)")
    parser.add_argument("--jobs", type=int, default=1, metavar="J",
                        help="worker processes (default 1); results do not depend on it")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def verify_batch(checks: Sequence[SignatureCheck]) -> list[bool]:
    return [verify_one(pk, msg, sig) for pk, msg, sig in checks]


def _one(job: tuple[str, int, int, str]) -> ScenarioResult:
    game, seed, replicas, faults = job
    if game == "craps":
        return run_craps_scenario(seed, replicas, faults, Ed25519Signer, verify_batch,
                                  SodiumEd25519Group())
    return run_scenario(seed, replicas, faults, Ed25519Signer, verify_batch)


def _seeds(args: argparse.Namespace) -> list[int]:
    if args.seed is not None:
        return [args.seed]
    if args.seeds < 1:
        raise CliError("--seeds must be at least 1")
    return list(range(args.first_seed, args.first_seed + args.seeds))


def _check(args: argparse.Namespace, seeds: list[int]) -> None:
    if args.jobs < 1:
        raise CliError("--jobs must be at least 1")
    try:
        if args.game == "craps":
            make_craps_scenario(seeds[0], args.replicas, args.faults)
        else:
            parse_faults(args.faults)
            make_scenario(seeds[0], args.replicas, args.faults)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _results(args: argparse.Namespace, seeds: list[int]) -> Iterator[ScenarioResult]:
    jobs = [(args.game, seed, args.replicas, args.faults) for seed in seeds]
    if args.jobs == 1 or len(seeds) == 1:
        yield from map(_one, jobs)
        return
    with ProcessPoolExecutor(args.jobs) as pool:
        yield from pool.map(_one, jobs, chunksize=max(1, len(jobs) // (8 * args.jobs)))


def run(args: argparse.Namespace) -> int:
    seeds = _seeds(args)
    _check(args, seeds)
    progress = sys.stderr.isatty()
    started = time.monotonic()
    results: list[ScenarioResult] = []
    for result in _results(args, seeds):
        results.append(result)
        if progress:
            bad = sum(1 for r in results if not r.ok)
            print(f"\r{len(results)}/{len(seeds)} seeds, {bad} failing", end="",
                  file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    if args.game == "craps":
        summary = summarize_craps(results, args.replicas, args.faults)
    else:
        summary = summarize(results, args.replicas, args.faults)
    summary["elapsed_s"] = round(time.monotonic() - started, 3)
    if args.json:
        print(json.dumps(summary, sort_keys=True))
    else:
        _print_summary(summary, results)
    ok = summary["violations"] == 0 and summary["live"] == summary["scenarios"]
    return 0 if ok else 1


def _print_summary(summary: dict[str, Any], results: list[ScenarioResult]) -> None:
    totals = summary["totals"]
    print(f"{summary['scenarios']} scenario(s), n={summary['replicas']}, "
          f"faults {summary['faults']}: {summary['violations']} violation(s), "
          f"{summary['live']} live, in {summary['elapsed_s']:.1f}s")
    print(f"  requests completed {totals.get('requests_completed', 0)}, "
          f"view changes {totals.get('view_changes_started', 0)}, "
          f"state transfers {totals.get('state_transfers', 0)}, "
          f"crashes {totals.get('crashes', 0)}, "
          f"frames dropped by the decoder {totals.get('decode_errors', 0)}, "
          f"bad signatures {totals.get('bad_signatures', 0)}")
    if "rolls" in summary:
        print(f"  rolls {summary['rolls']}, bets placed {totals.get('bets_placed', 0)} "
              f"(refused {totals.get('bets_rejected', 0)}), coin shares withheld "
              f"{totals.get('shares_withheld', 0)}, corrupted "
              f"{totals.get('shares_corrupted', 0)}, dealers disqualified "
              f"{totals.get('dkg_disqualified', 0)}")
    for result in results:
        if not result.ok:
            print(result.describe())
