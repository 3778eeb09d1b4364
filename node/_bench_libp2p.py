"""The libp2p benchmarks: `bench transport --transport libp2p` and
`bench consensus --transport libp2p`.

- transport: two processes on loopback (`transports._bench_loopback.measure`): 1 KiB frames,
  RTT one at a time, then one-way frames/s from one sender and from several.
- consensus: `replicas` real `bitcraps daemon` processes on loopback (`process_cluster`),
  each with its own SQLite log (fsync on every persist), libp2p between them. The bench waits
  until every daemon has a connection to every other one (the daemons dial each other at
  start and keep those connections warm), commits a few warm-up requests, then drives load
  through the daemons' control APIs (`"driver": "api"`): one persistent HTTP client per thread
  over the Unix socket. In the loaded phase each call carries `API_BATCH` requests, which the
  node commits concurrently through its pool of client keys (`CLIENT_POOL` per table), so
  hundreds are in flight and the primary's batches fill; the low-load phase sends one
  request at a time through one daemon.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import trio

from bitcraps.node._cli_errors import CliError
from bitcraps.node._cookie import read_cookie
from bitcraps.node._percentiles import percentiles_ms

__all__ = ["bench_consensus_libp2p", "bench_transport_libp2p"]

PEERS_TIMEOUT_S = 30.0
WARMUP_REQUESTS = 10
REQUEST_TIMEOUT_S = 30.0
API_BATCH = 32


def bench_transport_libp2p(pings: int, frames: int, size: int, senders: int) -> dict[str, Any]:
    from bitcraps.transports._bench_loopback import measure

    raw = trio.run(measure, pings, frames, size, senders)
    one = raw["one_sender"]
    many = raw[f"{senders}_senders"]
    return {
        "transport": "libp2p",
        "rtt_ms": {"p50": float(raw["rtt_p50_ms"]), "p99": float(raw["rtt_p99_ms"]),
                   "max": float(raw["rtt_max_ms"])},
        "msgs_per_s": float(many["frames_per_s"]),
        "one_sender_msgs_per_s": float(one["frames_per_s"]),
        "senders": senders,
        "frame_bytes": size,
        "pings": pings,
        "frames": frames,
        "dropped": one["dropped_at_peer"] + many["dropped_at_peer"],
        "dial_ms": raw["dial_ms"],
        "mb_per_s": many["mb_per_s"],
        "cpus": os.cpu_count(),
    }


class _Api:
    """A persistent HTTP client of one daemon's control API (one per thread)."""

    def __init__(self, data_dir: Path) -> None:
        from bitcraps.node._cookie import cookie_path, socket_path

        token = read_cookie(cookie_path(data_dir))
        self._client = httpx.Client(
            transport=httpx.HTTPTransport(uds=str(socket_path(data_dir))),
            base_url="http://bitcraps", timeout=REQUEST_TIMEOUT_S,
            headers={"authorization": f"Bearer {token}"})

    def get(self, path: str) -> Any:
        response = self._client.get(path)
        response.raise_for_status()
        return response.json()

    def commit(self, table_id: str, operation: str) -> None:
        response = self._client.post(f"/v1/tables/{table_id}/requests",
                                     json={"operation": operation})
        if response.is_error:
            raise RuntimeError(f"request failed: HTTP {response.status_code} {response.text}")

    def commit_many(self, table_id: str, operations: list[str]) -> None:
        response = self._client.post(f"/v1/tables/{table_id}/requests",
                                     json={"operations": operations})
        if response.is_error:
            raise RuntimeError(f"requests failed: HTTP {response.status_code} {response.text}")
        failed = [r["error"] for r in response.json()["results"] if "error" in r]
        if failed:
            raise RuntimeError(f"{len(failed)} requests failed: {failed[0]}")

    def close(self) -> None:
        self._client.close()


