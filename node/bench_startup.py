"""`bitcraps bench startup`: seconds from spawning `bitcraps daemon` to its READY=1.

Each run spawns a real daemon process the way systemd would (`NOTIFY_SOCKET` set) and
times it from the spawn to the READY=1 datagram; the daemon is then stopped with SIGTERM
before the next run. Three nodes are measured, each over ``--runs`` restarts of its own
data dir: one that hosts no table, one with a key-value table and one with a craps table
(both one-replica tables from ``[[tables]]``, so nothing waits on other nodes). A craps
table waits for its dice physics backend (its OpenCL self-test, where there is a device);
the others never do. The first of a node's runs also creates its table's database.

``first_log_s`` is the time to the daemon's first log line (its wall-clock timestamp against
the spawn's): before it, Python imports the daemon's code. ``cpu_s`` is the CPU time the
daemon and its signature workers had used at READY=1: on a machine that other work keeps
busy, wall time grows with that work, CPU time much less. Speed is reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import tempfile
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from bitcraps.node._cli_errors import CliError

__all__ = ["NODES", "add_target", "bench_startup"]

NODES = ("no_table", "kv_table", "craps_table")
DEFAULT_RUNS = 5
READY_TIMEOUT_S = 120.0


def add_target(targets: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = targets.add_parser(
        "startup", help="seconds from spawning the daemon to READY=1 (median and max), for a "
                        "node with no table, a kv table and a craps table")
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS,
                        help=f"starts per node (default {DEFAULT_RUNS})")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    if not 1 <= args.runs <= 100:
        raise CliError("--runs must be between 1 and 100")
    result = bench_startup(args.runs)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"startup bench: spawn to READY=1 over {result['runs']} starts each "
          f"({result['cpus']} CPUs)")
    for name in NODES:
        node = result["nodes"][name]
        print(f"  {name:12} median {node['ready_s']['median']} s, max {node['ready_s']['max']} s"
              f" (first log line: median {node['first_log_s']['median']} s; CPU "
              f"{node['cpu_s']['median']} s)")
    return 0


def bench_startup(runs: int, nodes: Sequence[str] = NODES,
                  env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Start each of `nodes` `runs` times; `env` is added to the daemons' environment."""
    root = Path(tempfile.mkdtemp(prefix="bcs-", dir="/tmp"))  # AF_UNIX paths are short
    try:
        measured = {name: _measure(_prepare(root / name, name), runs, env or {})
                    for name in nodes}
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {"runs": runs, "cpus": os.cpu_count(), "nodes": measured}


def _prepare(root: Path, node: str) -> Any:
    """A data dir and node.toml for `node`: a one-replica table of its game, or none."""
    from bitcraps.node.process_cluster import make_cluster
    from bitcraps.node.table_blocks import new_terms, table_block

    [daemon] = make_cluster(1, root=root, shared_table=False)
    if node != "no_table":
        key = bytes.fromhex(daemon.node_id)
        terms = new_terms("kv" if node == "kv_table" else "craps", [key])
        toml = daemon.data_dir / "node.toml"
        toml.write_text(toml.read_text() + table_block(terms, {key: daemon.multiaddr}))
    return daemon


def _measure(daemon: Any, runs: int, env: Mapping[str, str]) -> dict[str, Any]:
    ready: list[float] = []
    first_log: list[float] = []
    cpu: list[float] = []
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)  # `Daemon.launch` passes this process's environment on
    try:
        for _ in range(runs):
            log = daemon.data_dir / "daemon.log"
            offset = log.stat().st_size if log.exists() else 0
            spawned_wall, spawned = time.time(), time.perf_counter()
            daemon.launch(READY_TIMEOUT_S)
            daemon.wait_notify("READY=1")
            ready.append(time.perf_counter() - spawned)
            cpu.append(_cpu_seconds(daemon.process.pid))
            if daemon.kill(signal.SIGTERM) != 0:
                raise RuntimeError("the daemon did not exit 0 on SIGTERM:\n" + daemon.log_tail())
            first = _first_log_time(log, offset)
            if first is not None:
                first_log.append(max(0.0, first - spawned_wall))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return {"ready_s": _summary(ready), "first_log_s": _summary(first_log),
            "cpu_s": _summary(cpu), "samples_s": [round(s, 3) for s in ready]}


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of process `pid` and its children (the signature workers)
    so far: what a start costs whatever else the machine runs (0.0 without /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    pids = [pid]
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            pids += [int(child) for child in (task / "children").read_text().split()]
    except OSError:
        pass
    for each in pids:
        try:
            fields = Path(f"/proc/{each}/stat").read_bytes().rsplit(b")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return total / ticks


def _first_log_time(log: Path, offset: int) -> float | None:
    """The wall-clock time of the first JSON line the daemon wrote past `offset`."""
    with log.open("rb") as lines:
        lines.seek(offset)
        for line in lines:
            try:
                stamp = json.loads(line)["timestamp"]
                return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
            except (ValueError, KeyError, TypeError):
                continue
    return None


def _summary(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"median": 0.0, "max": 0.0, "min": 0.0}
    return {"median": round(statistics.median(samples), 3), "max": round(max(samples), 3),
            "min": round(min(samples), 3)}
