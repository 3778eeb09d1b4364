"""Admission control in the replica: one waiting request per client, bounded in total, and
batches drawn fairly so that a flood of fresh keys cannot starve a known player.

Same harness as tests/test_replica.py: real Ed25519, the strict codec, durable storage
before sends, a FIFO network.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bitcraps.accel._ed25519_cpu import Ed25519Signer
from bitcraps.consensus import (
    Commit,
    Envelope,
    Prepare,
    PrePrepare,
    Request,
    ViewChange,
    ViewChangeStarted,
)
from test_replica import Cluster, put, sign


def fresh(i: int) -> Ed25519Signer:
    return Ed25519Signer(b"fresh" + i.to_bytes(27, "big"))


def pending(cluster: Cluster, i: int) -> dict[Any, Any]:
    return cluster.nodes[i].replica._r.pending


def cut_off_primary(cluster: Cluster) -> None:
    primary = cluster.nodes[0].signer.public_key
    cluster.drop = lambda source, dest, envelope: primary in (source, dest)


def executed_keys(cluster: Cluster, i: int) -> list[tuple[bytes, int]]:
    return [(e.request.sender, e.request.message.timestamp) for e in cluster.nodes[i].executed]


def test_a_newer_request_replaces_the_clients_waiting_one_and_an_older_one_is_stale() -> None:
    """PBFT's model: one outstanding request per client. A key that sends request after
    request holds one place, not one per timestamp."""
    cluster = Cluster(4, clients=0)
    cut_off_primary(cluster)
    spammer = fresh(1)
    for timestamp in (1, 2, 3, 7):
        cluster.inject(1, sign(spammer, Request(timestamp, put(b"k", b"%d" % timestamp))))
    cluster.inject(1, sign(spammer, Request(5, put(b"k", b"5"))))
    cluster.run()
    assert list(pending(cluster, 1)) == [(spammer.public_key, 7)]
    stats = cluster.replica(1).statistics()
    assert stats["pending_requests"] == 1 and stats["requests_stale"] == 1


def test_new_keys_hold_only_their_reserved_places_and_a_known_client_takes_one() -> None:
    """Fresh keys fill at most `max_pending_new_clients` places; when the whole queue is full
    a known client's request takes the newest stranger's place instead of being dropped."""
    cluster = Cluster(4, clients=1, max_pending_requests=6, max_pending_new_clients=4)
    cluster.submit(0, put(b"k", b"0"))
    cluster.until(lambda: len(cluster.done(0)) == 1)  # the client is known now
    cut_off_primary(cluster)
    for i in range(10):
        cluster.inject(1, sign(fresh(i), Request(1, put(b"f", b"%d" % i))))
    cluster.run()
    assert len(pending(cluster, 1)) == 4
    stats = cluster.replica(1).statistics()
    assert stats["requests_dropped"] == 6
    # Two more known clients fill the queue; the next known one evicts a stranger.
    cluster.drop = lambda source, dest, envelope: False
    for tag in (1, 2, 3):
        player = fresh(100 + tag)
        cluster.inject(0, sign(player, Request(1, put(b"p", b"1"))))
        cluster.run()
    cut_off_primary(cluster)
    assert len(pending(cluster, 1)) == 4
    for tag in (1, 2, 3):
        cluster.inject(1, sign(fresh(100 + tag), Request(2, put(b"p", b"2"))))
    cluster.submit(0, put(b"k", b"1"))
    cluster.run()
    held = pending(cluster, 1)
    assert len(held) == 6
    known = {fresh(100 + tag).public_key for tag in (1, 2, 3)} | {
        cluster.clients[0].signer.public_key}
    assert known <= {client for client, _ in held}, "every known client kept a place"


def test_batches_alternate_between_known_and_new_clients() -> None:
    """One request per batch: the known client's request goes in one of the next two
    batches, however many strangers came before it (FIFO would put it behind all 12)."""
    cluster = Cluster(4, clients=1, batch_max_requests=1, max_inflight_batches=1,
                      log_window_seqs=64, checkpoint_interval_seqs=16)
    cluster.submit(0, put(b"k", b"0"))
    cluster.until(lambda: len(cluster.done(0)) == 1)
    start = cluster.replica(0).last_executed_seq
    strangers = [fresh(i) for i in range(12)]
    primary = cluster.nodes[0].replica
    # The queue forms at the primary before anything is delivered: one batch in flight.
    for stranger in strangers:
        primary.step(sign(stranger, Request(1, put(b"f", b"x"))))
    request = cluster.submit(0, put(b"k", b"1"))
    primary.step(request)
    cluster.drain(0)
    cluster.until(lambda: len(cluster.done(0)) == 2)
    order = executed_keys(cluster, 0)[start:]
    position = order.index((request.sender, request.message.timestamp))
    assert position <= 2, order
    cluster.until(lambda: cluster.replica(0).last_executed_seq == start + 13)
    assert len(set(order) | set(executed_keys(cluster, 0)[start:])) == 13


class SlowPrimary:
    """The primary's pre-prepares take a tick to arrive, so its batches come at a pace and a
    backlog lasts several view-change timeouts (this harness delivers instantly otherwise)."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.primary = cluster.nodes[0].signer.public_key
        self.held: list[tuple[bytes, bytes, bytes]] = []
        self.released: set[bytes] = set()
        cluster.drop = self.hold

    def hold(self, source: bytes, dest: bytes, envelope: Envelope[Any]) -> bool:
        if type(envelope.message) is not PrePrepare or source != self.primary:
            return False
        if envelope.wire in self.released:
            return False
        self.held.append((source, dest, envelope.wire))
        return True

    def tick(self) -> None:
        held, self.held = self.held, []
        self.released.update(wire for _, _, wire in held)
        self.cluster.queue.extend(held)
        self.cluster.tick()

    def until(self, done: Callable[[], bool], max_ticks: int) -> int:
        for ticks in range(max_ticks):
            if done():
                return ticks
            self.tick()
        raise AssertionError("condition not reached")


