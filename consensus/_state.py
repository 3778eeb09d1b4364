"""The replica's state, and the helpers every protocol module uses to produce output.

The protocol modules (`_normal_case`, `_checkpoint`, `_view_change`, `_state_transfer`,
`_recovery`) are functions over one `ReplicaState`; `Replica` in `_replica` is the facade.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any

from ._app import Application
from ._chunks import manifest_of
from ._chunks import state_digest as state_digest
from ._clients import ClientRecord as ClientRecord
from ._clients import ClientTable
from ._codec import pack, unpack
from ._config import ReplicaConfig
from ._crypto import Signer
from ._durable import Record
from ._errors import LocalProtocolError
from ._messages import (
    OUTCOME_EXECUTED,
    Checkpoint,
    Commit,
    CommitCertificate,
    Envelope,
    Message,
    NewView,
    Prepare,
    PreparedProof,
    PrePrepare,
    Reply,
    Request,
    StateManifest,
    ViewChange,
    signing_bytes,
)
from ._ready import ByzantineDetected, Event, Executed, Send
from ._waiting import WaitingQueue
from ._wire_shape import snapshot_limits

RequestKey = tuple[bytes, int]


@dataclass
class Slot:
    """One sequence number's votes in one view. Committed slots keep their certificate."""

    view: int
    pre_prepare: Envelope[PrePrepare] | None = None
    digest: bytes | None = None
    prepares: dict[bytes, dict[int, Envelope[Prepare]]] = field(default_factory=dict)
    commits: dict[bytes, dict[int, Envelope[Commit]]] = field(default_factory=dict)
    own_prepare: bytes | None = None
    own_commit: bytes | None = None
    prepared: bool = False
    certificate: CommitCertificate | None = None


@dataclass
class ChunkTransfer:
    """A snapshot being fetched chunk by chunk: the checkpoint a quorum proved and its
    manifest (checked against the proof), the chunks received (each checked), and the
    requests in flight (index -> tick sent), failed tries per chunk, and requests sent to
    each replica this tick (never more than it answers in one)."""

    seq: int
    digest: bytes
    proof: tuple[Envelope[Checkpoint], ...]
    manifest: StateManifest
    sources: list[int] = field(default_factory=list)
    chunks: dict[int, bytes] = field(default_factory=dict)
    inflight: dict[int, int] = field(default_factory=dict)
    attempts: dict[int, int] = field(default_factory=dict)
    issued: dict[int, int] = field(default_factory=dict)
    issued_tick: int = -1


@dataclass
class Statistics:
    messages_in: int = 0
    messages_rejected: int = 0
    byzantine_detected: int = 0
    requests_executed: int = 0
    batches_executed: int = 0
    view_changes_started: int = 0
    views_installed: int = 0
    checkpoints_stable: int = 0
    state_fetches: int = 0
    state_transfers: int = 0
    requests_dropped: int = 0
    requests_stale: int = 0
    replies_resent: int = 0
    replies_suppressed: int = 0
    clients_evicted: int = 0
    requests_expired: int = 0
    requests_refused: int = 0
    chunks_served: int = 0
    chunks_fetched: int = 0


def new_client_table(config: ReplicaConfig) -> ClientTable:
    return ClientTable(config.max_client_records, config.max_client_table_bytes,
                       config.request_window_seqs)


