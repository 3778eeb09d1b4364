"""A synchronous, in-process table: N replicas and their clients on an in-memory network.

Every node here behaves as a real node would, only without sockets and tasks:

- what travels is the envelope's wire bytes; each receiver decodes them with
  `decode_envelope` and checks every signature in the tree (client requests inside a
  batch, votes inside certificates) with a batch verifier before `step`;
- each node has its own verification cache (a request it already checked when the client
  sent it is not checked again inside the primary's batch); caches are never shared;
- each replica has its own `DurableLog`; for every `Ready` the shell persists, calls
  `persisted`, sends, then `advance`s; a crash keeps only what was persisted;
- time is virtual: a tick is delivered to every node when the network is quiet.

Verification is batched: a sweep takes every envelope queued for a node, decodes them,
and hands the node's unverified signatures to the verifier as one batch, started before
any node steps, so the verifier checks node k+1's batch while node k steps. A batch of at
most `inline_max_checks` signatures is checked on the spot (`verify_one`, the same
verdicts): handing it to a worker costs more than it saves, and at low load that hand-off
is most of the latency. Wall-clock time never enters here; a caller that measures passes
`clock`.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bitcraps.accel._ed25519_cpu import CpuBatchVerifier, Ed25519Signer, verify_one
from bitcraps.consensus import (
    Client,
    Completed,
    DecodeError,
    DurableLog,
    Envelope,
    KeyValueApp,
    Ready,
    Replica,
    ReplicaConfig,
    Reply,
    Send,
    SignatureCheck,
    decode_envelope,
)
from bitcraps.games.table_terms import SALT_BYTES, TableTerms

from .verification import CacheKey, VerificationCache, plan_batch

__all__ = ["ClientNode", "LocalCluster", "ReplicaNode", "VerificationCache"]

ReadyHook = Callable[["ReplicaNode", Ready], None]
CompletionHook = Callable[["ClientNode"], None]


class Verdicts(Protocol):
    def done(self) -> bool: ...

    def result(self) -> list[bool]: ...


class BatchVerifierWithSubmit(Protocol):
    """A batch verifier that can start a batch and return at once (the CPU verifiers)."""

    threads: int

    def __call__(self, checks: Sequence[SignatureCheck]) -> list[bool]: ...

    def submit(self, checks: Sequence[SignatureCheck]) -> Verdicts: ...

    def close(self) -> None: ...


class _Known:
    """Verdicts already in hand: a batch so small that handing it off costs more."""

    def __init__(self, verdicts: list[bool]) -> None:
        self._verdicts = verdicts

    def done(self) -> bool:
        return True

    def result(self) -> list[bool]:
        return self._verdicts


@dataclass
class _Verifying:
    """One node's share of a sweep: decoded envelopes and the signatures to check."""

    endpoint: _Endpoint
    envelopes: list[Envelope[Any]]
    keys: list[list[CacheKey]]
    batch: list[CacheKey]
    checks: list[SignatureCheck]
    deferred: list[bytes]
    offset: int = 0
    verdicts: Verdicts | None = None
    sweep: int = 0


@dataclass
class _Endpoint:
    public_key: bytes
    name: str
    inbox: list[bytes] = field(default_factory=list)
    cache: VerificationCache = field(default_factory=VerificationCache)
    up: bool = True
    verifying: bool = False
    received: int = 0
    rejected: int = 0


class ReplicaNode(_Endpoint):
    """One replica host: its key, application, durable log and (while up) its replica."""

    def __init__(self, index: int, signer: Ed25519Signer, config: ReplicaConfig,
                 jitter_seed: int) -> None:
        super().__init__(signer.public_key, f"replica {index}")
        self.index = index
        self.signer = signer
        self.config = config
        self.jitter_seed = jitter_seed
        self.log = DurableLog()
        self.app = KeyValueApp()
        self.replica: Replica | None = Replica(config, self.app, signer, jitter_seed=jitter_seed)

    def crash(self) -> None:
        """Lose everything but the durable log: memory, inbox, verification cache."""
        self.up = False
        self.replica = None
        self.inbox.clear()
        self.cache = VerificationCache()

    def restart(self) -> None:
        self.app = KeyValueApp()
        self.replica = Replica.recover(self.config, self.app, self.signer, self.log.records(),
                                       jitter_seed=self.jitter_seed + 1)
        self.up = True

    def live(self) -> Replica:
        if self.replica is None:
            raise RuntimeError(f"{self.name} is down")
        return self.replica