def test_a_fresh_key_flood_neither_starves_a_known_player_nor_changes_the_view() -> None:
    """The issue's griefing: thousands of fresh keys flood the table while a player plays.
    The player's requests go into the next batches, and no backup blames the primary for
    serving strangers in turn (backups time the known player's request, and a stranger's
    timer restarts whenever strangers are served). The flood reaches the backups in the
    opposite order from the primary, so a backup's oldest stranger is the primary's last."""
    cluster = Cluster(4, clients=1, batch_max_requests=4, max_inflight_batches=2,
                      view_change_timeout_ticks=8, max_pending_new_clients=400,
                      log_window_seqs=64, checkpoint_interval_seqs=16)
    cluster.submit(0, put(b"k", b"0"))
    cluster.until(lambda: len(cluster.done(0)) == 1)
    slow = SlowPrimary(cluster)
    envelopes = [sign(fresh(i), Request(1, put(b"f", b"x"))) for i in range(300)]
    for envelope in envelopes:
        cluster.inject(0, envelope)
    for envelope in reversed(envelopes):
        for node in (1, 2, 3):
            cluster.inject(node, envelope)
    cluster.run()
    latencies = []
    for round_ in range(1, 11):
        cluster.submit(0, put(b"k", b"%d" % round_))
        cluster.run()
        latencies.append(slow.until(lambda r=round_: len(cluster.done(0)) == r + 1, 100))
    assert max(latencies) <= 3, latencies
    assert pending(cluster, 0), "the flood is still being served"
    slow.until(lambda: not pending(cluster, 0), max_ticks=200)
    assert all(not node.of(ViewChangeStarted) for node in cluster.nodes)
    assert cluster.replica(0).statistics()["requests_executed"] == 311
    cluster.assert_converged()


def test_backups_forward_a_bounded_number_of_held_requests_known_first() -> None:
    """Before blaming the primary a backup hands it what it holds, but not a whole flood."""
    from bitcraps.consensus._admission import FORWARD_LIMIT

    cluster = Cluster(4, clients=1, max_pending_new_clients=2 * FORWARD_LIMIT)
    cluster.submit(0, put(b"k", b"0"))
    cluster.until(lambda: len(cluster.done(0)) == 1)
    primary = cluster.nodes[0].signer.public_key
    forwarded: list[Envelope[Any]] = []

    def record(source: bytes, dest: bytes, envelope: Envelope[Any]) -> bool:
        if dest == primary and source == cluster.nodes[1].signer.public_key \
                and type(envelope.message) is Request:
            forwarded.append(envelope)
        return dest == primary

    cluster.drop = record
    for i in range(FORWARD_LIMIT + 50):
        cluster.inject(1, sign(fresh(i), Request(1, put(b"f", b"x"))))
    request = cluster.submit(0, put(b"k", b"1"))
    cluster.run()
    ticks = 0
    while not forwarded:
        cluster.tick()
        ticks += 1
    assert ticks >= cluster.config.view_change_timeout_ticks // 2
    assert len(forwarded) == FORWARD_LIMIT
    assert forwarded[0] == request, "the known client's request is forwarded first"
    cluster.tick()
    assert len(forwarded) == FORWARD_LIMIT + 51 == len(set(forwarded)), "the rest, each once"


