"""The properties every simulated run must keep, checked over the honest replicas only.

- agreement: no two honest replicas decide different batches, or execute different
  requests, at one sequence number;
- validity: every executed request carries a valid client signature and was really
  submitted by a client of the scenario (no forged request ever executes);
- exactly-once: no replica executes one (client, timestamp) twice, across crashes,
  restarts and state transfers, and every replica computes the same result for it;
- convergence: at the end all honest replicas stand at the same seq with the same state,
  and every checkpoint any two of them computed has one digest;
- bounded log: `log_size()` and `buffered_messages()` stay under bounds from the config;
- liveness (`Liveness`): once faults stop, each request completes within a bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._config import ReplicaConfig
from .._crypto import BatchVerifier, verify_envelope
from .._durable import Committed
from .._messages import Envelope, Request
from .._ready import CheckpointStable, Ready
from .._replica import Replica

MAX_VIOLATIONS = 50
RequestKey = tuple[bytes, int]


def log_bound(config: ReplicaConfig) -> int:
    """Slots, prepared and committed certificates: each at most a window past the stable seq."""
    return 3 * config.log_window_seqs + 2 * config.checkpoint_interval_seqs


def buffer_bound(config: ReplicaConfig, requests: int) -> int:
    """Future-view messages (a window's worth of votes per replica) plus pending requests."""
    return config.n * (4 * config.log_window_seqs + 16) + requests


@dataclass
class InvariantChecker:
    config: ReplicaConfig
    verify: BatchVerifier
    violations: list[str] = field(default_factory=list)
    submitted: set[bytes] = field(default_factory=set)
    decided: dict[int, tuple[bytes, int]] = field(default_factory=dict)
    executed: dict[int, tuple[tuple[bytes, ...], int]] = field(default_factory=dict)
    done: dict[int, set[RequestKey]] = field(default_factory=dict)
    results: dict[RequestKey, tuple[bytes, bytes, int]] = field(default_factory=dict)
    checkpoints: dict[int, tuple[bytes, int]] = field(default_factory=dict)
    completions: list[tuple[bytes, int, bytes]] = field(default_factory=list)
    max_log_size: int = 0
    max_buffered: int = 0

    def violate(self, tick: int, text: str) -> None:
        if len(self.violations) < MAX_VIOLATIONS:
            self.violations.append(f"tick {tick}: {text}")

    def submit(self, envelope: Envelope[Request]) -> None:
        """A request a client of the scenario really signed and sent."""
        self.submitted.add(envelope.digest)

    # --- while running -------------------------------------------------------------------

    def on_ready(self, tick: int, replica: int, ready: Ready) -> None:
        """One honest replica's Ready, as the shell handles it."""
        for record in ready.persist:
            if isinstance(record, Committed):
                digest = record.certificate.pre_prepare.message.digest
                self._agree(self.decided, "decided batch", tick, replica, record.seq, digest)
        by_seq: dict[int, list[bytes]] = {}
        for item in ready.execute:
            self._check_execution(tick, replica, item.seq, item.request, item.result)
            by_seq.setdefault(item.seq, []).append(item.request.digest)
        for seq, digests in by_seq.items():
            self._agree(self.executed, "executed requests", tick, replica, seq, tuple(digests))
        for event in ready.events:
            if isinstance(event, CheckpointStable):
                self._agree(self.checkpoints, "stable checkpoint digest", tick, replica,
                            event.seq, event.state_digest)

    def _agree(self, table: dict[int, tuple[Any, int]], what: str, tick: int, replica: int,
               seq: int, value: Any) -> None:
        first = table.setdefault(seq, (value, replica))
        if first[0] != value:
            self.violate(tick, f"agreement: replicas {first[1]} and {replica} differ on the "
                               f"{what} at seq {seq}")

    def _check_execution(self, tick: int, replica: int, seq: int,
                         request: Envelope[Request], result: bytes) -> None:
        client, timestamp = request.sender, request.message.timestamp
        name = f"request (client {client.hex()[:8]}, ts {timestamp}) at seq {seq}"
        if not verify_envelope(request, self.verify):
            self.violate(tick, f"validity: replica {replica} executed a forged {name}")
        elif request.digest not in self.submitted:
            self.violate(tick, f"validity: replica {replica} executed a never-submitted {name}")
        key = (client, timestamp)
        done = self.done.setdefault(replica, set())
        if key in done:
            self.violate(tick, f"exactly-once: replica {replica} executed {name} again")
        done.add(key)
        first = self.results.setdefault(key, (request.digest, result, replica))
        if first[:2] != (request.digest, result):
            self.violate(tick, f"exactly-once: replicas {first[2]} and {replica} executed "
                               f"different requests or results for {name}")

    def poll(self, tick: int, index: int, replica: Replica, requests: int) -> None:
        """Bounds and checkpoint digests of one live honest replica."""
        size, buffered = replica.log_size(), replica.buffered_messages()
        self.max_log_size = max(self.max_log_size, size)
        self.max_buffered = max(self.max_buffered, buffered)
        if size > log_bound(self.config):
            self.violate(tick, f"bounded log: replica {index} holds {size} log entries")
        if buffered > buffer_bound(self.config, requests):
            self.violate(tick, f"bounded log: replica {index} buffers {buffered} messages")
        interval = self.config.checkpoint_interval_seqs
        seq = replica.last_executed_seq // interval * interval
        if seq > replica.stable_checkpoint_seq:
            digest = replica.checkpoint_digest(seq)
            if digest is not None:
                self._agree(self.checkpoints, "checkpoint digest", tick, index, seq, digest)

    def on_completed(self, client: bytes, timestamp: int, result: bytes) -> None:
        self.completions.append((client, timestamp, result))

    # --- at the end ------------------------------------------------------------------------

    def final(self, tick: int, replicas: dict[int, Replica]) -> None:
        """Convergence of the honest replicas once the run is quiescent."""
        positions = {i: r.last_executed_seq for i, r in replicas.items()}
        if len(set(positions.values())) > 1:
            self.violate(tick, f"convergence: honest replicas end at different seqs {positions}")
        else:
            digests = {i: r.state_digest() for i, r in replicas.items()}
            if len(set(digests.values())) > 1:
                groups = {d.hex()[:8]: [i for i in digests if digests[i] == d]
                          for d in digests.values()}
                self.violate(tick, f"convergence: equal seqs, different states {groups}")
        for client, timestamp, result in self.completions:
            executed = self.results.get((client, timestamp))
            if executed is not None and executed[1] != result:
                self.violate(tick, f"client {client.hex()[:8]} accepted a result for ts "
                                   f"{timestamp} that no honest replica computed")


@dataclass
class Liveness:
    """Every honest request completes within `bound_ticks` of max(submission, faults ending)."""

    faults_end_tick: int
    bound_ticks: int
    outstanding: dict[RequestKey, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    max_latency_after_faults: int = 0
    completed: int = 0

    def submit(self, client: bytes, timestamp: int, tick: int) -> None:
        self.outstanding[(client, timestamp)] = tick

    def abandon(self, client: bytes, timestamp: int) -> None:
        """Stop waiting for a request whose client crashed before it completed."""
        self.outstanding.pop((client, timestamp), None)

    def complete(self, client: bytes, timestamp: int, tick: int) -> None:
        submitted = self.outstanding.pop((client, timestamp), None)
        if submitted is None:
            return
        self.completed += 1
        waited = tick - max(submitted, self.faults_end_tick)
        self.max_latency_after_faults = max(self.max_latency_after_faults, waited)
        if waited > self.bound_ticks:
            self.failures.append(f"request (client {client.hex()[:8]}, ts {timestamp}) took "
                                 f"{waited} ticks after faults stopped (bound {self.bound_ticks})")

    def overdue(self, tick: int) -> list[str]:
        return [f"request (client {c.hex()[:8]}, ts {t}) submitted at tick {s} never completed"
                for (c, t), s in self.outstanding.items()
                if tick - max(s, self.faults_end_tick) > self.bound_ticks]
