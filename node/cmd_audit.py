"""`bitcraps audit dice`: how fair is the raw dice physics?

Runs N throws on the best physics backend (seeds derived from ``--seed`` and the throw's
index, so a run can be repeated), counts the face each die landed on *before* relabelling
(both dice of every throw: 2N faces) and tests the counts against a fair die with Pearson's
chi-square (5 degrees of freedom). A roll's shown values never depend on this: they come
from the seed and the dice are relabelled to show them. ``--plot`` draws the face
histogram and the distribution of settle times.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bitcraps.node._cli_errors import CliError

if TYPE_CHECKING:
    import numpy as np

__all__ = ["add_parser", "audit_dice"]

DEFAULT_THROWS = 10_000
DEFAULT_CHUNK = 2048
SEED_DOMAIN = b"bitcraps/audit-dice/v1"


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("audit", help="statistical audits of the node's randomness")
    audits = parser.add_subparsers(title="audits", metavar="<audit>", dest="audit")
    dice = audits.add_parser(
        "dice", help="throw the physics N times and test the landed faces for fairness",
        description="Simulate N throws on the best physics backend and test the faces the "
                    "dice landed on (before relabelling) against a fair die.")
    dice.add_argument("--throws", type=int, default=DEFAULT_THROWS, metavar="N",
                      help=f"throws to simulate (default {DEFAULT_THROWS})")
    dice.add_argument("--seed", default="0", metavar="TEXT",
                      help="names the run: throw i's seed is SHA-256(domain, TEXT, i) "
                           "(default 0)")
    dice.add_argument("--backend", choices=("auto", "opencl", "numpy", "python"),
                      default="auto", help="physics backend (default auto: the best device)")
    dice.add_argument("--device", default=None,
                      help="OpenCL device: a substring of its platform or device name")
    dice.add_argument("--chunk", type=int, default=DEFAULT_CHUNK, metavar="K",
                      help=f"throws per backend call (default {DEFAULT_CHUNK})")
    dice.add_argument("--plot", type=Path, default=None, metavar="FILE.png",
                      help="draw the face histogram and settle-time distribution")
    dice.add_argument("--json", action="store_true", help="print one JSON object")
    dice.set_defaults(run=_run_dice)
    parser.set_defaults(run=_run_missing_audit)


def _run_missing_audit(args: argparse.Namespace) -> int:
    raise CliError("name an audit: `bitcraps audit dice --throws 10000 --json`")


def _run_dice(args: argparse.Namespace) -> int:
    if not 1 <= args.throws <= 100_000_000:
        raise CliError("--throws must be between 1 and 100000000")
    if not 1 <= args.chunk <= 65_536:
        raise CliError("--chunk must be between 1 and 65536")
    if args.plot is not None and args.plot.suffix.lower() != ".png":
        raise CliError("--plot needs a .png file name")
    if args.plot is not None and not args.plot.resolve().parent.is_dir():
        raise CliError(f"--plot: directory {args.plot.resolve().parent} does not exist")
    from bitcraps.accel.physics import PhysicsBackendError, select_physics_backend

    try:
        backend, _reason = select_physics_backend(args.backend, device_hint=args.device)
    except PhysicsBackendError as exc:
        raise CliError(str(exc)) from exc
    result, settle_steps = audit_dice(backend, args.throws, args.seed.encode(), args.chunk)
    if args.plot is not None:
        _plot(args.plot, result, settle_steps)
        result["plot"] = str(args.plot)
    if args.json:
        print(json.dumps(result))
    else:
        _print_human(result)
    return 0


def audit_dice(backend: Any, throws: int, run_name: bytes,
               chunk: int = DEFAULT_CHUNK) -> tuple[dict[str, Any], np.ndarray]:
    """The audit's JSON object and every throw's settle step count."""
    import numpy as np
    from tqdm import tqdm

    from bitcraps.accel.physics import face_fairness, initial_state

    counts = np.zeros(7, dtype=np.int64)
    settle_steps = np.zeros(throws, dtype=np.int64)
    unsettled = 0
    started = time.perf_counter()
    with tqdm(total=throws, unit="throw", file=sys.stderr, desc="dice audit") as progress:
        for first in range(0, throws, chunk):
            indices = range(first, min(first + chunk, throws))
            states = np.array([initial_state(_seed(run_name, i)) for i in indices],
                              dtype=np.int64)
            batch = backend.simulate(states)
            counts += np.bincount(batch.landed_faces.ravel(), minlength=7)
            settle_steps[first:first + len(indices)] = batch.settle_steps
            unsettled += int((~batch.settled).sum())
            progress.update(len(indices))
    elapsed = time.perf_counter() - started
    fairness = face_fairness([int(c) for c in counts[1:]])
    statistics = backend.statistics()
    return {
        "throws": throws,
        "chi2": round(fairness.chi2, 4),
        "p_value": fairness.p_value,
        "faces": list(fairness.counts),
        "device": f"{backend.name}: {backend.description}",
        "settle_s": _settle_seconds(settle_steps),
        "unsettled": unsettled,
        "fallback_batches": statistics.get("fallback_batches", 0),
        "throws_per_s": round(throws / max(elapsed, 1e-9), 1),
    }, settle_steps


def _seed(run_name: bytes, index: int) -> bytes:
    return hashlib.sha256(SEED_DOMAIN + len(run_name).to_bytes(4, "big") + run_name
                          + index.to_bytes(8, "big")).digest()


def _settle_seconds(settle_steps: np.ndarray) -> dict[str, float]:
    import numpy as np

    from bitcraps.accel.physics._constants import STEPS_PER_SECOND

    seconds = settle_steps / STEPS_PER_SECOND
    return {"mean": round(float(seconds.mean()), 3),
            "p50": round(float(np.percentile(seconds, 50)), 3),
            "p99": round(float(np.percentile(seconds, 99)), 3),
            "max": round(float(seconds.max()), 3)}


def _plot(path: Path, result: dict[str, Any], settle_steps: np.ndarray) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bitcraps.accel.physics._constants import STEPS_PER_SECOND

    figure, (faces_axis, settle_axis) = plt.subplots(1, 2, figsize=(11, 4.2))
    expected = 2 * result["throws"] / 6
    faces_axis.bar(range(1, 7), result["faces"], color="#2e7d32")
    faces_axis.axhline(expected, color="black", linestyle="--", linewidth=1,
                       label=f"fair: {expected:.0f}")
    faces_axis.set(xlabel="landed face (before relabelling)", ylabel="dice",
                   title=f"{2 * result['throws']} dice: chi2 {result['chi2']:.2f}, "
                         f"p = {result['p_value']:.3f}")
    faces_axis.legend(loc="lower right")
    settle_axis.hist(settle_steps / STEPS_PER_SECOND, bins=60, color="#1565c0")
    settle_axis.set(xlabel="settle time (s)", ylabel="throws",
                    title=f"settle time: median {result['settle_s']['p50']} s")
    figure.suptitle(f"raw dice physics on {result['device']}", fontsize=9)
    figure.tight_layout()
    try:
        figure.savefig(path, dpi=110)
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        plt.close(figure)


def _print_human(result: dict[str, Any]) -> None:
    print(f"dice audit: {result['throws']} throws ({2 * result['throws']} dice) on "
          f"{result['device']}, {result['throws_per_s']:.0f} throws/s")
    print(f"  faces 1..6: {result['faces']}")
    print(f"  chi-square {result['chi2']} (5 dof), p-value {result['p_value']:.4f}")
    settle = result["settle_s"]
    print(f"  settle time: mean {settle['mean']} s, p99 {settle['p99']} s, max {settle['max']} "
          f"s; {result['unsettled']} throws did not settle")
    if "plot" in result:
        print(f"  plot: {result['plot']}")