# --- places in the queue ------------------------------------------------------------------------


def _known_players(cluster: Cluster, count: int, tag: int) -> list[Ed25519Signer]:
    """`count` keys that each executed a request, so the table knows them."""
    players = [fresh(tag + i) for i in range(count)]
    for player in players:
        cluster.inject(0, sign(player, Request(1, put(b"p", b"1"))))
        cluster.run()
    return players


def _key(player: Ed25519Signer, timestamp: int) -> tuple[bytes, int]:
    return (player.public_key, timestamp)


def test_a_newer_request_takes_over_its_clients_place_in_the_queue() -> None:
    """A client that sends again before its turn is served in its turn, with its newest
    request. Before, the replacement went to the back: a key sending faster than it was
    served never reached the front at the primary, while backups timed it there."""
    cluster = Cluster(4, clients=0, batch_max_requests=1, max_inflight_batches=1,
                      log_window_seqs=64, checkpoint_interval_seqs=16)
    busy, a, b, c = _known_players(cluster, 4, 300)
    start = len(cluster.nodes[0].executed)
    primary = cluster.nodes[0].replica
    primary.step(sign(busy, Request(2, put(b"q", b"busy"))))  # proposed at once: in flight
    for player in (a, b, c):
        primary.step(sign(player, Request(2, put(b"q", b"2"))))
    primary.step(sign(a, Request(3, put(b"q", b"3"))))
    cluster.drain(0)
    cluster.run()
    order = executed_keys(cluster, 0)[start:]
    assert order == [_key(busy, 2), _key(a, 3), _key(b, 2), _key(c, 2)], order
    cluster.assert_converged()


def test_a_batch_serving_a_client_sends_its_newer_request_to_the_back_at_a_backup() -> None:
    """The primary proposed a client's request; a backup already holds a newer one of that
    client in its place. The batch takes the client's turn at the backup too: the newer
    request goes to the back, where the primary has it, and the backup times the client the
    primary serves next (else it would time, at its front, a client the primary serves last)."""
    cluster = Cluster(4, clients=0)
    a, b = _known_players(cluster, 2, 320)
    for envelope in (sign(a, Request(2, put(b"q", b"2"))), sign(b, Request(2, put(b"q", b"2"))),
                     sign(a, Request(3, put(b"q", b"3")))):
        cluster.inject(1, envelope)
    cluster.run()
    backup = cluster.replica(1)._r
    assert list(backup.waiting) == [_key(a, 3), _key(b, 2)], "a's newer request in a's place"
    cluster.inject(0, sign(a, Request(2, put(b"q", b"2"))))  # the primary holds only this
    cluster.run()
    assert executed_keys(cluster, 1)[-1] == _key(a, 2)
    assert list(backup.waiting) == [_key(b, 2), _key(a, 3)]
    assert backup.request_timer_key == _key(b, 2)


def test_after_a_view_change_a_client_holds_one_place_with_its_newest_request() -> None:
    """A request proposed in a view that ended before it prepared waits again in the next
    view, and a newer request the client sent meanwhile replaces it. Before, backups held
    the old view's requests out of their queue, so the newer request joined them: the next
    primary ordered both (a key held one more place per view change), and backups timed
    requests no primary would propose."""
    cluster = Cluster(4, clients=0, batch_max_requests=1)
    (player,) = _known_players(cluster, 1, 340)
    start = len(cluster.nodes[1].executed)
    held = (Prepare, Commit, ViewChange)  # nothing prepares in view 0; the change waits
    cluster.drop = lambda source, dest, envelope: type(envelope.message) in held \
        and getattr(envelope.message, "view", 0) == 0
    old = sign(player, Request(2, put(b"q", b"2")))
    for i in range(4):
        cluster.inject(i, old)
    cluster.until(lambda: all(node.of(ViewChangeStarted) for node in cluster.nodes[1:]))
    newer = sign(player, Request(3, put(b"q", b"3")))
    for i in range(4):
        cluster.inject(i, newer)
    cluster.drop = lambda source, dest, envelope: False
    cluster.until(lambda: cluster.replica(1).view == 1 and not pending(cluster, 1))
    cluster.tick(3 * cluster.config.view_change_timeout_ticks)
    assert executed_keys(cluster, 1)[start:] == [_key(player, 3)]
    assert all(cluster.replica(i).view == 1 for i in range(4)), "no further view change"
    assert all(not pending(cluster, i) for i in range(4))
    cluster.assert_converged()
