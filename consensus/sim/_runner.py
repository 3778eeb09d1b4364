"""Runs scenarios: builds the nodes, drives virtual time, checks the invariants.

One tick: restart replicas due back, deliver every message due, crash replicas due to
crash (losing what they had not persisted), tick every replica, drain every replica's
Ready (persist, then send), run the clients and the attacker, then check. After the faults
stop the run continues until it is quiescent (every client done, the honest replicas at one
seq and in one installed view) or until `max_ticks`. A `Workload` may bring its own
application and clients (a game table and its players); see `_workload`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import partial
from typing import Any

from .._app import Application, KeyValueApp
from .._client import Client, Completed
from .._config import ReplicaConfig
from .._crypto import BatchVerifier, Signer
from .._messages import Envelope, Request
from .._ready import Send
from ._byzantine import make_behaviour
from ._byzantine_client import ByzantineClient
from ._flood import FreshKeyFlood
from ._invariants import InvariantChecker, Liveness
from ._network import Network
from ._nodes import ClientNode, ReplicaNode
from ._payloads import (
    HostileSubmitter,
    describe_exception,
    kv_flood_operation,
    kv_hostile_operation,
)
from ._results import ScenarioResult, summarize
from ._rng import Rng
from ._scenario import HOSTILE_PAYLOAD, Scenario, make_scenario
from ._shell import Shell
from ._workload import Workload

SignerFactory = Callable[[bytes], Signer]


def key_seed(seed: int, label: str) -> bytes:
    return hashlib.sha256(f"bitcraps/sim/key/{seed}/{label}".encode()).digest()


class Simulation:
    def __init__(self, scenario: Scenario, make_signer: SignerFactory,
                 verify_batch: BatchVerifier, workload: Workload | None = None) -> None:
        self.s = scenario
        self.workload = workload
        s, t = scenario, scenario.tunables
        rng = Rng(f"run/{s.seed}/{s.replicas}")
        signers = [make_signer(key_seed(s.seed, f"replica/{i}")) for i in range(s.replicas)]
        self.config = ReplicaConfig(
            table_id=hashlib.sha256(f"bitcraps/sim/table/{s.seed}".encode()).digest()[:16],
            replicas=tuple(x.public_key for x in signers),
            checkpoint_interval_seqs=t.checkpoint_interval_seqs, log_window_seqs=t.log_window_seqs,
            batch_max_requests=t.batch_max_requests, batch_timeout_ticks=t.batch_timeout_ticks,
            max_inflight_batches=t.max_inflight_batches,
            view_change_timeout_ticks=t.view_change_timeout_ticks,
            max_backoff_exponent=t.max_backoff_exponent, fetch_timeout_ticks=t.fetch_timeout_ticks,
        )
        self.shell = Shell(verify_batch)
        self.checker = InvariantChecker(self.config, self.shell.verify)
        self.liveness = Liveness(s.faults_end_tick, s.liveness_bound_ticks)
        self.network = Network(rng.fork("network"), s.link, s.faults_end_tick, s.partitions)
        self.nodes: dict[int, ReplicaNode] = {}
        self.routes: dict[bytes, list[int]] = {}
        self.now = 0
        if workload is not None:
            workload.attach(self)
        self._build_replicas(rng, signers)
        self.clients: dict[int, ClientNode] = {}
        self._build_clients(rng, make_signer)
        self.attacker: ByzantineClient | None = None
        if s.byzantine_client:
            self.attacker = ByzantineClient(make_signer(key_seed(s.seed, "attacker")), self.config,
                                            rng.fork("attacker"), self.shell.max_frame_bytes)
            self.routes[self.attacker.signer.public_key] = [s.attacker_endpoint]
        self.hostile: list[tuple[int, HostileSubmitter]] = []
        self.flood: FreshKeyFlood | None = None
        self._build_hostile(rng, make_signer, signers)
        self.stats: dict[str, int] = {"crashes": 0, "restarts": 0, "lost_to_down_nodes": 0}
        self.errors: list[str] = []

    def _build_replicas(self, rng: Rng, signers: list[Signer]) -> None:
        s = self.s
        behaviours = dict(s.byzantine)
        for i, signer in enumerate(signers):
            self.nodes[i] = self._replica_node(rng, i, i, signer, behaviours.get(i, ()))
            self.routes[signer.public_key] = [i]
        twins = s.twins
        if twins is not None:
            node = self._replica_node(rng, twins.twin_endpoint, twins.index,
                                      signers[twins.index], behaviours[twins.index])
            self.nodes[twins.twin_endpoint] = node
            self.routes[signers[twins.index].public_key].append(twins.twin_endpoint)
            others = set(range(s.replicas)) - set(twins.side_a | twins.side_b) - {twins.index}
            outside = {s.client_endpoint(c) for c in range(len(s.client_requests) + 1)}
            outside.add(s.hostile_endpoint)
            outside.update(self.workload.endpoints if self.workload is not None else ())
            self.network.restrict(twins.index, twins.side_a | others | outside)
            self.network.restrict(twins.twin_endpoint, twins.side_b | others | outside)

    def _replica_node(self, rng: Rng, endpoint: int, index: int, signer: Signer,
                      names: tuple[str, ...]) -> ReplicaNode:
        filters = [b for b in (make_behaviour(name) for name in names) if b is not None]
        make_app: Callable[[], Application] = KeyValueApp
        if self.workload is not None:
            make_app = partial(self.workload.make_app, index)
        return ReplicaNode(endpoint, index, signer, self.config, rng.fork(f"node/{endpoint}"),
                           honest=not names, behaviours=filters, make_app=make_app)

    def _build_clients(self, rng: Rng, make_signer: SignerFactory) -> None:
        s = self.s
        for c, count in enumerate(s.client_requests):
            signer = make_signer(key_seed(s.seed, f"client/{c}"))
            client = Client(self.config, signer,
                            retransmit_timeout_ticks=s.tunables.client_retransmit_ticks)
            endpoint = s.client_endpoint(c)
            self.clients[endpoint] = ClientNode(endpoint, client, rng.fork(f"client/{c}"), count,
                                                s.client_start_ticks[c], s.client_held[c],
                                                s.faults_end_tick)
            self.routes[signer.public_key] = [endpoint]

    def _build_hostile(self, rng: Rng, make_signer: SignerFactory,
                       signers: list[Signer]) -> None:
        """The hostile-payload client, and (without a workload, which posts its replicas'
        own) each replica whose behaviours include hostile_payload, signing with its key."""
        s = self.s
        source = kv_hostile_operation if self.workload is None else \
            self.workload.hostile_operation
        if s.hostile_client:
            signer = make_signer(key_seed(s.seed, "hostile"))
            self.hostile.append((s.hostile_endpoint, HostileSubmitter(
                signer, self.config, rng.fork("hostile/client"), source,
                probability=s.hostile_requests_per_tick)))
            self.routes[signer.public_key] = [s.hostile_endpoint]
            flood_op = source if self.workload is not None else kv_flood_operation
            self.flood = FreshKeyFlood(make_signer, self.config, rng.fork("flood"), flood_op,
                                       f"bitcraps/sim/flood/{s.seed}",
                                       probability=s.fresh_keys_per_tick)
        if self.workload is not None:
            return
        for index, names in s.byzantine:
            if HOSTILE_PAYLOAD in names:
                self.hostile.append((index, HostileSubmitter(
                    signers[index], self.config, rng.fork(f"hostile/replica/{index}"), source,
                    probability=s.hostile_requests_per_tick, timestamp=1)))

    # --- the loop -----------------------------------------------------------------------

    def run(self) -> ScenarioResult:
        quiescent = False
        for now in range(1, self.s.max_ticks + 1):
            self.now = now
            if not self._tick(now):
                break
            if now >= self.s.faults_end_tick and self._quiescent():
                quiescent = True
                break
        return self._result(quiescent)

    def _tick(self, now: int) -> bool:
        for plan in self.s.crashes:
            if plan.restart_tick == now and not self.nodes[plan.endpoint].up:
                self._guard(self.nodes[plan.endpoint], lambda n: n.restart())
                self.stats["restarts"] += 1
        self._deliver(now)
        for text in self.shell.take_faults():
            self.checker.violate(now, f"robustness: the envelope decoder raised {text}")
        for plan in self.s.crashes:
            if plan.crash_tick == now and self.nodes[plan.endpoint].up:
                self._guard(self.nodes[plan.endpoint],
                            partial(ReplicaNode.crash, after_persist=plan.after_persist))
                self.stats["crashes"] += 1
        for node in self._up():
            self._guard(node, lambda n: n.live().tick())
        for node in self._up():
            self._guard(node, lambda n: self._send(n.endpoint, n.drain(now, self._on_ready(n))))
        self._run_clients(now)
        self._run_attacker(now)
        self._run_hostile(now)
        for node in self._up():
            if node.honest:
                self.checker.poll(now, node.index, node.live(), len(self.checker.submitted))
        return not self.errors

    def _up(self) -> list[ReplicaNode]:
        return [node for node in self.nodes.values() if node.up]

    def _guard(self, node: ReplicaNode, action: Callable[[ReplicaNode], Any]) -> None:
        """Run a replica action; an honest replica that raises is a bug, a faulty one stops.

        The invariant "no honest replica ever raises" (robustness): whatever any peer sends
        or any signer orders, an honest replica answers it, and never with an exception."""
        try:
            action(node)
        except Exception as exc:
            if node.honest:
                text = f"robustness: honest replica {node.index} raised {describe_exception(exc)}"
                self.errors.append(text)
                self.checker.violate(self.now, text)
            else:
                node.replica = None

    def _on_ready(self, node: ReplicaNode) -> Callable[[Any], None]:
        if not node.honest:
            return lambda ready: None
        return lambda ready: self.checker.on_ready(self.now, node.index, ready)

    def _send(self, src: int, sends: list[Send]) -> None:
        for send in sends:
            wire = send.envelope.wire
            if len(wire) > self.network.max_frame_bytes and self._honest_endpoint(src):
                self.checker.violate(self.now, (
                    f"frame size: honest endpoint {src} built a "
                    f"{type(send.envelope.message).__name__} of {len(wire)} bytes, over the "
                    f"{self.network.max_frame_bytes}-byte frame limit"))
            for key in send.recipients:
                for dst in self.routes.get(key, ()):
                    self.network.send(src, dst, wire, self.now)

    def _honest_endpoint(self, endpoint: int) -> bool:
        node = self.nodes.get(endpoint)
        if node is not None:
            return node.honest
        return endpoint != self.s.hostile_endpoint and endpoint != self.s.attacker_endpoint

    def _deliver(self, now: int) -> None:
        for delivery in self.network.due(now):
            node = self.nodes.get(delivery.dst)
            client = self.clients.get(delivery.dst)
            if node is not None and not node.up:
                self.stats["lost_to_down_nodes"] += 1
                continue
            if node is None and client is None and self.workload is None:
                continue
            envelope = self.shell.accept(delivery.data)
            if envelope is None:
                continue
            if self.workload is not None and self.workload.deliver(delivery.dst, envelope):
                continue
            if node is not None:
                self._guard(node, partial(ReplicaNode.step, envelope=envelope, now=now))
            elif client is not None:
                client.client.step(envelope)

    def _run_clients(self, now: int) -> None:
        for node in self.clients.values():
            for done in node.take_completed(now):
                self.liveness.complete(node.key, done.timestamp, now)
                self.checker.on_completed(node.key, done.timestamp, done.result)
            envelope = node.maybe_submit(now)
            if envelope is not None:
                self.checker.submit(envelope)
                self.liveness.submit(node.key, envelope.message.timestamp, now)
                if self.attacker is not None:
                    self.attacker.sniff(envelope)
            node.client.tick()
            self._send(node.endpoint, node.client.take_sends())
        if self.workload is not None:
            self.workload.tick(now)

    def _run_attacker(self, now: int) -> None:
        attacker = self.attacker
        if attacker is None:
            return
        for recipients, data in attacker.act():
            for key in recipients:
                for dst in self.routes.get(key, ()):
                    self.network.send(self.s.attacker_endpoint, dst, data, now)
        for envelope in attacker.take_signed():
            self.checker.submit(envelope)

    def _run_hostile(self, now: int) -> None:
        replicas = self.config.replicas
        for endpoint, submitter in self.hostile:
            node = self.nodes.get(endpoint)
            if node is not None and not node.up:
                continue
            for envelope in submitter.act():
                self.checker.submit(envelope)
                self._send(endpoint, [Send(replicas, envelope)])
            frame = submitter.mutated_frame()
            if frame is not None:
                for key in replicas:
                    for dst in self.routes.get(key, ()):
                        self.network.send(endpoint, dst, frame, now)
        if self.flood is not None:
            for envelope in self.flood.act(now):
                self.checker.submit(envelope)
                self._send(self.s.hostile_endpoint, [Send(replicas, envelope)])

    def _quiescent(self) -> bool:
        if not all(c.finished for c in self.clients.values()):
            return False
        if self.workload is not None and not self.workload.finished():
            return False
        honest = [n for n in self.nodes.values() if n.honest]
        if not all(n.up for n in honest):
            return False
        return len({n.live().last_executed_seq for n in honest}) == 1

    # --- the verdict --------------------------------------------------------------------

    def _honest_replicas(self) -> dict[int, Any]:
        return {n.index: n.live() for n in self.nodes.values() if n.honest and n.up}

    def _result(self, quiescent: bool) -> ScenarioResult:
        s = self.s
        liveness = list(self.liveness.failures)
        if not self.errors:
            if quiescent:
                self.checker.final(self.now, self._honest_replicas())
                if self.workload is not None:
                    self.workload.final({n.endpoint: n for n in self.nodes.values()
                                         if n.honest and n.up})
            else:
                liveness.append(f"not quiescent after {self.now} ticks: {self._status()}")
                liveness += self.liveness.overdue(self.now)
        return ScenarioResult(s.seed, s.replicas, s.faults, list(self.checker.violations),
                              liveness, s.replay_command(), self._stats())

    def _status(self) -> str:
        parts = []
        for node in self.nodes.values():
            tag = "" if node.honest else "*"
            if node.replica is None:
                parts.append(f"r{node.index}{tag}@{node.endpoint} down")
                continue
            r = node.replica
            state = "changing" if r.changing_view else "in"
            parts.append(f"r{node.index}{tag}@{node.endpoint} {state} view {r.view} "
                         f"seq {r.last_executed_seq} stable {r.stable_checkpoint_seq}")
        busy = sum(1 for c in self.clients.values() if not c.finished)
        text = "; ".join(parts) + f"; {busy} client(s) unfinished"
        return text if self.workload is None else f"{text}; {self.workload.status()}"

    def _stats(self) -> dict[str, int]:
        honest = self._honest_replicas()
        stats = dict(self.stats)
        totals: dict[str, int] = {}
        for replica in honest.values():
            for key, value in replica.statistics().items():
                totals[key] = totals.get(key, 0) + value
        net = self.network.stats
        stats.update(
            ticks=self.now, requests_submitted=len(self.checker.submitted),
            requests_completed=self.liveness.completed,
            max_view=max((r.view for r in honest.values()), default=0),
            stranded_view_changers=sum(1 for r in honest.values() if r.changing_view),
            last_executed_seq=max((r.last_executed_seq for r in honest.values()), default=0),
            view_changes_started=totals.get("view_changes_started", 0),
            state_transfers=totals.get("state_transfers", 0),
            checkpoints_stable=totals.get("checkpoints_stable", 0),
            messages_rejected=totals.get("messages_rejected", 0),
            byzantine_detected=totals.get("byzantine_detected", 0),
            decode_errors=self.shell.decode_errors, bad_signatures=self.shell.bad_signatures,
            signatures_verified=self.shell.verify.verified,
            messages_sent=net.sent, messages_delivered=net.delivered,
            messages_dropped=net.dropped, messages_duplicated=net.duplicated, messages_cut=net.cut,
            max_log_size=self.checker.max_log_size, max_buffered=self.checker.max_buffered,
            max_latency_after_faults=self.liveness.max_latency_after_faults,
            forged_by_replicas=sum(n.context.forged for n in self.nodes.values() if n.context),
            attacks_by_client=sum(self.attacker.counts.values()) if self.attacker else 0,
            hostile_payloads=sum(submitter.submitted for _, submitter in self.hostile),
            fresh_key_requests=self.flood.submitted if self.flood is not None else 0,
            oversized_frames=net.oversized, largest_frame=net.largest_frame,
            decoder_faults=self.shell.decoder_faults,
        )
        if self.workload is not None:
            stats.update(self.workload.statistics())
        return stats

    # --- what a workload calls ---------------------------------------------------------------

    def submitted(self, envelope: Envelope[Request], *, live: bool) -> None:
        self.checker.submit(envelope)
        if live:
            self.liveness.submit(envelope.sender, envelope.message.timestamp, self.now)
        if self.attacker is not None:
            self.attacker.sniff(envelope)

    def completed(self, client: bytes, done: Completed) -> None:
        self.liveness.complete(client, done.timestamp, self.now)
        self.checker.on_completed(client, done.timestamp, done.result)

    def abandoned(self, client: bytes, timestamp: int) -> None:
        self.liveness.abandon(client, timestamp)

    def route(self, key: bytes, endpoint: int) -> None:
        self.routes.setdefault(key, []).append(endpoint)

    def send_from(self, endpoint: int, sends: list[Send]) -> None:
        self._send(endpoint, sends)

    def violate(self, text: str) -> None:
        self.checker.violate(self.now, text)


def run_scenario(seed: int, replicas: int, faults: str, make_signer: SignerFactory,
                 verify_batch: BatchVerifier) -> ScenarioResult:
    """Run the scenario one seed gives. Deterministic: the same arguments, the same result."""
    scenario = make_scenario(seed, replicas, faults)
    return Simulation(scenario, make_signer, verify_batch).run()


def run_many(seeds: list[int] | range, replicas: int, faults: str, make_signer: SignerFactory,
             verify_batch: BatchVerifier,
             progress: Callable[[ScenarioResult], None] | None = None) -> dict[str, Any]:
    """Run each seed; a summary with the failing seeds and how to replay each."""
    results = []
    for seed in seeds:
        result = run_scenario(seed, replicas, faults, make_signer, verify_batch)
        results.append(result)
        if progress is not None:
            progress(result)
    return summarize(results, replicas, faults)


__all__ = ["ScenarioResult", "Simulation", "key_seed", "run_many", "run_scenario", "summarize"]