def bench_consensus_libp2p(replicas: int, requests: int, clients: int, low_load_requests: int,
                           *, tick_ms: int = 10) -> dict[str, Any]:
    from bitcraps.node.process_cluster import add, make_cluster, stop_all

    daemons = make_cluster(replicas, tick_ms=tick_ms)
    table_id = daemons[0].table_id
    try:
        for daemon in daemons:
            daemon.start()
        apis = [_Api(daemon.data_dir) for daemon in daemons]
        warm_s = _wait_connected(apis, replicas - 1)
        for i in range(WARMUP_REQUESTS):
            apis[i % replicas].commit(table_id, add(b"warm-up"))
        low = _low_load(apis[0], table_id, add(b"counter"), low_load_requests)
        loaded = _loaded(daemons, table_id, requests, clients, add)
        digests_equal = _digests_equal(apis, table_id)
        for api in apis:
            api.close()
    finally:
        stop_all(daemons)
    return {
        "committed_per_s": loaded["committed_per_s"],
        "latency_ms": low["latency_ms"],
        "requests": requests,
        "transport": "libp2p",
        "driver": "api",
        "driver_note": f"HTTP over each daemon's Unix socket; loaded phase: {API_BATCH} "
                       f"requests per call, committed concurrently by the node's client pool",
        "api_batch": API_BATCH,
        "replicas": replicas,
        "clients": clients,
        "tick_ms": tick_ms,
        "loaded_latency_ms": loaded["latency_ms"],
        "low_load_latency_ms": low["latency_ms"],
        "low_load_requests": low_load_requests,
        "low_load_committed_per_s": low["committed_per_s"],
        "connections_warm_s": round(warm_s, 3),
        "cpus": os.cpu_count(),
        "digests_equal": digests_equal,
    }


def _wait_connected(apis: list[_Api], peers: int) -> float:
    """Wait until every daemon reports a connection to every other one (dialed at start)."""
    started = time.monotonic()
    while True:
        if all(api.get("/v1/status")["peers"] >= peers for api in apis):
            return time.monotonic() - started
        if time.monotonic() - started > PEERS_TIMEOUT_S:
            raise CliError(f"the daemons did not connect to each other in {PEERS_TIMEOUT_S:g} s")
        time.sleep(0.05)


def _low_load(api: _Api, table_id: str, operation: str, count: int) -> dict[str, Any]:
    latencies: list[float] = []
    started = time.perf_counter()
    for _ in range(count):
        begin = time.perf_counter()
        api.commit(table_id, operation)
        latencies.append(time.perf_counter() - begin)
    elapsed = time.perf_counter() - started
    return {"latency_ms": percentiles_ms(latencies),
            "committed_per_s": round(count / max(elapsed, 1e-9), 1)}


def _loaded(daemons: list[Any], table_id: str, requests: int, clients: int,
            add: Any) -> dict[str, Any]:
    """`clients` threads, spread over the daemons, commit `requests` in all."""
    lock = threading.Lock()
    remaining = [requests]
    latencies: list[float] = []
    errors: list[BaseException] = []

    def client(index: int) -> None:
        api = _Api(daemons[index % len(daemons)].data_dir)
        operation = add(b"client-%d" % index)
        mine: list[float] = []
        try:
            while True:
                with lock:
                    if remaining[0] <= 0 or errors:
                        break
                    count = min(API_BATCH, remaining[0])
                    remaining[0] -= count
                begin = time.perf_counter()
                api.commit_many(table_id, [operation] * count)
                mine.extend([time.perf_counter() - begin] * count)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            api.close()
            with lock:
                latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"the loaded phase failed: {errors[0]}")
    return {"committed_per_s": round(requests / max(elapsed, 1e-9), 1),
            "latency_ms": percentiles_ms(latencies)}


def _digests_equal(apis: list[_Api], table_id: str, timeout_s: float = 10.0) -> bool:
    """Once every daemon has executed as far as the most advanced one: equal state digests."""
    deadline = time.monotonic() + timeout_s
    while True:
        tables = [next(t for t in api.get("/v1/tables")["tables"] if t["table_id"] == table_id)
                  for api in apis]
        seqs = {t["last_executed_seq"] for t in tables}
        if len(seqs) == 1 or time.monotonic() > deadline:
            return len(seqs) == 1 and len({t["state_digest"] for t in tables}) == 1
        time.sleep(0.05)


