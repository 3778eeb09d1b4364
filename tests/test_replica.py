"""The PBFT replica driven by a small synchronous network, with real Ed25519 everywhere.

The harness is the shell's contract in miniature: bytes arrive, are decoded by the strict
codec, every signature in the tree is checked with libsodium, and only then is the
envelope stepped. Each `Ready` is made durable in a `DurableLog` and acknowledged with
`persisted(token)` before its messages leave, then `advance` is called. Delivery is FIFO
(or shuffled by a seeded generator in the random-fault test) and there is no clock: every
run is the same run. Every Ready is checked on the way: votes durable before they leave,
no proposal above the high watermark, one batch per seq across all replicas.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitcraps.accel._ed25519_cpu import Ed25519Signer, verify_one
from bitcraps.consensus import (
    ByzantineDetected,
    Checkpoint,
    CheckpointStable,
    Client,
    Commit,
    CommitCertificate,
    Completed,
    DecodeError,
    DurableLog,
    Envelope,
    Event,
    Executed,
    FetchState,
    KeyValueApp,
    LocalProtocolError,
    Message,
    MessageRejected,
    NewView,
    OwnMessage,
    Prepare,
    Prepared,
    PrePrepare,
    Ready,
    Replica,
    ReplicaConfig,
    Reply,
    Request,
    StateReply,
    StateTransferred,
    ViewChange,
    ViewChanged,
    batch_digest,
    decode_envelope,
    signing_bytes,
    verify_envelope,
)
from bitcraps.consensus._chunks import manifest_of
from bitcraps.consensus._codec import pack, unpack

TABLE = b"table-0000000001"
FRAME_LIMIT_BYTES = 1 << 20  # transports/libp2p_transport.py DEFAULT_MAX_FRAME_BYTES
OTHER_TABLE = b"table-0000000002"
OK = pack([b"ok"])

Drop = Callable[[bytes, bytes, Envelope[Any]], bool]


def verify_batch(checks: Sequence[tuple[bytes, bytes, bytes]]) -> list[bool]:
    return [verify_one(key, data, signature) for key, data, signature in checks]


def signer(tag: int) -> Ed25519Signer:
    return Ed25519Signer(bytes([tag]) * 32)


def sign(by: Ed25519Signer, message: Message, table: bytes = TABLE) -> Envelope[Any]:
    signature = by.sign(signing_bytes(table, by.public_key, message))
    return Envelope(table, by.public_key, message, signature)


def put(key: bytes, value: bytes) -> bytes:
    return pack([b"put", key, value])


def add(key: bytes, delta: int) -> bytes:
    return pack([b"add", key, delta])


@dataclass
class Node:
    """One replica with its storage and everything it did, as its shell saw it."""

    signer: Ed25519Signer
    app: KeyValueApp
    replica: Replica
    log: DurableLog = field(default_factory=DurableLog)
    executed: list[Executed] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    sent: list[Envelope[Any]] = field(default_factory=list)
    up: bool = True

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


class Cluster:
    """n replicas and some clients on one FIFO network."""

    def __init__(self, n: int = 4, clients: int = 1, **tunables: Any) -> None:
        tunables.setdefault("checkpoint_interval_seqs", 4)
        tunables.setdefault("log_window_seqs", 8)
        tunables.setdefault("view_change_timeout_ticks", 10)
        tunables.setdefault("fetch_timeout_ticks", 6)
        signers = [signer(i + 1) for i in range(n)]
        self.config = ReplicaConfig(TABLE, tuple(s.public_key for s in signers), **tunables)
        self.nodes = [self._node(s, i) for i, s in enumerate(signers)]
        self.by_key = {node.signer.public_key: i for i, node in enumerate(self.nodes)}
        self.clients = [
            Client(self.config, signer(100 + i), retransmit_timeout_ticks=30)
            for i in range(clients)
        ]
        self.client_by_key = {c.signer.public_key: c for c in self.clients}
        self.completed: dict[bytes, list[Completed]] = {
            c.signer.public_key: [] for c in self.clients
        }
        self.queue: deque[tuple[bytes, bytes, bytes]] = deque()
        self.drop: Drop = lambda source, dest, envelope: False
        self.forged = 0
        self.undecodable = 0
        self.delivered = 0
        # the transports' frame limit: a bigger frame never arrives (counted, as they do)
        self.max_frame_bytes = FRAME_LIMIT_BYTES
        self.oversized = 0
        self.largest_frame = 0
        # seq -> the batch's requests (wire bytes) as first executed anywhere, across restarts
        self.order: dict[int, tuple[bytes, ...]] = {}
        # optional chaos: a seeded generator that reorders, drops and duplicates deliveries
        self.chaos: random.Random | None = None
        self.loss = 0.0
        self.duplication = 0.0

    def _node(self, who: Ed25519Signer, index: int) -> Node:
        app = KeyValueApp()
        return Node(who, app, Replica(self.config, app, who, jitter_seed=index))

    # --- the shell ------------------------------------------------------------------------

    def drain(self, i: int) -> None:
        """Persist, acknowledge, send, then advance: the order the shell must keep."""
        node = self.nodes[i]
        while node.replica.has_ready():
            ready = node.replica.ready()
            node.log.write(ready.persist, sync=ready.must_sync)
            node.replica.persisted(ready.token)
            self._check_votes_durable(node, ready)
            for send in ready.send:
                node.sent.append(send.envelope)
                for peer in send.recipients:
                    self.queue.append((node.signer.public_key, peer, send.envelope.wire))
            node.executed.extend(ready.execute)
            self._check_order(ready)
            node.events.extend(ready.events)
            node.replica.advance(ready)
            self._check_watermarks(node, ready)

    def _check_votes_durable(self, node: Node, ready: Ready) -> None:
        """Every vote that leaves is already in storage (or garbage-collected below it)."""
        stored = {r.envelope.wire for r in node.log.records() if isinstance(r, OwnMessage)}
        stable = node.replica.stable_checkpoint_seq
        for send in ready.send:
            envelope = send.envelope
            message = envelope.message
            if envelope.sender != node.signer.public_key:
                continue
            if isinstance(message, (PrePrepare, Prepare, Commit)) and message.seq <= stable:
                continue
            if isinstance(message, (PrePrepare, Prepare, Commit, ViewChange, NewView)):
                assert envelope.wire in stored, f"{type(message).__name__} sent before persisted"

    def _check_order(self, ready: Ready) -> None:
        """Agreement: every replica executes the same batch at each seq, whenever it does."""
        batches: dict[int, list[bytes]] = {}
        for item in ready.execute:
            batches.setdefault(item.seq, []).append(item.request.wire)
        for seq, wires in batches.items():
            assert self.order.setdefault(seq, tuple(wires)) == tuple(wires), f"seq {seq} differs"

    def _check_watermarks(self, node: Node, ready: Ready) -> None:
        high = node.replica.stable_checkpoint_seq + self.config.log_window_seqs
        for send in ready.send:
            message = send.envelope.message
            if type(message) is PrePrepare and send.envelope.sender == node.signer.public_key:
                assert message.seq <= high, f"proposed seq {message.seq} above {high}"
        # Slots and prepared certificates lie inside the window; commit certificates may run
        # up to a window past it after a state transfer, until the next checkpoint is stable.
        assert node.replica.log_size() <= 4 * self.config.log_window_seqs

    def deliver(self, source: bytes, dest: bytes, data: bytes) -> None:
        self.largest_frame = max(self.largest_frame, len(data))
        if len(data) > self.max_frame_bytes:
            self.oversized += 1
            return
        try:
            envelope = decode_envelope(data)
        except DecodeError:
            self.undecodable += 1
            return
        if self.drop(source, dest, envelope):
            return
        if not verify_envelope(envelope, verify_batch):
            self.forged += 1
            return
        self.delivered += 1
        if dest in self.client_by_key:
            client = self.client_by_key[dest]
            client.step(envelope)
            self.completed[dest].extend(client.take_completed())
            return
        i = self.by_key.get(dest)
        if i is None or not self.nodes[i].up:
            return
        self.nodes[i].replica.step(envelope)
        self.drain(i)

    def inject(self, dest: int, envelope: Envelope[Any], source: bytes = b"") -> None:
        """Put bytes on the wire to one replica, as any peer on the mesh could."""
        self.queue.append((source, self.nodes[dest].signer.public_key, envelope.wire))

    def run(self, limit: int = 200_000) -> None:
        self._flush_clients()
        steps = 0
        while self.queue:
            steps += 1
            assert steps < limit, "the network did not go quiet"
            if self.chaos is None:
                self.deliver(*self.queue.popleft())
            else:
                self._deliver_chaotically(self.chaos)
            self._flush_clients()

    def _deliver_chaotically(self, rng: random.Random) -> None:
        self.queue.rotate(-rng.randrange(min(len(self.queue), 8)))
        item = self.queue.popleft()
        roll = rng.random()
        if roll < self.loss:
            return
        if roll < self.loss + self.duplication:
            self.queue.append(item)
        self.deliver(*item)

    def _flush_clients(self) -> None:
        for client in self.clients:
            for send in client.take_sends():
                for peer in send.recipients:
                    self.queue.append((client.signer.public_key, peer, send.envelope.wire))

    def tick(self, times: int = 1) -> None:
        for _ in range(times):
            for i, node in enumerate(self.nodes):
                if node.up:
                    node.replica.tick()
                    self.drain(i)
            for client in self.clients:
                client.tick()
            self.run()

    def until(self, done: Callable[[], bool], max_ticks: int = 400) -> int:
        self.run()
        for ticks in range(max_ticks):
            if done():
                return ticks
            self.tick()
        raise AssertionError("condition not reached")

    # --- faults ---------------------------------------------------------------------------

    def crash(self, i: int) -> None:
        self.nodes[i].up = False

    def restart(self, i: int) -> None:
        """A new process: fresh application, state rebuilt only from what was persisted."""
        old = self.nodes[i]
        app = KeyValueApp()
        replica = Replica.recover(self.config, app, old.signer, old.log.records(), jitter_seed=i)
        self.nodes[i] = Node(old.signer, app, replica, log=old.log)
        self.drain(i)

    # --- inspection -----------------------------------------------------------------------

    def replica(self, i: int) -> Replica:
        return self.nodes[i].replica

    def live(self) -> list[Node]:
        return [node for node in self.nodes if node.up]

    def submit(self, client: int, operation: bytes) -> Envelope[Request]:
        return self.clients[client].submit(operation)

    def done(self, client: int) -> list[Completed]:
        return self.completed[self.clients[client].signer.public_key]

    def assert_agreement(self) -> None:
        """No two replicas executed different requests at one sequence number."""
        by_seq: dict[tuple[int, int], bytes] = {}
        for node in self.nodes:
            per_seq: dict[int, list[bytes]] = {}
            for item in node.executed:
                per_seq.setdefault(item.seq, []).append(item.request.wire)
            for seq, wires in per_seq.items():
                for position, wire in enumerate(wires):
                    assert by_seq.setdefault((seq, position), wire) == wire

    def assert_converged(self, nodes: Sequence[int] | None = None) -> None:
        chosen = [self.nodes[i] for i in nodes] if nodes is not None else self.live()
        digests = {node.replica.state_digest() for node in chosen}
        executed = {node.replica.last_executed_seq for node in chosen}
        assert len(digests) == 1 and len(executed) == 1, (digests, executed)


def executed_ops(node: Node) -> list[tuple[bytes, int]]:
    return [(e.request.sender, e.request.message.timestamp) for e in node.executed]


def pre_prepares_sent(node: Node) -> list[PrePrepare]:
    return [e.message for e in node.sent
            if type(e.message) is PrePrepare and e.sender == node.signer.public_key]


# --- normal case -----------------------------------------------------------------------------


@pytest.mark.parametrize("n", [4, 7])
def test_normal_case_commits_and_client_accepts_f_plus_one_replies(n: int) -> None:
    cluster = Cluster(n)
    assert cluster.config.f == (n - 1) // 3
    request = cluster.submit(0, put(b"chips", b"100"))
    cluster.run()
    (completed,) = cluster.done(0)
    assert completed == Completed(request.message.timestamp, OK, 0, seq=1)
    for node in cluster.nodes:
        assert [(e.seq, e.request, e.result) for e in node.executed] == [(1, request, OK)]
        assert node.app.get(b"chips") == b"100"
        assert node.replica.last_executed_seq == 1
        assert node.replica.statistics()["messages_rejected"] == 0
    # Every replica replied, with the same signed result.
    client_key = cluster.clients[0].signer.public_key
    replies = [e for node in cluster.nodes for e in node.sent if type(e.message) is Reply]
    assert {e.sender for e in replies} == set(cluster.config.replicas)
    assert all(e.message.client == client_key and e.message.result == OK for e in replies)
    cluster.assert_converged()
    assert cluster.forged == 0 and cluster.undecodable == 0


@pytest.mark.parametrize("n", [4, 7])
def test_sequential_requests_from_several_clients_commit_in_one_order(n: int) -> None:
    cluster = Cluster(n, clients=3)
    for round_ in range(3):
        for c in range(3):
            cluster.submit(c, add(b"pot", c + 1))
        cluster.run()
        cluster.tick(2)
        assert all(len(cluster.done(c)) == round_ + 1 for c in range(3))
    expected = (1 + 2 + 3) * 3
    for node in cluster.nodes:
        assert int.from_bytes(node.app.get(b"pot") or b"", "big", signed=True) == expected
        assert len(node.executed) == 9
    cluster.assert_agreement()
    cluster.assert_converged()
    # The client's accepted result is the running total some honest replica computed.
    # Each accepted result is the running total at that request's place in the order.
    everything = cluster.done(0) + cluster.done(1) + cluster.done(2)
    results = sorted(unpack(c.result)[1] for c in everything)
    assert len(set(results)) == 9 and results[-1] == expected


def test_batching_when_the_pipeline_is_busy() -> None:
    cluster = Cluster(4, clients=19, batch_max_requests=8)
    for c in range(19):
        cluster.submit(c, put(b"k%d" % c, b"v"))
    cluster.run()
    primary = cluster.nodes[0]
    sizes = [len(pp.requests) for pp in pre_prepares_sent(primary)]
    # The first request went out alone (nothing was in flight); the others queued behind it
    # and left as full batches of 8; once those committed the idle primary sent the rest.
    assert sizes == [1, 8, 8, 2]
    assert primary.replica.statistics()["pending_requests"] == 0
    for node in cluster.nodes:
        assert len(node.executed) == 19
        assert [e.seq for e in node.executed] == [1] + [2] * 8 + [3] * 8 + [4] * 2
        assert node.replica.statistics()["batches_executed"] == 4
    assert all(len(cluster.done(c)) == 1 for c in range(19))
    cluster.assert_agreement()
    cluster.assert_converged()


def test_pipelining_stays_inside_the_watermarks() -> None:
    cluster = Cluster(4, clients=12, checkpoint_interval_seqs=2, log_window_seqs=4,
                      max_inflight_batches=8, batch_max_requests=1)
    held: list[tuple[bytes, bytes, bytes]] = []
    holding = True

    def hold_replica_traffic(source: bytes, dest: bytes, envelope: Envelope[Any]) -> bool:
        if holding and source in cluster.by_key:
            held.append((source, dest, envelope.wire))
            return True
        return False

    cluster.drop = hold_replica_traffic
    for c in range(12):
        cluster.submit(c, put(b"k", b"%d" % c))
    cluster.run()
    cluster.tick(3)
    primary = cluster.nodes[0]
    # Four batches in flight at once (pipelining), but none beyond stable 0 + window 4.
    assert [pp.seq for pp in pre_prepares_sent(primary)] == [1, 2, 3, 4]
    assert primary.replica.last_executed_seq == 0
    assert {pp.view for pp in pre_prepares_sent(primary)} == {0}
    assert held and {source for source, _, _ in held} <= set(cluster.by_key)
    holding = False
    for item in held:
        cluster.queue.append(item)
    cluster.run()
    cluster.tick(5)
    seqs = [pp.seq for pp in pre_prepares_sent(primary)]
    assert seqs == list(range(1, 13))
    for node in cluster.nodes:
        assert len(node.executed) == 12
    assert all(len(cluster.done(c)) == 1 for c in range(12))
    cluster.assert_converged()


def test_checkpoints_become_stable_and_collect_the_log() -> None:
    cluster = Cluster(4, clients=1, checkpoint_interval_seqs=2, log_window_seqs=4)
    sizes: list[int] = []
    for i in range(9):
        cluster.submit(0, put(b"k", b"%d" % i))
        cluster.run()
        sizes.append(cluster.replica(1).log_size())
    for node in cluster.nodes:
        replica = node.replica
        assert replica.last_executed_seq == 9
        assert replica.stable_checkpoint_seq == 8
        stable = node.of(CheckpointStable)
        assert [e.seq for e in stable] == [2, 4, 6, 8]
        assert len({e.state_digest for e in stable}) == 4
        assert replica.checkpoint_digest(8) == stable[-1].state_digest
        # Only seq 9 is left in the log; storage holds nothing at or below the checkpoint.
        assert replica.log_size() <= 3
        for record in node.log.records():
            seq = getattr(record, "seq", None)
            assert seq is None or type(record).__name__ == "StableCheckpoint" or seq > 8
    # The log grows between checkpoints and drops when one becomes stable.
    # (slot, prepared certificate, commit certificate) per executed seq above the checkpoint.
    assert sizes == [3, 0, 3, 0, 3, 0, 3, 0, 3]
    digests = {node.replica.checkpoint_digest(8) for node in cluster.nodes}
    assert len(digests) == 1


# --- view change -----------------------------------------------------------------------------


@pytest.mark.parametrize("n", [4, 7])
def test_silent_primary_triggers_a_view_change_and_requests_still_commit(n: int) -> None:
    cluster = Cluster(n, clients=2)
    cluster.submit(0, put(b"before", b"1"))
    cluster.run()
    assert len(cluster.done(0)) == 1
    cluster.crash(0)
    request = cluster.submit(1, put(b"after", b"2"))
    ticks = cluster.until(lambda: len(cluster.done(1)) == 1)
    assert ticks >= cluster.config.view_change_timeout_ticks
    (completed,) = cluster.done(1)
    assert completed.result == OK and completed.timestamp == request.message.timestamp
    for node in cluster.live():
        assert node.replica.view == 1 and not node.replica.changing_view
        assert node.of(ViewChanged) == [ViewChanged(1, 1)]
        assert node.app.get(b"after") == b"2" and node.app.get(b"before") == b"1"
        assert [e.request for e in node.executed][-1] == request
        assert executed_ops(node).count((request.sender, request.message.timestamp)) == 1
        # The backups first forwarded the request to the silent primary, then gave up on it.
        assert request in [e for e in node.sent if type(e.message) is Request]
        assert node.replica.statistics()["view_changes_started"] >= 1
    assert cluster.replica(1).is_primary
    # The new primary keeps serving.
    cluster.submit(0, put(b"later", b"3"))
    cluster.until(lambda: len(cluster.done(0)) == 2)
    cluster.assert_agreement()
    cluster.assert_converged()


def test_view_change_carries_a_prepared_batch_into_the_new_view() -> None:
    """A batch that prepared but whose commits were lost is re-proposed, not lost or doubled."""
    cluster = Cluster(4, clients=1)
    keys = {node.signer.public_key for node in cluster.nodes}

    def drop_commits(source: bytes, dest: bytes, envelope: Envelope[Any]) -> bool:
        return type(envelope.message) is Commit and source in keys

    cluster.drop = drop_commits
    request = cluster.submit(0, add(b"pot", 7))
    cluster.run()
    for node in cluster.nodes:
        assert node.replica.last_executed_seq == 0
        # Prepared (and persisted as such), not committed.
        assert [r.seq for r in node.log.records() if isinstance(r, Prepared)] == [1]
    cluster.crash(0)
    # The backups' commits of view 0 stay lost (repeated to a peer asking for state, they
    # would commit the batch in view 0): only the view change can finish it.
    cluster.drop = lambda source, dest, envelope: (
        type(envelope.message) is Commit and envelope.message.view == 0)
    cluster.until(lambda: len(cluster.done(0)) == 1)
    for node in cluster.live():
        assert node.replica.view == 1
        assert executed_ops(node) == [(request.sender, request.message.timestamp)]
        assert int.from_bytes(node.app.get(b"pot") or b"", "big", signed=True) == 7
    cluster.assert_converged()


# --- crash and recovery ----------------------------------------------------------------------


def test_restarted_backup_catches_up_by_state_transfer() -> None:
    cluster = Cluster(4, clients=1, checkpoint_interval_seqs=2, log_window_seqs=4)
    for i in range(3):
        cluster.submit(0, put(b"k%d" % i, b"v"))
        cluster.run()
    assert cluster.replica(3).last_executed_seq == 3
    cluster.crash(3)
    for i in range(3, 14):
        cluster.submit(0, put(b"k%d" % i, b"v"))
        cluster.run()
    leader = cluster.replica(0)
    assert leader.last_executed_seq == 14 and leader.stable_checkpoint_seq == 14
    records_before = len(cluster.nodes[3].log)
    assert records_before > 0

    cluster.restart(3)
    restarted = cluster.nodes[3]
    # Recovery replays the durable records silently: the state up to seq 3 is back...
    assert restarted.replica.last_executed_seq >= 2
    assert restarted.app.get(b"k1") == b"v"
    assert not restarted.sent
    # ...and the rest arrives by state transfer once the node hears from the others.
    cluster.submit(0, put(b"k14", b"v"))
    cluster.until(lambda: restarted.replica.last_executed_seq == leader.last_executed_seq)
    assert restarted.of(StateTransferred)
    assert restarted.replica.statistics()["state_transfers"] >= 1
    assert restarted.app.get(b"k13") == b"v" and restarted.app.get(b"k14") == b"v"
    cluster.assert_converged()
    # It takes part again: later requests commit with it in the quorum.
    cluster.crash(2)
    cluster.submit(0, put(b"k15", b"v"))
    cluster.until(lambda: restarted.replica.last_executed_seq == leader.last_executed_seq == 16)
    cluster.assert_converged([0, 1, 3])
    cluster.assert_agreement()


def test_restart_keeps_the_view_and_the_state() -> None:
    """A replica restarted from storage does not go back to an older view."""
    cluster = Cluster(4, clients=1)
    cluster.submit(0, put(b"a", b"1"))
    cluster.run()
    cluster.crash(0)
    cluster.submit(0, put(b"b", b"2"))
    cluster.until(lambda: len(cluster.done(0)) == 2)
    before = cluster.replica(2)
    view, executed, digest = before.view, before.last_executed_seq, before.state_digest()
    cluster.crash(2)
    cluster.restart(2)
    after = cluster.replica(2)
    assert (after.view, after.last_executed_seq, after.state_digest()) == (view, executed, digest)
    assert after.view == 1 and not after.changing_view
    cluster.submit(0, put(b"c", b"3"))
    cluster.until(lambda: len(cluster.done(0)) == 3)
    cluster.assert_converged()


def test_restarted_backup_never_contradicts_a_prepare_it_sent() -> None:
    cluster = Cluster(4, clients=2)
    primary = cluster.nodes[0].signer
    a = sign(cluster.clients[0].signer, Request(1, put(b"x", b"a")))
    b = sign(cluster.clients[1].signer, Request(1, put(b"x", b"b")))
    for i in (0, 1, 3):
        cluster.crash(i)  # nobody else hears anything: only replica 2's storage matters
    cluster.inject(2, sign(primary, PrePrepare(0, 1, (a,))))
    cluster.run()
    (vote,) = [e.message for e in cluster.nodes[2].sent if type(e.message) is Prepare]
    assert vote == Prepare(0, 1, batch_digest((a,)))
    cluster.crash(2)
    cluster.restart(2)
    restarted = cluster.nodes[2]
    # The (faulty) primary now shows the restarted replica another batch for the same slot.
    cluster.inject(2, sign(primary, PrePrepare(0, 1, (b,))))
    cluster.run()
    assert not [e for e in restarted.sent if type(e.message) is Prepare
                and e.message.digest == batch_digest((b,))]
    assert not [r for r in restarted.log.records() if isinstance(r, OwnMessage)
                and type(r.envelope.message) is Prepare
                and r.envelope.message.digest == batch_digest((b,))]


@pytest.mark.parametrize("n", [4, 7])
@pytest.mark.parametrize("staggered", [False, True])
def test_whole_table_cut_finishes_the_batch_in_flight_without_a_view_change(
        n: int, staggered: bool) -> None:
    """Every replica persisted its prepare and commit for seq 1, none executed it, all lost
    power. Once they are all back the batch commits in view 0 within a few ticks: each
    repeats its persisted votes on restart, and to every peer that asks for state after."""
    cluster = Cluster(n, clients=1)
    cluster.drop = lambda source, dest, envelope: type(envelope.message) is Commit
    cluster.submit(0, put(b"chips", b"100"))
    cluster.run()
    for node in cluster.nodes:
        assert node.replica.last_executed_seq == 0
        assert [r for r in node.log.records() if isinstance(r, OwnMessage)
                and type(r.envelope.message) is Commit]
        cluster.crash(node.replica.index)
    cluster.drop = lambda source, dest, envelope: False
    for i in range(n):
        cluster.restart(i)
        if staggered:  # the others' repeats reach only those already back
            cluster.run()
            cluster.tick(2)
    cluster.until(lambda: all(node.replica.last_executed_seq == 1 for node in cluster.nodes),
                  max_ticks=3)
    for node in cluster.nodes:
        assert node.replica.view == 0 and not node.replica.changing_view
        assert not [e for e in node.sent if type(e.message) is ViewChange]
        assert node.app.get(b"chips") == b"100"
    assert len(cluster.done(0)) == 1
    cluster.assert_agreement()
    cluster.assert_converged()


# --- exactly once ----------------------------------------------------------------------------


def test_retransmitted_request_executes_once_and_gets_the_cached_reply() -> None:
    cluster = Cluster(4, clients=1)
    request = cluster.submit(0, add(b"pot", 5))
    cluster.run()
    (first,) = cluster.done(0)
    assert unpack(first.result) == [b"ok", 5]

    def replies() -> list[Envelope[Any]]:
        return [e for node in cluster.nodes for e in node.sent if type(e.message) is Reply]

    replies_before = replies()
    # Copies arriving right after the reply went out are answered by that reply: none again.
    for i in range(4):
        cluster.inject(i, request)
    cluster.run()
    assert replies() == replies_before
    # The same signed request arrives again at every replica later (a retransmission or a
    # replay), twice: each replica resends the cached reply once.
    cluster.tick(cluster.config.reply_resend_interval_ticks)
    for i in range(4):
        cluster.inject(i, request)
        cluster.inject(i, request)
    cluster.run()
    for node in cluster.nodes:
        assert node.app.executed == 1
        assert len(node.executed) == 1
        assert int.from_bytes(node.app.get(b"pot") or b"", "big", signed=True) == 5
        assert node.replica.statistics()["requests_executed"] == 1
    resent = replies()
    for e in replies_before:
        resent.remove(e)
    assert len(resent) == 4
    assert {(e.message.timestamp, e.message.result) for e in resent} == {
        (request.message.timestamp, first.result)
    }
    assert {e.sender for e in resent} == set(cluster.config.replicas)


def test_client_retransmits_after_its_timeout_and_the_request_runs_once() -> None:
    cluster = Cluster(4, clients=1)
    client_key = cluster.clients[0].signer.public_key
    dropping = True

    def lose_replies(source: bytes, dest: bytes, envelope: Envelope[Any]) -> bool:
        return dropping and dest == client_key

    cluster.drop = lose_replies
    cluster.submit(0, add(b"pot", 5))
    cluster.run()
    assert all(node.replica.last_executed_seq == 1 for node in cluster.nodes)
    assert cluster.done(0) == []
    dropping = False
    cluster.tick(29)
    assert cluster.clients[0].retransmissions == 0 and cluster.done(0) == []
    cluster.tick()
    assert cluster.clients[0].retransmissions == 1
    (completed,) = cluster.done(0)
    assert unpack(completed.result) == [b"ok", 5] and completed.latency_ticks == 30
    for node in cluster.nodes:
        assert node.app.executed == 1
        assert int.from_bytes(node.app.get(b"pot") or b"", "big", signed=True) == 5


def test_an_older_timestamp_is_never_executed() -> None:
    cluster = Cluster(4, clients=1)
    old = cluster.submit(0, add(b"pot", 1))
    cluster.run()
    cluster.submit(0, add(b"pot", 2))
    cluster.run()
    for i in range(4):
        cluster.inject(i, old)
    cluster.run()
    for node in cluster.nodes:
        assert node.app.executed == 2
        assert int.from_bytes(node.app.get(b"pot") or b"", "big", signed=True) == 3
    # A stale request gets no reply at all: only the newest result is cached.
    stale = [e for node in cluster.nodes for e in node.sent
             if type(e.message) is Reply and e.message.timestamp == old.message.timestamp]
    assert len(stale) == 4


# --- what the shell and the replica refuse -----------------------------------------------------


def _with_signature(envelope: Envelope[Any], signature: bytes) -> Envelope[Any]:
    return Envelope(envelope.table_id, envelope.sender, envelope.message, signature)


def test_forged_messages_fail_verification_and_are_never_stepped() -> None:
    cluster = Cluster(4, clients=1)
    cluster.submit(0, put(b"a", b"1"))
    cluster.run()
    client = cluster.clients[0].signer
    primary = cluster.nodes[0].signer
    target = cluster.replica(1)
    before = target.statistics()
    honest_request = sign(client, Request(9, put(b"x", b"y")))
    flipped = bytes([honest_request.signature[0] ^ 1]) + honest_request.signature[1:]
    forged_request = _with_signature(honest_request, flipped)
    forgeries = [
        # a prepare "from" replica 2, signed by replica 3
        Envelope(TABLE, cluster.nodes[2].signer.public_key, Prepare(0, 2, b"d" * 32),
                 cluster.nodes[3].signer.sign(
                     signing_bytes(TABLE, cluster.nodes[2].signer.public_key,
                                   Prepare(0, 2, b"d" * 32)))),
        # a signature over another table's bytes
        Envelope(TABLE, primary.public_key, PrePrepare(0, 2, ()),
                 primary.sign(signing_bytes(OTHER_TABLE, primary.public_key,
                                            PrePrepare(0, 2, ())))),
        # a client request with one bit flipped in its signature
        forged_request,
        # a correctly signed pre-prepare that carries that forged request
        sign(primary, PrePrepare(0, 2, (forged_request,))),
        # a random signature
        Envelope(TABLE, client.public_key, Request(10, b""), b"\x07" * 64),
    ]
    assert verify_envelope(honest_request, verify_batch)
    for forged in forgeries:
        assert not verify_envelope(forged, verify_batch)
        cluster.inject(1, forged)
    cluster.run()
    assert cluster.forged == len(forgeries)
    after = target.statistics()
    assert after["messages_in"] == before["messages_in"]
    assert after["last_executed_seq"] == 1 and after["pending_requests"] == 0
    assert all(len(node.executed) == 1 for node in cluster.nodes)


def test_garbage_bytes_never_reach_the_replica() -> None:
    cluster = Cluster(4, clients=1)
    before = cluster.replica(1).statistics()["messages_in"]
    dest = cluster.nodes[1].signer.public_key
    truncated = sign(cluster.nodes[0].signer, FetchState(0)).wire[:-1]
    for data in (b"", b"\xc1", b"\x96\x01\x02", truncated):
        cluster.queue.append((b"", dest, data))
    cluster.run()
    assert cluster.undecodable == 4
    assert cluster.replica(1).statistics()["messages_in"] == before


def _misbehaviour_cases(cluster: Cluster) -> list[tuple[str, Envelope[Any]]]:
    """(what the replica must say, a correctly signed message it must refuse)."""
    s = [node.signer for node in cluster.nodes]
    outsider = signer(77)
    client = cluster.clients[0].signer
    request = sign(client, Request(50, put(b"z", b"1")))
    foreign_request = sign(client, Request(51, put(b"z", b"2")), table=OTHER_TABLE)
    foreign_checkpoint = sign(s[2], Checkpoint(4, b"d" * 32), table=OTHER_TABLE)
    lone_checkpoint = sign(s[2], Checkpoint(4, b"d" * 32))
    return [
        ("Prepare from a key that is not a replica", sign(outsider, Prepare(0, 5, b"d" * 32))),
        ("ViewChange from a key that is not a replica",
         sign(outsider, ViewChange(1, 0, (), ()))),
        ("not the primary", sign(s[2], PrePrepare(0, 5, (request,)))),
        ("the primary does not send prepares", sign(s[0], Prepare(0, 5, b"d" * 32))),
        ("envelope for another table", sign(s[0], PrePrepare(0, 5, (foreign_request,)))),
        ("envelope for another table",
         sign(s[2], ViewChange(1, 4, (foreign_checkpoint,) * 3, ()))),
        ("checkpoint at seq 3, not a boundary", sign(s[2], Checkpoint(3, b"d" * 32))),
        ("checkpoint at seq 0, not a boundary", sign(s[2], Checkpoint(0, b"d" * 32))),
        ("replicas do not take replies", sign(s[2], Reply(0, client.public_key, 1, b""))),
        ("lacks a quorum", sign(s[2], ViewChange(1, 4, (lone_checkpoint,), ()))),
        ("NEW-VIEW not from the new view's primary", sign(s[2], NewView(1, (), ()))),
    ]


@pytest.mark.parametrize("index", range(11))
def test_protocol_violations_are_counted_and_ignored(index: int) -> None:
    cluster = Cluster(4, clients=1)
    cluster.submit(0, put(b"a", b"1"))
    cluster.run()
    reason, envelope = _misbehaviour_cases(cluster)[index]
    node = cluster.nodes[1]
    assert verify_envelope(envelope, verify_batch)  # correctly signed: the shell passes it
    before = node.replica.statistics()
    snapshot = (node.replica.view, node.replica.last_executed_seq, node.replica.state_digest(),
                node.replica.log_size(), node.replica.buffered_messages())
    sent_before = len(node.sent)
    cluster.inject(1, envelope)
    cluster.run()
    after = node.replica.statistics()
    assert after["messages_in"] == before["messages_in"] + 1
    assert after["messages_rejected"] == before["messages_rejected"] + 1
    (event,) = node.of(MessageRejected)
    assert event.sender == envelope.sender and reason in event.reason
    assert (node.replica.view, node.replica.last_executed_seq, node.replica.state_digest(),
            node.replica.log_size(), node.replica.buffered_messages()) == snapshot
    assert len(node.sent) == sent_before  # no vote, no answer
    # The replica keeps working.
    cluster.submit(0, put(b"b", b"2"))
    cluster.run()
    assert len(cluster.done(0)) == 2
    assert node.replica.last_executed_seq == 2
    assert node.replica.statistics()["messages_rejected"] == before["messages_rejected"] + 1
    cluster.assert_converged()


def test_misbehaviour_cases_cover_the_whole_list() -> None:
    assert len(_misbehaviour_cases(Cluster(4))) == 11


def test_equivocating_primary_is_detected() -> None:
    cluster = Cluster(4, clients=2)
    primary = cluster.nodes[0].signer
    a = sign(cluster.clients[0].signer, Request(1, put(b"x", b"a")))
    b = sign(cluster.clients[1].signer, Request(1, put(b"x", b"b")))
    first = sign(primary, PrePrepare(0, 1, (a,)))
    second = sign(primary, PrePrepare(0, 1, (b,)))
    assert first.message.digest != second.message.digest
    backup = cluster.nodes[1]
    cluster.inject(1, first)
    cluster.inject(1, second)
    cluster.run()
    (detected,) = backup.of(ByzantineDetected)
    assert detected.replica == 0 and "pre-prepare" in detected.reason
    assert backup.replica.statistics()["byzantine_detected"] == 1
    # The backup prepared only the first batch and never contradicted its own vote.
    prepares = [e.message for e in backup.sent if type(e.message) is Prepare]
    assert {p.digest for p in prepares} == {batch_digest((a,))}


def test_equivocating_backup_votes_are_detected() -> None:
    cluster = Cluster(4, clients=1)
    backup = cluster.nodes[2].signer
    cluster.inject(1, sign(backup, Prepare(0, 1, b"a" * 32)))
    cluster.inject(1, sign(backup, Prepare(0, 1, b"b" * 32)))
    cluster.inject(1, sign(backup, Commit(0, 1, b"a" * 32)))
    cluster.inject(1, sign(backup, Commit(0, 1, b"b" * 32)))
    cluster.run()
    detected = cluster.nodes[1].of(ByzantineDetected)
    assert [d.replica for d in detected] == [2, 2]


def test_a_faulty_primary_equivocating_to_different_backups_cannot_split_them() -> None:
    """Two halves see two batches for seq 1: neither reaches a quorum, so neither executes."""
    cluster = Cluster(4, clients=2)
    primary = cluster.nodes[0].signer
    a = sign(cluster.clients[0].signer, Request(1, put(b"x", b"a")))
    b = sign(cluster.clients[1].signer, Request(1, put(b"x", b"b")))
    cluster.crash(0)
    cluster.inject(1, sign(primary, PrePrepare(0, 1, (a,))))
    cluster.inject(2, sign(primary, PrePrepare(0, 1, (a,))))
    cluster.inject(3, sign(primary, PrePrepare(0, 1, (b,))))
    cluster.run()
    assert all(node.replica.last_executed_seq == 0 for node in cluster.nodes[1:])
    # Replica 1 and 2 prepared batch a; replica 3 saw their prepares for another digest.
    # Once the backups time out, the view change settles on one batch for every replica.
    for i in (1, 2, 3):
        cluster.inject(i, a)
        cluster.inject(i, b)
    cluster.until(lambda: all(n.replica.last_executed_seq >= 2 for n in cluster.nodes[1:]))
    cluster.assert_agreement()
    cluster.assert_converged()
    for node in cluster.nodes[1:]:
        # Batch a prepared at a quorum's worth of honest replicas, so the new view keeps it at
        # seq 1; b, which only replica 3 accepted, is proposed afresh after it.
        assert node.replica.view == 1
        assert [(e.seq, e.request) for e in node.executed] == [(1, a), (2, b)]


# --- the shell's contract ------------------------------------------------------------------


def _replica_with_ready() -> Replica:
    cluster = Cluster(4, clients=1)
    replica = cluster.replica(0)
    replica.propose(sign(cluster.clients[0].signer, Request(1, put(b"k", b"v"))))
    assert replica.has_ready()
    return replica


def test_advance_before_persisted_raises() -> None:
    replica = _replica_with_ready()
    ready = replica.ready()
    assert ready.persist and ready.must_sync and ready.send
    with pytest.raises(LocalProtocolError, match="persisted"):
        replica.advance(ready)
    replica.persisted(ready.token)
    replica.advance(ready)
    assert not replica.has_ready()


def test_ready_twice_without_advance_raises() -> None:
    replica = _replica_with_ready()
    replica.ready()
    with pytest.raises(LocalProtocolError, match="advanced"):
        replica.ready()


def test_persisted_and_advance_check_the_token() -> None:
    replica = _replica_with_ready()
    ready = replica.ready()
    with pytest.raises(LocalProtocolError):
        replica.persisted(ready.token + 1)
    replica.persisted(ready.token)
    other = Ready(ready.token, ready.persist, ready.must_sync, ready.send, ready.execute,
                  ready.events)
    with pytest.raises(LocalProtocolError):
        replica.advance(other)
    replica.advance(ready)
    with pytest.raises(LocalProtocolError):
        replica.persisted(ready.token)
    nxt = replica.ready()
    assert nxt.token == ready.token + 1


def test_propose_takes_only_signed_requests() -> None:
    cluster = Cluster(4)
    with pytest.raises(LocalProtocolError):
        cluster.replica(0).propose(sign(cluster.nodes[1].signer, FetchState(0)))


def test_a_signer_outside_the_group_cannot_run_a_replica() -> None:
    cluster = Cluster(4)
    with pytest.raises(LocalProtocolError):
        Replica(cluster.config, KeyValueApp(), signer(99))


# --- more faults -----------------------------------------------------------------------------


def test_seven_replicas_survive_two_crashes_including_the_primary() -> None:
    cluster = Cluster(7, clients=2)
    cluster.submit(0, put(b"a", b"1"))
    cluster.run()
    cluster.crash(0)
    cluster.crash(4)
    for round_ in range(3):
        cluster.submit(0, add(b"n", 1))
        cluster.submit(1, add(b"n", 10))
        cluster.until(lambda r=round_: len(cluster.done(0)) == r + 2
                      and len(cluster.done(1)) == r + 1)
    for node in cluster.live():
        assert node.replica.view == 1
        assert int.from_bytes(node.app.get(b"n") or b"", "big", signed=True) == 33
    cluster.assert_agreement()
    cluster.assert_converged()


def test_when_the_next_primary_is_dead_too_the_group_moves_one_view_further() -> None:
    cluster = Cluster(7, clients=1)
    cluster.crash(0)
    cluster.crash(1)  # the primary of view 1
    cluster.submit(0, put(b"k", b"v"))
    cluster.until(lambda: len(cluster.done(0)) == 1)
    for node in cluster.live():
        assert node.replica.view == 2 and not node.replica.changing_view
        assert [e.view for e in node.of(ViewChanged)] == [2]
        assert node.replica.statistics()["view_changes_started"] == 2
        assert node.app.get(b"k") == b"v"
    assert cluster.replica(2).is_primary
    # Replica 1 comes back (it had persisted nothing) and the view-2 primary dies: progress
    # reset the backoff, so this failure is again detected within about one timeout.
    cluster.restart(1)
    cluster.crash(2)
    cluster.submit(0, put(b"k", b"w"))
    ticks = cluster.until(lambda: len(cluster.done(0)) == 2)
    assert ticks <= 2 * cluster.config.view_change_timeout_ticks
    assert {node.replica.view for node in cluster.live()} == {3}
    cluster.until(lambda: cluster.replica(1).last_executed_seq == 2)
    cluster.assert_agreement()
    cluster.assert_converged()


def test_whole_group_restarts_from_storage() -> None:
    cluster = Cluster(4, clients=1, checkpoint_interval_seqs=2, log_window_seqs=4)
    for i in range(5):
        cluster.submit(0, add(b"n", i))
        cluster.run()
    digest = cluster.replica(0).state_digest()
    for i in range(4):
        cluster.crash(i)
    cluster.queue.clear()
    for i in range(4):
        cluster.restart(i)
    for node in cluster.nodes:
        assert node.replica.last_executed_seq == 5
        assert node.replica.stable_checkpoint_seq == 4
        assert node.replica.state_digest() == digest
        assert int.from_bytes(node.app.get(b"n") or b"", "big", signed=True) == 10
    cluster.submit(0, add(b"n", 100))
    cluster.until(lambda: len(cluster.done(0)) == 6)
    for node in cluster.nodes:
        assert int.from_bytes(node.app.get(b"n") or b"", "big", signed=True) == 110
    cluster.assert_converged()


def test_backup_restarted_mid_view_change_rejoins() -> None:
    cluster = Cluster(4, clients=1)
    cluster.submit(0, put(b"a", b"1"))
    cluster.run()
    cluster.crash(0)
    cluster.submit(0, put(b"b", b"2"))
    cluster.run()
    # Tick until replica 3 has sent its VIEW-CHANGE, then crash and restart it.
    cluster.until(lambda: cluster.replica(3).changing_view or cluster.replica(3).view > 0)
    cluster.crash(3)
    cluster.restart(3)
    restarted = cluster.replica(3)
    assert restarted.view >= 1
    cluster.until(lambda: len(cluster.done(0)) == 2 and cluster.replica(3).last_executed_seq == 2)
    for i in (1, 2, 3):
        assert cluster.replica(i).view == cluster.replica(1).view
        assert not cluster.replica(i).changing_view
    cluster.assert_converged()
    cluster.assert_agreement()


def test_old_primary_restarted_after_a_view_change_follows_the_new_view() -> None:
    cluster = Cluster(4, clients=1, checkpoint_interval_seqs=2, log_window_seqs=4)
    cluster.submit(0, put(b"a", b"1"))
    cluster.run()
    cluster.crash(0)
    for i in range(6):
        cluster.submit(0, put(b"k%d" % i, b"v"))
        cluster.until(lambda i=i: len(cluster.done(0)) == i + 2)
    cluster.restart(0)
    old = cluster.nodes[0]
    assert old.replica.view == 0
    cluster.submit(0, put(b"z", b"z"))
    cluster.until(lambda: old.replica.last_executed_seq == cluster.replica(1).last_executed_seq
                  and len(cluster.done(0)) == 8)
    assert old.replica.view == cluster.replica(1).view == 1
    assert not old.replica.is_primary
    cluster.assert_converged()
    cluster.assert_agreement()


def test_request_the_primary_never_saw_is_forwarded_without_a_view_change() -> None:
    cluster = Cluster(4, clients=1)
    primary_key = cluster.nodes[0].signer.public_key
    client_key = cluster.clients[0].signer.public_key

    def lose_client_to_primary(source: bytes, dest: bytes, envelope: Envelope[Any]) -> bool:
        return source == client_key and dest == primary_key

    cluster.drop = lose_client_to_primary
    cluster.submit(0, put(b"k", b"v"))
    ticks = cluster.until(lambda: len(cluster.done(0)) == 1)
    half = cluster.config.view_change_timeout_ticks // 2
    assert half <= ticks < cluster.config.view_change_timeout_ticks
    for node in cluster.nodes:
        assert node.replica.view == 0
        assert node.replica.statistics()["view_changes_started"] == 0
        assert node.app.get(b"k") == b"v"


def test_backup_that_missed_messages_inside_the_window_fetches_state() -> None:
    cluster = Cluster(4, clients=1, checkpoint_interval_seqs=4, log_window_seqs=8)
    isolated = cluster.nodes[3].signer.public_key
    cut_off = True

    def isolate(source: bytes, dest: bytes, envelope: Envelope[Any]) -> bool:
        return cut_off and isolated in (source, dest)

    cluster.drop = isolate
    for i in range(3):
        cluster.submit(0, put(b"k%d" % i, b"v"))
        cluster.run()
    assert cluster.replica(3).last_executed_seq == 0
    cut_off = False
    cluster.submit(0, put(b"k3", b"v"))
    cluster.run()
    # Seq 4 committed at replica 3 too, but it cannot execute it before 1..3: it fetches.
    lagging = cluster.nodes[3]
    cluster.until(lambda: lagging.replica.last_executed_seq == 4)
    assert lagging.replica.statistics()["state_fetches"] >= 1
    assert lagging.of(StateTransferred)
    assert lagging.app.get(b"k0") == b"v" and lagging.app.get(b"k3") == b"v"
    cluster.assert_converged()
    cluster.assert_agreement()


def test_primary_restarted_with_a_batch_in_flight_keeps_the_order() -> None:
    cluster = Cluster(4, clients=2)
    primary = cluster.nodes[0]
    deaf = True

    def deafen_primary(source: bytes, dest: bytes, envelope: Envelope[Any]) -> bool:
        return deaf and dest == primary.signer.public_key and source in cluster.by_key

    cluster.drop = deafen_primary
    first = cluster.submit(0, put(b"k", b"1"))
    cluster.run()
    assert primary.replica.last_executed_seq == 0
    assert all(cluster.replica(i).last_executed_seq == 1 for i in (1, 2, 3))
    cluster.crash(0)
    cluster.restart(0)
    deaf = False
    restarted = cluster.nodes[0]
    assert restarted.replica.is_primary and restarted.replica.last_executed_seq == 0
    second = cluster.submit(1, put(b"k", b"2"))
    cluster.until(lambda: restarted.replica.last_executed_seq == 2 and len(cluster.done(1)) == 1)
    for node in cluster.nodes:
        assert [(e.seq, e.request) for e in node.executed][-2:] == [(1, first), (2, second)]
        assert node.app.get(b"k") == b"2"
    cluster.assert_converged()


def test_a_full_pending_queue_drops_and_counts() -> None:
    cluster = Cluster(4, clients=3, max_pending_requests=2)
    backup = cluster.nodes[1]
    primary_key = cluster.nodes[0].signer.public_key
    cluster.drop = lambda source, dest, envelope: dest == primary_key
    for c in range(3):
        cluster.submit(c, put(b"k", b"%d" % c))
    cluster.run()
    stats = backup.replica.statistics()
    assert stats["pending_requests"] == 2
    assert stats["requests_dropped"] == 1 and stats["messages_rejected"] == 1



def test_a_lying_state_transfer_responder_is_caught() -> None:
    cluster = Cluster(4, clients=1, checkpoint_interval_seqs=2, log_window_seqs=4)
    isolated = cluster.nodes[3].signer.public_key
    cut_off = True

    def isolate(source: bytes, dest: bytes, envelope: Envelope[Any]) -> bool:
        injected = source == b""
        return cut_off and isolated in (source, dest) and not injected

    cluster.drop = isolate
    for i in range(5):
        cluster.submit(0, put(b"k%d" % i, b"v"))
        cluster.run()
    lagging = cluster.nodes[3]
    assert lagging.replica.last_executed_seq == 0
    liar = cluster.nodes[1].signer
    honest_proof = tuple(e for node in cluster.nodes[:3] for e in node.sent
                         if type(e.message) is Checkpoint and e.message.seq == 4)[:3]
    assert len(honest_proof) == 3
    fake = sign(cluster.clients[0].signer, Request(99, put(b"k0", b"stolen")))
    fake_pp_view1 = sign(liar, PrePrepare(1, 1, (fake,)))
    lies = [
        # the honest proof for seq 4, with another state
        StateReply(4, manifest_of(pack([[[b"k0", b"stolen"]], [[], []]])), honest_proof, (),
                   None),
        # a proof signed by the liar alone
        StateReply(4, manifest_of(b"\x92\x90\x92\x90\x90"),
                   (sign(liar, Checkpoint(4, b"d" * 32)),), (), None),
        # a batch "committed" with a pre-prepare from a replica that was not primary
        StateReply(0, None, (), (CommitCertificate(
            sign(liar, PrePrepare(0, 1, (fake,))),
            tuple(sign(cluster.nodes[i].signer, Commit(0, 1, batch_digest((fake,))))
                  for i in (1, 2, 3))),), None),
        # a batch "committed" by three commits from one replica (the liar, primary of view 1)
        StateReply(0, None, (), (CommitCertificate(
            fake_pp_view1, (sign(liar, Commit(1, 1, batch_digest((fake,)))),) * 3),), None),
    ]
    digest = lagging.replica.state_digest()
    for count, lie in enumerate(lies, start=1):
        cluster.inject(3, sign(liar, lie))
        cluster.run()
        assert lagging.replica.statistics()["messages_rejected"] == count
        assert lagging.replica.last_executed_seq == 0
        assert lagging.replica.state_digest() == digest
    reasons = [e.reason for e in lagging.events if isinstance(e, MessageRejected)]
    assert len(reasons) == len(lagging.events) == len(lies)
    for reason, expected in zip(reasons, ["manifest does not match", "lacks a quorum",
                                          "not from its primary", "bad commit signer"],
                                strict=True):
        assert expected in reason
    cut_off = False
    cluster.submit(0, put(b"k5", b"v"))
    cluster.until(lambda: lagging.replica.last_executed_seq == 6)
    assert lagging.app.get(b"k0") == b"v"
    assert fake.wire not in {w for batch in cluster.order.values() for w in batch}
    cluster.assert_converged()


def test_a_request_repeated_inside_one_batch_executes_once() -> None:
    cluster = Cluster(4, clients=1)
    request = sign(cluster.clients[0].signer, Request(1, add(b"n", 5)))
    batch = sign(cluster.nodes[0].signer, PrePrepare(0, 1, (request, request, request)))
    for i in range(4):
        cluster.inject(i, batch)
    cluster.run()
    for node in cluster.nodes:
        assert node.replica.last_executed_seq == 1
        assert node.app.executed == 1 and len(node.executed) == 1
        assert int.from_bytes(node.app.get(b"n") or b"", "big", signed=True) == 5
    cluster.assert_converged()


# --- random faults ---------------------------------------------------------------------------


def _counter(node: Node) -> int:
    return int.from_bytes(node.app.get(b"n") or b"", "big", signed=True)


@settings(max_examples=12)
@given(seed=st.integers(0, 2**32 - 1), n=st.sampled_from([4, 7]))
def test_random_faults_keep_agreement_and_the_group_recovers(seed: int, n: int) -> None:
    """Reordering, loss, duplication, and up to f replicas crashing and restarting.

    Safety is checked on every Ready throughout (one batch per seq everywhere, votes durable
    before they leave, watermarks). Once the faults stop, every request completes, and with
    the load going on every replica converges to the same state: exactly once, in one order.
    """
    rng = random.Random(seed)
    cluster = Cluster(n, clients=3, checkpoint_interval_seqs=2, log_window_seqs=4)
    cluster.chaos = rng
    cluster.loss, cluster.duplication = 0.05, 0.05
    submitted = 0

    def load(chance: float) -> None:
        nonlocal submitted
        for c, client in enumerate(cluster.clients):
            if not client.busy and rng.random() < chance:
                cluster.submit(c, add(b"n", 1))
                submitted += 1

    for _ in range(60):
        load(0.5)
        down = [i for i, node in enumerate(cluster.nodes) if not node.up]
        if down and rng.random() < 0.1:
            cluster.restart(rng.choice(down))
        elif len(down) < cluster.config.f and rng.random() < 0.05:
            cluster.crash(rng.randrange(n))
        cluster.tick()
    # The faults stop: everyone is up and the network is reliable (it still reorders).
    for i, node in enumerate(cluster.nodes):
        if not node.up:
            cluster.restart(i)
    cluster.loss = cluster.duplication = 0.0
    cluster.until(lambda: not any(c.busy for c in cluster.clients), max_ticks=3000)
    assert sum(len(cluster.done(c)) for c in range(3)) == submitted

    def converged() -> bool:
        return len({(nd.replica.last_executed_seq, nd.replica.state_digest())
                    for nd in cluster.nodes}) == 1

    for _ in range(400):
        if converged() and not any(c.busy for c in cluster.clients):
            break
        load(0.2)
        cluster.tick()
    cluster.chaos = None
    cluster.until(lambda: not any(c.busy for c in cluster.clients))
    assert converged()
    assert sum(len(cluster.done(c)) for c in range(3)) == submitted
    assert {_counter(node) for node in cluster.nodes} == {submitted}
    executed = [w for batch in cluster.order.values() for w in batch]
    assert len(executed) == len(set(executed)) == submitted