class _SplitMix64:
    """A tiny deterministic generator for timer jitter; the seed comes from the shell."""

    def __init__(self, seed: int) -> None:
        self._state = seed & 0xFFFFFFFFFFFFFFFF

    def below(self, bound: int) -> int:
        self._state = (self._state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = self._state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        return (z ^ (z >> 31)) % bound if bound > 0 else 0


class ReplicaState:
    def __init__(self, config: ReplicaConfig, app: Application, signer: Signer, me: int,
                 jitter_seed: int) -> None:
        self.config = config
        self.app = app
        self.signer = signer
        self.me = me
        self.my_key = signer.public_key
        self.index: dict[bytes, int] = {key: i for i, key in enumerate(config.replicas)}
        self.others: tuple[bytes, ...] = tuple(k for i, k in enumerate(config.replicas) if i != me)
        self.random = _SplitMix64(jitter_seed)
        self.stats = Statistics()
        self.now_ticks = 0

        self.view = 0
        self.changing = False
        self.log: dict[int, Slot] = {}
        self.last_executed = 0
        self.next_seq = 0
        self.clients = new_client_table(config)
        self.reply_ticks: dict[bytes, int] = {}

        self.pending: dict[RequestKey, Envelope[Request]] = {}
        self.waiting = WaitingQueue()  # pending, not in a batch of this view (`_waiting`)
        self.pending_by_client: dict[bytes, set[int]] = {}
        self.pending_horizons: list[tuple[int, bytes, int]] = []  # min-heap, stale skipped
        self.forwarded: set[RequestKey] = set()
        self.new_client_keys: dict[RequestKey, None] = {}  # see _admission: unknown keys' requests
        self.request_timer_start: int | None = None
        self.request_timer_key: RequestKey | None = None
        self.lag_deferred_tick: int | None = None

        genesis = self.state_snapshot()
        self.stable_seq = 0
        self.stable_digest = state_digest(genesis)
        self.stable_snapshot = genesis
        self.stable_proof: tuple[Envelope[Checkpoint], ...] = ()
        self.own_checkpoints: dict[int, tuple[bytes, bytes]] = {}
        self.checkpoint_taken_ticks: dict[int, int] = {}
        self.checkpoint_votes: dict[int, dict[bytes, dict[int, Envelope[Checkpoint]]]] = {}
        self.prepared_certs: dict[int, PreparedProof] = {}
        self.committed_certs: dict[int, CommitCertificate] = {}

        self.view_changes: dict[int, dict[int, Envelope[ViewChange]]] = {}
        self.view_change_deadline = 0
        self.backoff_exponent = 0
        self.new_view_env: Envelope[NewView] | None = None
        self.stale_help_ticks: dict[tuple[int, int], int] = {}
        self.future: list[tuple[int, Envelope[Any], int]] = []
        self.future_counts: dict[int, int] = {}
        self.ahead_seqs: dict[int, int] = {}

        self.fetch_target: tuple[int, bytes, tuple[Envelope[Checkpoint], ...]] | None = None
        self.fetch_deadline: int | None = None
        self.gap_since: int | None = None
        self.fetch_on_tick = False
        self.served_ticks: dict[int, tuple[int, int]] = {}
        self.votes_resent_ticks: dict[int, int] = {}
        self.transfer: ChunkTransfer | None = None
        self.served_chunks: dict[int, tuple[int, int]] = {}
        self._manifest: tuple[int, StateManifest] | None = None

        self.silent = False
        self.out_persist: list[Record] = []
        self.out_send: list[Send] = []
        self.out_execute: list[Executed] = []
        self.out_events: list[Event] = []

    # --- roles and windows -------------------------------------------------------------

    def primary_of(self, view: int) -> int:
        return self.config.primary(view)

    def is_primary(self) -> bool:
        return self.config.primary(self.view) == self.me

    def in_window(self, seq: int) -> bool:
        return self.stable_seq < seq <= self.stable_seq + self.config.log_window_seqs

    def slot(self, seq: int) -> Slot:
        """The slot for seq in the current view; a committed slot keeps its certificate."""
        slot = self.log.get(seq)
        if slot is None or slot.view != self.view:
            carried = slot.certificate if slot is not None else None
            slot = Slot(self.view, certificate=carried)
            self.log[seq] = slot
        return slot

    def add_pending(self, key: RequestKey, envelope: Envelope[Request]) -> None:
        self.pending[key] = envelope
        self.waiting.put(key, self.now_ticks)
        self.pending_by_client.setdefault(key[0], set()).add(key[1])
        heapq.heappush(self.pending_horizons, (envelope.message.horizon_seq, *key))
        if len(self.pending_horizons) > 2 * len(self.pending) + 64:
            self.pending_horizons = [(e.message.horizon_seq, *k) for k, e in self.pending.items()]
            heapq.heapify(self.pending_horizons)

    def drop_expired_pending(self, before_seq: int) -> int:
        """Forget pending requests whose horizon is below `before_seq` (the next seq to
        execute, or for the primary the next one to propose): they can never execute
        there or later, so nobody proposes them or times them. How many were dropped."""
        heap, dropped = self.pending_horizons, 0
        while heap and heap[0][0] < before_seq:
            _, client, stamp = heapq.heappop(heap)
            envelope = self.pending.get((client, stamp))
            if envelope is not None and envelope.message.horizon_seq < before_seq:
                self.drop_pending(client, stamp)
                dropped += 1
        self.stats.requests_expired += dropped
        return dropped

    def drop_pending_through(self, client: bytes, timestamp: int) -> None:
        """Forget the client's pending requests up to timestamp: they can never execute now."""
        stamps = self.pending_by_client.get(client)
        if not stamps:
            return
        for stamp in [t for t in stamps if t <= timestamp]:
            self.drop_pending(client, stamp)

    def drop_pending(self, client: bytes, stamp: int) -> None:
        """Forget one pending request."""
        self.pending.pop((client, stamp), None)
        self.waiting.pop((client, stamp))
        self.forwarded.discard((client, stamp))
        self.new_client_keys.pop((client, stamp), None)
        stamps = self.pending_by_client.get(client)
        if stamps is not None:
            stamps.discard(stamp)
            if not stamps:
                del self.pending_by_client[client]

    def keep_future(self, items: list[tuple[int, Envelope[Any], int]]) -> None:
        """Replace the buffer of messages for views not yet installed, recounting per sender."""
        self.future = items
        self.future_counts = {}
        for _, _, sender in items:
            self.future_counts[sender] = self.future_counts.get(sender, 0) + 1

    # --- output --------------------------------------------------------------------------

    def sign(self, message: Message) -> Envelope[Any]:
        body = message.to_list()
        table_id = self.config.table_id
        signature = self.signer.sign(signing_bytes(table_id, self.my_key, message, body))
        envelope: Envelope[Any] = Envelope(table_id, self.my_key, message, signature)
        envelope.__dict__["_body"] = body
        return envelope

    def persist(self, record: Record) -> None:
        if not self.silent:
            self.out_persist.append(record)

    def send(self, recipients: tuple[bytes, ...], envelope: Envelope[Any]) -> None:
        if not self.silent and recipients:
            self.out_send.append(Send(recipients, envelope))

    def broadcast(self, envelope: Envelope[Any]) -> None:
        self.send(self.others, envelope)

    def vote(self, message: Message) -> Envelope[Any]:
        """Sign, persist and broadcast one of our votes."""
        from ._durable import OwnMessage

        envelope = self.sign(message)
        self.persist(OwnMessage(envelope))
        self.broadcast(envelope)
        return envelope

    def event(self, event: Event) -> None:
        if not self.silent:
            self.out_events.append(event)

    def executed(self, item: Executed) -> None:
        if not self.silent:
            self.out_execute.append(item)

    def reply(self, client: bytes, timestamp: int, result: bytes, seq: int,
              outcome: int = OUTCOME_EXECUTED) -> None:
        if not self.silent:
            reply = Reply(self.view, client, timestamp, result, seq, outcome)
            self.send((client,), self.sign(reply))

    def byzantine(self, replica: int, reason: str) -> None:
        self.stats.byzantine_detected += 1
        self.event(ByzantineDetected(replica, reason))

    # --- replicated state ----------------------------------------------------------------

    def state_snapshot(self) -> bytes:
        return pack([self.app.snapshot(), self.clients.to_wire()])

    def restore_state(self, snapshot: bytes) -> None:
        """Load a snapshot that is already trusted: it matched a 2f+1 checkpoint proof, or
        this replica persisted it itself. If it cannot load, honest replicas produced state
        we cannot read back: that is our own bug, never a peer's (`LocalProtocolError`)."""
        try:
            app_snapshot, clients = unpack(snapshot, limits=snapshot_limits(
                self.config.max_client_records))
            table = ClientTable.from_wire(self.config.max_client_records,
                                          self.config.max_client_table_bytes,
                                          self.config.request_window_seqs, clients)
            self.app.restore(bytes(app_snapshot))
        except Exception as exc:  # a snapshot that matched a quorum proof yet cannot load
            raise LocalProtocolError(
                f"a trusted state snapshot does not load ({type(exc).__name__})") from None
        self.clients = table
        self.reply_ticks.clear()

    def stable_manifest(self) -> StateManifest:
        """The manifest of the stable snapshot, computed once per stable checkpoint."""
        if self._manifest is None or self._manifest[0] != self.stable_seq:
            self._manifest = (self.stable_seq, manifest_of(self.stable_snapshot))
        return self._manifest[1]
