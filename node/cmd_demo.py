"""`bitcraps demo`: a four-replica table that survives losing its primary, told as it happens.

Everything runs in this process on virtual time (`local_cluster`): real Ed25519 signatures,
every message encoded, decoded and verified, every Ready persisted before its messages
leave. Three clients add to their counters; batches commit and checkpoints become
stable; the primary crashes, the backups change to view 1 and keep committing; the crashed
replica restarts from its durable log and catches up by state transfer. The demo ends with
every replica's state digest: exit status 0 when they are equal, 1 when they are not.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import msgpack

from bitcraps.consensus import (
    CheckpointStable,
    Ready,
    StateTransferred,
    ViewChanged,
    ViewChangeStarted,
)
from bitcraps.node._cli_errors import CliError
from bitcraps.node.local_cluster import LocalCluster, ReplicaNode

__all__ = ["add_parser", "run_demo"]

CLIENTS = 3
MAX_TICKS = 2_000


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo", help="four daemons host a craps table; three players play it",
        description="By default, four real `bitcraps daemon` processes form a craps table "
                    "over libp2p on loopback, generate its dice key, and three of them play "
                    "--rolls rolls across the bet table while the primary is killed with "
                    "SIGKILL and restarted; the demo ends by checking every replica's state "
                    "digest, the chips and the cash-out receipts. --game kv runs the same "
                    "crash on a replicated counter; with --in-process, four replicas in this "
                    "process go through a primary crash, a view change and state transfer, "
                    "narrated message by message.")
    parser.add_argument("--game", choices=("craps", "kv"), default="craps",
                        help="what the daemons' table plays (default craps)")
    parser.add_argument("--rolls", type=int, default=50,
                        help="rolls in the craps demo (default 50)")
    parser.add_argument("--in-process", action="store_true",
                        help="run kv replicas in this process instead of as daemons")
    parser.add_argument("--seed", type=int, default=1,
                        help="key seed for --in-process (default 1)")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    if args.in_process:
        return run_demo(seed=args.seed)
    if args.game == "kv":
        from bitcraps.node.demo_daemons import run_daemon_demo

        return run_daemon_demo()
    if args.rolls < 1:
        raise CliError("--rolls must be at least 1")
    from bitcraps.node.demo_craps import run_craps_demo

    return run_craps_demo(args.rolls)


class _Narrator:
    """Turns the replicas' Ready values into a few readable lines, each fact told once."""

    def __init__(self, cluster: LocalCluster, say: Callable[[str], None]) -> None:
        self.cluster = cluster
        self.say = say
        self.committed: set[int] = set()
        self.stable: set[int] = set()
        self.views: set[tuple[int, int]] = set()
        cluster.ready_hooks.append(self.on_ready)

    def on_ready(self, node: ReplicaNode, ready: Ready) -> None:
        by_seq: dict[int, list[str]] = {}
        for item in ready.execute:
            client = self._client_name(item.request.sender)
            by_seq.setdefault(item.seq, []).append(f"{client} -> {_counter(item.result)}")
        view = node.live().view
        for seq, parts in sorted(by_seq.items()):
            if seq not in self.committed:
                self.committed.add(seq)
                self.say(f"  seq {seq:>2} view {view}: committed {len(parts)} request(s): "
                         + ", ".join(parts))
        for event in ready.events:
            self._on_event(node, event)

    def _on_event(self, node: ReplicaNode, event: Any) -> None:
        if isinstance(event, CheckpointStable) and event.seq not in self.stable:
            self.stable.add(event.seq)
            self.say(f"  checkpoint at seq {event.seq} stable (2f+1 agree), "
                     f"state digest {event.state_digest.hex()[:16]}")
        elif isinstance(event, ViewChangeStarted) and (node.index, -event.view) not in self.views:
            self.views.add((node.index, -event.view))
            self.say(f"  replica {node.index}: request timed out, asks for view {event.view}")
        elif isinstance(event, ViewChanged) and (node.index, event.view) not in self.views:
            self.views.add((node.index, event.view))
            self.say(f"  replica {node.index}: installed view {event.view}, "
                     f"primary is replica {event.primary}")
        elif isinstance(event, StateTransferred):
            self.say(f"  replica {node.index}: state transfer from checkpoint seq "
                     f"{event.checkpoint_seq}, now executed through seq "
                     f"{event.last_executed_seq}")

    def _client_name(self, key: bytes) -> str:
        for client in self.cluster.clients:
            if client.public_key == key:
                return f"client {client.index}"
        return "client ?"


def _counter(result: bytes) -> str:
    try:
        decoded = msgpack.unpackb(result, raw=True)
    except Exception:  # a result the demo cannot read is shown as bytes
        return result.hex()
    if isinstance(decoded, list) and len(decoded) == 2 and decoded[0] == b"ok":
        return str(decoded[1])
    return repr(decoded)


def run_demo(seed: int = 1, say: Callable[[str], None] = print) -> int:
    with LocalCluster(4, CLIENTS, seed=seed, checkpoint_interval_seqs=4, log_window_seqs=16,
                      batch_max_requests=CLIENTS, view_change_timeout_ticks=20,
                      fetch_timeout_ticks=10, retransmit_timeout_ticks=10) as cluster:
        _Narrator(cluster, say)
        f = cluster.config.f
        say(f"A table of {cluster.config.n} replicas (tolerates f={f} faulty), "
            f"{CLIENTS} clients adding 1 to their own counters.")
        say("Normal operation, view 0, replica 0 is the primary:")
        _rounds(cluster, 4)
        say("Replica 0 (the primary) crashes; the clients keep sending.")
        cluster.crash(0)
        _rounds(cluster, 3)
        records = len(cluster.replicas[0].log)
        plural = "" if records == 1 else "s"
        say(f"Replica 0 restarts from its durable log ({records} record{plural}) "
            "and catches up:")
        cluster.restart(0)
        _rounds(cluster, 3)
        if not cluster.run_until(lambda: _caught_up(cluster), MAX_TICKS):
            raise CliError("the restarted replica did not catch up")
        return _report(cluster, say)


def _rounds(cluster: LocalCluster, rounds: int) -> None:
    """Each client submits one request per round; the round ends when all are answered."""
    for _ in range(rounds):
        for client in cluster.clients:
            cluster.submit(client.index, msgpack.packb([b"add", b"counter-%d" % client.index, 1]))
        if not cluster.run_until(lambda: not any(c.client.busy for c in cluster.clients),
                                 MAX_TICKS):
            raise CliError("the table stopped committing requests")


def _caught_up(cluster: LocalCluster) -> bool:
    replicas = [node.live() for node in cluster.live_replicas()]
    return (len({r.last_executed_seq for r in replicas}) == 1
            and len({r.view for r in replicas}) == 1
            and not any(r.changing_view for r in replicas))


def _report(cluster: LocalCluster, say: Callable[[str], None]) -> int:
    say("Final state of every replica:")
    digests = cluster.state_digests()
    for node in cluster.replicas:
        replica = node.live()
        say(f"  replica {node.index}: view {replica.view}, executed through seq "
            f"{replica.last_executed_seq}, state digest {digests[node.index].hex()}")
    if len(set(digests.values())) == 1:
        say("All replicas hold the same state.")
        return 0
    say("The replicas' states differ.")
    return 1