class ClientNode(_Endpoint):
    """One client: signs requests, takes verified replies, records completions."""

    def __init__(self, index: int, signer: Ed25519Signer, config: ReplicaConfig,
                 retransmit_timeout_ticks: int) -> None:
        super().__init__(signer.public_key, f"client {index}")
        self.index = index
        self.client = Client(config, signer, retransmit_timeout_ticks=retransmit_timeout_ticks)
        self.completed: list[Completed] = []
        self.latencies_s: list[float] = []
        self.submitted_at: float | None = None
        self.outstanding_timestamp: int | None = None
        self.votes: dict[bytes, int] = {}  # verified replies stepped, per result
        self.ignored = 0


class LocalCluster:
    """N replicas and C clients in one process; see the module docstring."""

    def __init__(self, replicas: int = 4, clients: int = 1, *,
                 table_id: bytes | None = None,
                 seed: int = 0,
                 verifier: BatchVerifierWithSubmit | None = None,
                 clock: Callable[[], float] | None = None,
                 retransmit_timeout_ticks: int = 50,
                 pipelined: bool = False,
                 inline_max_checks: int = 4,
                 max_wait_sweeps: int = 4,
                 **config_overrides: Any) -> None:
        replica_signers = [_signer(seed, "replica", i) for i in range(replicas)]
        keys = tuple(s.public_key for s in replica_signers)
        self.terms = TableTerms("kv", keys, 1, 1000, 8, _salt(seed))
        self.config = ReplicaConfig(self.terms.table_id if table_id is None else table_id,
                                    keys, **config_overrides)
        self.replicas = [ReplicaNode(i, s, self.config, seed * 1000 + i)
                         for i, s in enumerate(replica_signers)]
        self.clients = [ClientNode(i, _signer(seed, "client", i), self.config,
                                   retransmit_timeout_ticks) for i in range(clients)]
        self._endpoints: list[_Endpoint] = [*self.replicas, *self.clients]
        self._by_key: dict[bytes, _Endpoint] = {e.public_key: e for e in self._endpoints}
        self._own_verifier = verifier is None
        self.verifier: BatchVerifierWithSubmit = verifier or CpuBatchVerifier()
        self.clock = clock
        self.pipelined = pipelined
        self.inline_max_checks = inline_max_checks
        self.max_wait_sweeps = max_wait_sweeps
        self._sweeps = 0
        self._in_flight: deque[_Verifying] = deque()
        self.ready_hooks: list[ReadyHook] = []
        self.now_ticks = 0
        self.completed = 0
        self.completion_hooks: list[CompletionHook] = []
        self.messages_sent = 0
        self.bytes_sent = 0
        self.signatures_verified = 0
        self.verify_batches = 0

    def close(self) -> None:
        if self._own_verifier:
            self.verifier.close()

    def __enter__(self) -> LocalCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- clients -------------------------------------------------------------------------

    def submit(self, client: int, operation: bytes) -> None:
        node = self.clients[client]
        node.outstanding_timestamp = node.client.submit(operation).message.timestamp
        node.votes = {}
        if self.clock is not None:
            node.submitted_at = self.clock()
        self._send_all(node.public_key, node.client.take_sends())

    def take_completed(self, client: int) -> list[Completed]:
        node = self.clients[client]
        done, node.completed = node.completed, []
        return done

    # --- faults --------------------------------------------------------------------------

    def inject(self, recipient: bytes, frame: bytes) -> None:
        """Put raw bytes on the wire to one node, as any peer (or attacker) could."""
        endpoint = self._by_key[recipient]
        if endpoint.up:
            endpoint.inbox.append(frame)

    def crash(self, replica: int) -> None:
        node = self.replicas[replica]
        node.crash()
        self._in_flight = deque(v for v in self._in_flight if v.endpoint is not node)
        node.verifying = False

    def restart(self, replica: int) -> None:
        node = self.replicas[replica]
        node.restart()
        self._drain(node)

    # --- time and delivery ---------------------------------------------------------------

    def sweep(self) -> int:
        """Move the network on; returns how much happened (0: quiet, time may pass).

        Each node's queued frames are decoded and handed to the verifier as one batch
        (the clients, being one load generator here, share a submission, never a cache).
        In lockstep mode every batch of the sweep is then stepped in node order: runs are
        reproducible. Pipelined, a node whose batch is still being verified gathers new
        frames for its next one, and the sweep steps whichever batches are verified
        already, waiting only when none is (or when the oldest has waited
        `max_wait_sweeps` sweeps): the verifier and the stepping overlap.
        """
        taken = self._take_inboxes()
        if not self.pipelined:
            delivered = 0
            while self._in_flight:
                self._deliver(self._in_flight.popleft())
                delivered += 1
            return taken + delivered
        return taken + self._deliver_verified()

    def _take_inboxes(self) -> int:
        taken = 0
        client_work: list[_Verifying] = []
        for endpoint in self._endpoints:
            if not endpoint.inbox or (self.pipelined and endpoint.verifying):
                continue
            frames, endpoint.inbox = endpoint.inbox, []
            taken += len(frames)
            if not endpoint.up:
                continue
            verifying = self._decode(endpoint, frames)
            endpoint.verifying = True
            if isinstance(endpoint, ClientNode):
                client_work.append(verifying)
            else:
                self._submit([verifying])
                self._in_flight.append(verifying)
        if client_work:
            self._submit(client_work)
            self._in_flight.extend(client_work)
        return taken

    def _deliver_verified(self) -> int:
        in_flight = self._in_flight
        if not in_flight:
            return 0
        self._sweeps += 1
        delivered = 0
        oldest = in_flight[0]
        if self._sweeps - oldest.sweep >= self.max_wait_sweeps:
            # Do not let young batches overtake an old one for ever: while the stepping
            # thread finds something to do every sweep, the verifier (below its priority)
            # would get no CPU and the table would starve on its own signatures.
            in_flight.popleft()
            self._deliver(oldest)
            delivered = 1
        waiting: deque[_Verifying] = deque()
        while in_flight:
            verifying = in_flight.popleft()
            if verifying.verdicts is None or verifying.verdicts.done():
                self._deliver(verifying)
                delivered += 1
            else:
                waiting.append(verifying)
        if not delivered and waiting:
            self._deliver(waiting.popleft())  # the oldest batch: wait for its verdicts
            delivered = 1
        self._in_flight = waiting
        return delivered

    def tick(self) -> None:
        """One unit of virtual time for every node that is up."""
        self.now_ticks += 1
        for node in self.replicas:
            if node.replica is not None:
                node.replica.tick()
                self._drain(node)
        for client in self.clients:
            client.client.tick()
            self._send_all(client.public_key, client.client.take_sends())

    def settle(self, max_sweeps: int = 10_000) -> int:
        """Sweep until the network is quiet; returns the number of sweeps."""
        for sweeps in range(max_sweeps):
            if not self.sweep():
                return sweeps
        raise RuntimeError(f"network still busy after {max_sweeps} sweeps")

    def run_until(self, done: Callable[[], bool], max_ticks: int = 10_000) -> bool:
        """Sweep, and tick whenever the network is quiet, until `done()` or `max_ticks`."""
        start = self.now_ticks
        while not done():
            if self.sweep():
                continue
            if self.now_ticks - start >= max_ticks:
                return False
            self.tick()
        return True

    # --- inspection ----------------------------------------------------------------------

    def live_replicas(self) -> list[ReplicaNode]:
        return [node for node in self.replicas if node.replica is not None]

    def state_digests(self) -> dict[int, bytes]:
        return {node.index: node.live().state_digest() for node in self.live_replicas()}

    # --- the shell -----------------------------------------------------------------------

    def _decode(self, endpoint: _Endpoint, frames: list[bytes]) -> _Verifying:
        """Decode a node's frames and list the signatures its cache has not seen."""
        decoded: list[tuple[bytes, Envelope[Any]]] = []
        for frame in frames:
            try:
                decoded.append((frame, decode_envelope(frame)))
            except DecodeError:
                endpoint.rejected += 1
        deferred: list[bytes] = []
        if isinstance(endpoint, ClientNode):
            decoded = self._useful_replies(endpoint, decoded, deferred)
        plan = plan_batch([envelope for _, envelope in decoded], endpoint.cache)
        return _Verifying(endpoint, plan.envelopes, plan.needed, plan.batch, plan.checks,
                          deferred)

    def _useful_replies(self, node: ClientNode, decoded: list[tuple[bytes, Envelope[Any]]],
                        deferred: list[bytes]) -> list[tuple[bytes, Envelope[Any]]]:
        """The replies worth verifying now: enough that agree, for the outstanding request.

        A reply for a request that is no longer outstanding changes nothing in `Client`,
        so it is dropped unverified (and never stepped). Of the rest, only as many as could
        complete the request are verified now: the group of equal results closest to f+1
        verified votes, less the votes it already has. The others wait for the next sweep:
        by then the request has usually completed and they are dropped; if not, they are
        verified then.
        """
        outstanding = node.outstanding_timestamp if node.client.busy else None
        groups: dict[bytes, list[tuple[bytes, Envelope[Any]]]] = {}
        others: list[tuple[bytes, Envelope[Any]]] = []
        for item in decoded:
            reply = item[1].message
            if type(reply) is not Reply:
                others.append(item)
            elif reply.timestamp == outstanding:
                groups.setdefault(reply.result, []).append(item)
            else:
                node.ignored += 1
        if not groups:
            return others
        votes = node.votes
        best = max(groups, key=lambda result: votes.get(result, 0) + len(groups[result]))
        wanted = max(1, self.config.weak_quorum - votes.get(best, 0))
        for result, group in groups.items():
            rest = group[wanted:] if result == best else group
            deferred.extend(frame for frame, _ in rest)
        return others + groups[best][:wanted]

    def _submit(self, batches: list[_Verifying]) -> None:
        """Start one verifier call for the unseen signatures of one or more nodes."""
        checks: list[SignatureCheck] = []
        for verifying in batches:
            verifying.offset = len(checks)
            checks.extend(verifying.checks)
        if not checks:
            return
        self.signatures_verified += len(checks)
        self.verify_batches += 1
        for verifying in batches:
            verifying.sweep = self._sweeps
        verdicts: Verdicts
        if len(checks) <= self.inline_max_checks:
            verdicts = _Known([verify_one(pk, msg, sig) for pk, msg, sig in checks])
        else:
            verdicts = self.verifier.submit(checks)
        for verifying in batches:
            verifying.verdicts = verdicts

    def _deliver(self, verifying: _Verifying) -> None:
        endpoint = verifying.endpoint
        endpoint.verifying = False
        if not endpoint.up:
            return
        endpoint.inbox.extend(verifying.deferred)
        invalid: set[CacheKey] = set()
        if verifying.verdicts is not None and verifying.batch:
            start = verifying.offset
            verdicts = verifying.verdicts.result()[start:start + len(verifying.batch)]
            add = endpoint.cache.add
            for key, ok in zip(verifying.batch, verdicts, strict=True):
                if ok:
                    add(key)
                else:
                    invalid.add(key)
        if isinstance(endpoint, ReplicaNode):
            step = endpoint.live().step
            for envelope, needed in zip(verifying.envelopes, verifying.keys, strict=True):
                if invalid and not invalid.isdisjoint(needed):
                    endpoint.rejected += 1
                else:
                    endpoint.received += 1
                    step(envelope)
            self._drain(endpoint)
            return
        assert isinstance(endpoint, ClientNode)
        for envelope, needed in zip(verifying.envelopes, verifying.keys, strict=True):
            if invalid and not invalid.isdisjoint(needed):
                endpoint.rejected += 1
            else:
                endpoint.received += 1
                self._step_client(endpoint, envelope)

    def _step_client(self, node: ClientNode, envelope: Envelope[Any]) -> None:
        client = node.client
        reply = envelope.message
        if type(reply) is Reply and reply.timestamp == node.outstanding_timestamp:
            node.votes[reply.result] = node.votes.get(reply.result, 0) + 1
        client.step(envelope)
        if client.busy:
            return
        done = client.take_completed()
        if done:
            node.completed.extend(done)
            self.completed += len(done)
            if self.clock is not None and node.submitted_at is not None:
                node.latencies_s.append(self.clock() - node.submitted_at)
                node.submitted_at = None
            for hook in self.completion_hooks:
                hook(node)

    def _drain(self, node: ReplicaNode) -> None:
        """The shell's rule for every Ready: persist, persisted, send, advance."""
        replica = node.live()
        while replica.has_ready():
            ready = replica.ready()
            if ready.persist:
                node.log.write(ready.persist, sync=ready.must_sync)
            replica.persisted(ready.token)
            self._send_all(node.public_key, ready.send)
            for hook in self.ready_hooks:
                hook(node, ready)
            replica.advance(ready)

    def _send_all(self, sender: bytes, sends: Iterable[Send]) -> None:
        by_key = self._by_key
        for send in sends:
            wire = send.envelope.wire
            for recipient in send.recipients:
                endpoint = by_key.get(recipient)
                if endpoint is None or not endpoint.up or recipient == sender:
                    continue
                endpoint.inbox.append(wire)
                self.messages_sent += 1
                self.bytes_sent += len(wire)


def _signer(seed: int, role: str, index: int) -> Ed25519Signer:
    """Deterministic keys, so a run with one seed is the same run every time."""
    return Ed25519Signer(hashlib.sha256(f"bitcraps/local/{seed}/{role}/{index}".encode()).digest())


def _salt(seed: int) -> bytes:
    """The table's salt: deterministic per seed, like its keys, so its id is too."""
    return hashlib.sha256(f"bitcraps/local/{seed}/salt".encode()).digest()[:SALT_BYTES]
