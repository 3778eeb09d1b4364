"""`bitcraps bench consensus`: throughput and latency of the replicated log, in one process.

(`--transport libp2p` runs real daemons instead, and `bitcraps bench transport` measures the
libp2p transport alone: see `_bench_libp2p`.)

All replicas and clients run on the in-process cluster (`local_cluster`): real Ed25519
signatures on every message, every signature verified by every receiver (in batches),
every Ready persisted to the replica's `DurableLog` before its messages leave. Two phases:

- loaded: `--clients` clients, each with one request outstanding (the Client contract),
  keep the primary's batches full; gives `committed_per_s` and `loaded_latency_ms`;
- low load: one client, one request at a time; gives `latency_ms` (p50/p99), also
  reported as `low_load_latency_ms`.

Signatures are verified by worker processes by default (`--verifier processes`): the
thread pool's threads must take the GIL back after every signature, and next to a busy
interpreter each hand-back waits out the switch interval (see `accel._ed25519_procs`).
`cpu_ms_per_request` counts this process and the workers, so a figure taken on a shared
machine can be read against the CPU it actually got. Wall-clock time is only measured
here; the protocol's timers run on virtual ticks.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import deque
from typing import Any

import msgpack

from bitcraps.node._cli_errors import CliError
from bitcraps.node._percentiles import percentiles_ms
from bitcraps.node.local_cluster import BatchVerifierWithSubmit, LocalCluster

__all__ = ["add_parser", "bench_consensus"]

DEFAULT_REQUESTS = 20_000
DEFAULT_CLIENTS = 512
DEFAULT_BATCH_MAX = 256
LOW_LOAD_REQUESTS = 500
MAX_TICKS_WITHOUT_PROGRESS = 1_000
LIBP2P_REQUESTS = 2_000
LIBP2P_CLIENTS = 8  # API client threads, spread over the daemons, each posting batches
LIBP2P_LOW_LOAD_REQUESTS = 200
LOOPBACK_PINGS = 5_000
LOOPBACK_FRAMES = 50_000

# Benchmarks that live beside the code they measure. Each module exposes
# ``add_target(targets)`` and adds its own subparser; a module not installed yet is skipped.
BENCH_TARGET_MODULES = [
    "bitcraps.node.bench_physics",
    "bitcraps.node.bench_sigverify",
    "bitcraps.node.bench_startup",
]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("bench", help="measure throughput and latency")
    targets = parser.add_subparsers(title="benchmarks", metavar="<benchmark>", dest="benchmark")
    consensus = targets.add_parser(
        "consensus",
        help="committed signed client requests per second and latency, all replicas in-process",
    )
    consensus.add_argument("--replicas", type=int, default=4, help="replicas (default 4)")
    consensus.add_argument("--requests", type=int, default=None,
                           help=f"requests in the loaded phase (default {DEFAULT_REQUESTS}; "
                                f"libp2p: {LIBP2P_REQUESTS})")
    consensus.add_argument("--clients", type=int, default=None,
                           help=f"concurrent clients, loaded phase (default {DEFAULT_CLIENTS}; "
                                f"libp2p: {LIBP2P_CLIENTS} API client threads)")
    consensus.add_argument("--batch-max", type=int, default=DEFAULT_BATCH_MAX,
                           help=f"most requests in one batch (default {DEFAULT_BATCH_MAX})")
    consensus.add_argument("--low-load-requests", type=int, default=None,
                           help=f"sequential requests in the low-load phase "
                                f"(default min(requests, {LOW_LOAD_REQUESTS}))")
    consensus.add_argument("--verifier", choices=("processes", "threads"), default="processes",
                           help="where signatures are verified: worker processes (default) "
                                "or the CPU verifier's thread pool")
    consensus.add_argument("--workers", type=int, default=None,
                           help="verification processes or threads (default: one per CPU)")
    consensus.add_argument("--lockstep", action="store_true",
                           help="step every node's batch in node order each sweep "
                                "(reproducible; default: pipelined)")
    consensus.add_argument("--transport", choices=("memory", "libp2p"), default="memory",
                           help="memory (default): all replicas in this process; libp2p: "
                                "real daemon processes on loopback, load through their APIs")
    consensus.add_argument("--tick-ms", type=int, default=10,
                           help="the daemons' tick, --transport libp2p (default 10)")
    consensus.add_argument("--json", action="store_true", help="print one JSON object")
    consensus.set_defaults(run=_run_consensus)
    transport = targets.add_parser(
        "transport", help="RTT and frames/s of a transport between two processes on loopback")
    transport.add_argument("--transport", choices=("libp2p",), default="libp2p",
                           help="the transport to measure (default libp2p)")
    transport.add_argument("--pings", type=int, default=LOOPBACK_PINGS,
                           help=f"round trips, one at a time (default {LOOPBACK_PINGS})")
    transport.add_argument("--frames", type=int, default=LOOPBACK_FRAMES,
                           help=f"one-way frames per phase (default {LOOPBACK_FRAMES})")
    transport.add_argument("--size", type=int, default=1024,
                           help="frame bytes (default 1024)")
    transport.add_argument("--senders", type=int, default=8,
                           help="concurrent senders in the msgs/s phase (default 8)")
    transport.add_argument("--json", action="store_true", help="print one JSON object")
    transport.set_defaults(run=_run_transport)
    _add_target_modules(targets)
    parser.set_defaults(run=_run_missing_target)


def _add_target_modules(targets: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from bitcraps.node.cli import import_if_present

    for name in BENCH_TARGET_MODULES:
        module = import_if_present(name)
        if module is not None:
            module.add_target(targets)


def _run_missing_target(args: argparse.Namespace) -> int:
    raise CliError("name a benchmark: `bitcraps bench consensus --replicas 4 --json`")


def _run_transport(args: argparse.Namespace) -> int:
    if args.pings < 1 or args.frames < 1 or args.senders < 1:
        raise CliError("--pings, --frames and --senders must be at least 1")
    if not 2 <= args.size <= 1 << 20:
        raise CliError("--size must be between 2 and 1048576 bytes")
    from bitcraps.node._bench_libp2p import bench_transport_libp2p

    result = bench_transport_libp2p(args.pings, args.frames, args.size, args.senders)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['transport']} transport bench: {result['frame_bytes']}-byte frames "
              f"between two processes on loopback")
        print(f"  RTT p50 {result['rtt_ms']['p50']} ms, p99 {result['rtt_ms']['p99']} ms "
              f"over {result['pings']} round trips")
        print(f"  {result['msgs_per_s']:.0f} frames/s from {result['senders']} senders, "
              f"{result['one_sender_msgs_per_s']:.0f} frames/s from one; "
              f"{result['dropped']} dropped")
    return 0


def _run_consensus(args: argparse.Namespace) -> int:
    if args.replicas < 1 or args.replicas > 64:
        raise CliError("--replicas must be between 1 and 64")
    if args.transport == "libp2p":
        return _run_consensus_libp2p(args)
    if args.requests is None:
        args.requests = DEFAULT_REQUESTS
    if args.clients is None:
        args.clients = DEFAULT_CLIENTS
    if args.requests < 1 or args.clients < 1:
        raise CliError("--requests and --clients must be at least 1")
    if not 1 <= args.batch_max <= 4096:
        raise CliError("--batch-max must be between 1 and 4096")
    if args.workers is not None and args.workers < 1:
        raise CliError("--workers must be at least 1")
    low_load = args.low_load_requests
    if low_load is None:
        low_load = min(args.requests, LOW_LOAD_REQUESTS)
    result = bench_consensus(args.replicas, args.requests, args.clients, args.batch_max,
                             low_load, verifier=args.verifier, workers=args.workers,
                             pipelined=not args.lockstep)
    if args.json:
        print(json.dumps(result))
    else:
        _print_human(result)
    return 0


def _run_consensus_libp2p(args: argparse.Namespace) -> int:
    if not 4 <= args.replicas <= 16:
        raise CliError("--replicas must be between 4 and 16 with --transport libp2p")
    requests = LIBP2P_REQUESTS if args.requests is None else args.requests
    clients = LIBP2P_CLIENTS if args.clients is None else args.clients
    if requests < 1 or clients < 1:
        raise CliError("--requests and --clients must be at least 1")
    if args.tick_ms < 1:
        raise CliError("--tick-ms must be at least 1")
    from bitcraps.node._bench_libp2p import bench_consensus_libp2p

    low_load = args.low_load_requests
    if low_load is None:
        low_load = min(requests, LIBP2P_LOW_LOAD_REQUESTS)
    result = bench_consensus_libp2p(args.replicas, requests, min(clients, requests), low_load,
                                    tick_ms=args.tick_ms)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"consensus bench: {result['replicas']} daemons over libp2p on loopback, "
              f"load through their control APIs ({result['clients']} client threads)")
        print(f"  loaded:   {result['committed_per_s']:.0f} committed requests/s over "
              f"{result['requests']} requests, latency p50 {result['loaded_latency_ms']['p50']} "
              f"ms, p99 {result['loaded_latency_ms']['p99']} ms")
        print(f"  low load: latency p50 {result['latency_ms']['p50']} ms, "
              f"p99 {result['latency_ms']['p99']} ms over {result['low_load_requests']} "
              f"sequential requests")
        print(f"  replicas' state digests equal: {result['digests_equal']}")
    return 0


def bench_consensus(replicas: int, requests: int, clients: int, batch_max: int,
                    low_load_requests: int, *, verifier: str = "processes",
                    workers: int | None = None, pipelined: bool = True) -> dict[str, Any]:
    clients = min(clients, requests)
    verify = _make_verifier(verifier, workers)
    try:
        loaded = _loaded_phase(replicas, requests, clients, batch_max, verify, pipelined)
        low = _low_load_phase(replicas, low_load_requests, batch_max, verify, pipelined)
    finally:
        verify.close()
    return {
        "committed_per_s": loaded["committed_per_s"],
        "latency_ms": low["latency_ms"],
        "requests": loaded["requests"],
        "replicas": replicas,
        "clients": clients,
        "batch_max": batch_max,
        "loaded_latency_ms": loaded["latency_ms"],
        "low_load_latency_ms": low["latency_ms"],
        "low_load_requests": low["requests"],
        "low_load_committed_per_s": low["committed_per_s"],
        "mean_batch_requests": loaded["mean_batch_requests"],
        "signatures_verified_per_request": loaded["signatures_verified_per_request"],
        "cpu_ms_per_request": loaded["cpu_ms_per_request"],
        "verifier": verifier,
        "verify_workers": verify.threads,
        "pipelined": pipelined,
        "cpus": os.cpu_count(),
        "digests_equal": loaded["digests_equal"] and low["digests_equal"],
    }


def _make_verifier(kind: str, workers: int | None) -> BatchVerifierWithSubmit:
    if kind == "threads":
        from bitcraps.accel._ed25519_cpu import CpuBatchVerifier

        return CpuBatchVerifier(workers)
    from bitcraps.accel._ed25519_procs import ProcessBatchVerifier

    return ProcessBatchVerifier(workers)


def _loaded_phase(replicas: int, requests: int, clients: int, batch_max: int,
                  verifier: BatchVerifierWithSubmit, pipelined: bool) -> dict[str, Any]:
    cluster = LocalCluster(replicas, clients, verifier=verifier, clock=time.perf_counter,
                           pipelined=pipelined, batch_max_requests=batch_max)
    operations = [_op([b"add", b"counter-%d" % i, 1]) for i in range(clients)]
    idle: deque[int] = deque(range(clients))
    cluster.completion_hooks.append(lambda node: idle.append(node.index))
    issued = done = 0
    ticks_at_progress = 0
    cpu_before = _cpu_seconds(verifier)
    started = time.perf_counter()
    while done < requests:
        while idle and issued < requests:
            client = idle.popleft()
            cluster.submit(client, operations[client])
            issued += 1
        if not cluster.sweep():
            if cluster.now_ticks - ticks_at_progress > MAX_TICKS_WITHOUT_PROGRESS:
                raise RuntimeError("the table stopped committing requests")
            cluster.tick()
        if cluster.completed != done:
            done = cluster.completed
            ticks_at_progress = cluster.now_ticks
    elapsed = time.perf_counter() - started
    cpu = _cpu_seconds(verifier) - cpu_before
    cluster.settle()
    latencies = [s for node in cluster.clients for s in node.latencies_s]
    batches = max(node.live().statistics()["batches_executed"] for node in cluster.replicas)
    return {
        "committed_per_s": round(requests / elapsed, 1),
        "requests": requests,
        "latency_ms": percentiles_ms(latencies),
        "mean_batch_requests": round(requests / max(1, batches), 1),
        "signatures_verified_per_request": round(cluster.signatures_verified / requests, 2),
        "cpu_ms_per_request": round(cpu / requests * 1000, 3),
        "digests_equal": len(set(cluster.state_digests().values())) == 1,
    }


def _low_load_phase(replicas: int, requests: int, batch_max: int,
                    verifier: BatchVerifierWithSubmit, pipelined: bool) -> dict[str, Any]:
    cluster = LocalCluster(replicas, 1, verifier=verifier, clock=time.perf_counter,
                           pipelined=pipelined, batch_max_requests=batch_max)
    client = cluster.clients[0].client
    operation = _op([b"add", b"counter", 1])
    started = time.perf_counter()
    for _ in range(requests):
        cluster.submit(0, operation)
        if not cluster.run_until(lambda: not client.busy, MAX_TICKS_WITHOUT_PROGRESS):
            raise RuntimeError("the table stopped committing requests")
    elapsed = time.perf_counter() - started
    cluster.settle()
    return {
        "committed_per_s": round(requests / max(elapsed, 1e-9), 1),
        "requests": requests,
        "latency_ms": percentiles_ms(cluster.clients[0].latencies_s),
        "digests_equal": len(set(cluster.state_digests().values())) == 1,
    }


def _cpu_seconds(verifier: BatchVerifierWithSubmit) -> float:
    """CPU time of this process (all its threads) and of the verifier's worker processes."""
    total = time.process_time()
    ticks_per_s = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for pid in getattr(verifier, "pids", []):
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks_per_s
        except (OSError, IndexError, ValueError):
            pass
    return total




def _print_human(result: dict[str, Any]) -> None:
    print(f"consensus bench: {result['replicas']} replicas, {result['clients']} clients, "
          f"batches of up to {result['batch_max']}, signatures verified by "
          f"{result['verify_workers']} {result['verifier']}")
    print(f"  loaded:   {result['committed_per_s']:.0f} committed requests/s over "
          f"{result['requests']} requests (mean batch {result['mean_batch_requests']}), "
          f"latency p50 {result['loaded_latency_ms']['p50']} ms, "
          f"p99 {result['loaded_latency_ms']['p99']} ms, "
          f"{result['cpu_ms_per_request']} CPU ms per request")
    print(f"  low load: latency p50 {result['latency_ms']['p50']} ms, "
          f"p99 {result['latency_ms']['p99']} ms over {result['low_load_requests']} "
          f"sequential requests")
    print(f"  replicas' state digests equal: {result['digests_equal']}")


def _op(items: list[Any]) -> bytes:
    """A key-value operation, msgpack-encoded as the application expects."""
    encoded: bytes = msgpack.packb(items, use_bin_type=True)
    return encoded
