"""The lobby: tables announced and withdrawn over gossipsub topic `/bitcraps/lobby/1.0.0`.

Every node that hosts a table announces it (signed, `_lobby_messages`), re-publishes its own
announcements every `republish_s` and whenever a peer subscribes to the topic (late joiners
see them), and withdraws them when it leaves. `known_tables()` is the latest announcement per
(table, announcer): a withdrawal removes it, an entry not refreshed within `ttl_s` expires.

Each replica of a table announces it, so `tables()` merges them: one `LobbyTable` per table
id, with every replica still announcing it (``announcers``) and the free seats as they say
(the lower median of their latest counts: up to f of them lying cannot move it outside what
the honest ones said, and one replica that is down and not yet expired cannot hold it back
alone). A node re-announces its tables when their free seats change (`node.lobby_seats`).

Only a table's replicas may announce it: an announcement carries the table's terms, which
must derive its table id, and is signed by one of the replicas they name
(`_lobby_messages`); anything else is dropped (`invalid`, `wrong_terms`, `not_a_replica`).

py-libp2p 0.8.1 drops gossip in several places with at most a log line (docs/libp2p-notes.md);
what this module does about each, so no lobby message is lost unnoticed:

- Spam protection (`max_messages_per_topic_per_second=10`, our own publishes included):
  raised to `rate_limit_per_s` (1,000); a message it still rejects is counted
  (`rate_limited`) by wrapping `GossipSub._check_spam_protection`. On a received message
  the check runs after delivery: it is then delivered but not relayed.
- Per-peer outbound RPC queue (`rpc_queue.OutBoundQueueSize` = 32, not a constructor
  argument): each peer's queue is raised to `outbound_queue_size` (1,024) on that instance
  before every send (`_LobbyGossipSub.send_rpc`, no module global is patched); a publish RPC
  it still drops is counted (`outbound_queue_full` / `oversized`, from `_handle_dropped_rpc`).
  Dropped control RPCs are retried by py-libp2p itself and are not counted. This is where a
  flood goes: py-libp2p's per-peer writer drains a few hundred RPCs a second at best on
  loopback, so a sender publishing ~1,000/s loses most of them here, counted by the sender.
- `Pubsub.push_msg` discards a message before delivery (a blacklisted peer, the score gate,
  a bad pubsub signature, a failed topic validator, a forged self-origin): counted
  (`pubsub_rejected`) by `_LobbyPubsub.push_msg`. A message already seen is a duplicate,
  not a drop (`duplicate` in `statistics()`).
- Subscription channel (`SUBSCRIPTION_CHANNEL_SIZE` = 32, overflow only logged): bypassed.
  `_LobbyPubsub.notify_subscriptions` hands lobby messages straight to the lobby's own
  channel (`inbox_capacity`, 1,024); a message that finds it full is counted (`inbox_full`).
  Our own publishes are not handed back (`announce` already remembered them).
- The lobby holds at most `max_tables` (table, announcer) entries (memory is bounded
  whatever peers send); an announcement of a new one beyond that is counted (`lobby_full`).

What stays uncountable per message: an RPC py-libp2p cannot take apart at all (larger than
its inbound RPC limit, not protobuf, an invalid signed peer record) is discarded whole before
its messages are looked at, so how many lobby messages it held is unknown; and a publish to a
peer whose pubsub stream is not open yet is skipped or parked by py-libp2p without a count
(that peer gets the announcement on the next republish, or when it subscribes).

Heartbeat is 1 s (default 120 s). Every drop calls `on_drop(reason)` (the node feeds
`bitcraps_lobby_dropped_total{reason}`) and is in `statistics()`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import trio
from libp2p.abc import IHost
from libp2p.peer.id import ID
from libp2p.pubsub.gossipsub import PROTOCOL_ID, PROTOCOL_ID_V11, PROTOCOL_ID_V12, GossipSub
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.pubsub import Pubsub
from libp2p.tools.anyio_service import background_trio_service

from bitcraps.games.table_terms import TableTerms

from ._lobby_messages import (
    ANNOUNCE,
    WITHDRAW,
    Announcement,
    LobbyDecodeError,
    decode_announcement,
    sign_announcement,
)

if TYPE_CHECKING:
    from trio_typing import TaskStatus

__all__ = ["LOBBY_TOPIC", "DROP_REASONS", "Lobby", "LobbyTable", "TableListing"]

log = logging.getLogger(__name__)

LOBBY_TOPIC = "/bitcraps/lobby/1.0.0"
DROP_REASONS = ("invalid", "wrong_terms", "not_a_replica", "pubsub_rejected", "inbox_full",
                "outbound_queue_full", "oversized", "rate_limited", "lobby_full")
HEARTBEAT_S = 1
DEFAULT_RATE_LIMIT_PER_S = 1000.0
DEFAULT_OUTBOUND_QUEUE_SIZE = 1024
DEFAULT_INBOX_CAPACITY = 1024
DEFAULT_MAX_TABLES = 4096
JOIN_REPUBLISH_DELAY_S = 0.3


@dataclass(frozen=True, slots=True)
class TableListing:
    """One table as the lobby knows it: the latest announcement and when it expires."""

    announcement: Announcement
    received_at: float
    expires_at: float

    def to_json(self) -> dict[str, Any]:
        return {**self.announcement.to_json(),
                "age_s": round(max(0.0, time.monotonic() - self.received_at), 3)}


@dataclass(frozen=True, slots=True)
class LobbyTable:
    """One table as the lobby lists it: its replicas' live announcements, newest first."""

    listings: tuple[TableListing, ...]

    @property
    def table_id(self) -> bytes:
        return self.listings[0].announcement.table_id

    @property
    def announcers(self) -> tuple[bytes, ...]:
        return tuple(listing.announcement.announcer for listing in self.listings)

    @property
    def free_seats(self) -> int:
        """The lower median of the free seats each announcer says the table has."""
        counts = sorted(listing.announcement.free_seats for listing in self.listings)
        return counts[(len(counts) - 1) // 2]

    def to_json(self) -> dict[str, Any]:
        """The newest announcement's fields, with the merged ``free_seats`` and every
        ``announcers``' key (``announcer`` and ``sequence`` are the newest one's)."""
        return {**self.listings[0].to_json(), "free_seats": self.free_seats,
                "announcers": [key.hex() for key in self.announcers]}


class _LobbyGossipSub(GossipSub):
    """GossipSub whose outbound queues are larger and whose every drop is reported."""

    def __init__(self, *, report: Callable[[str], None], outbound_queue_size: int,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._report = report
        self._outbound_queue_size = outbound_queue_size

    def send_rpc(self, peer_id: ID, rpc: rpc_pb2.RPC, priority: bool = False) -> None:
        if self.pubsub is not None:
            queue = self.pubsub.peer_queues.get(peer_id)
            inner = getattr(queue, "_queue", None)
            if inner is not None and getattr(inner, "max_size", 0) < self._outbound_queue_size:
                inner.max_size = self._outbound_queue_size
        super().send_rpc(peer_id, rpc, priority=priority)

    def _handle_dropped_rpc(self, peer_id: ID, rpc: rpc_pb2.RPC, reason: str) -> None:
        super()._handle_dropped_rpc(peer_id, rpc, reason)
        if len(rpc.publish):
            self._report("oversized" if reason == "oversized" else "outbound_queue_full")

    def _check_spam_protection(self, peer_id: ID, msg: rpc_pb2.Message) -> bool:
        accepted = super()._check_spam_protection(peer_id, msg)
        if not accepted:
            self._report("rate_limited")
        return accepted


class _LobbyPubsub(Pubsub):
    """Pubsub that hands lobby messages to the lobby directly (no 32-slot channel), tells it
    when a peer subscribes to the lobby topic, and reports every lobby message py-libp2p's
    `push_msg` discards before delivery (it only logs them): blacklisted sender or origin,
    the peer-score publish gate, a bad pubsub signature, a failed topic validator, a message
    that claims to be ours but came from a peer. Duplicates (already seen) are not drops.
    Our own publishes are not handed to the lobby again: `announce` remembered them."""

    def __init__(self, host: IHost, router: GossipSub, *, sink: Callable[[bytes], None],
                 on_subscriber: Callable[[], None], report: Callable[[str], None],
                 count: Callable[[str], None]) -> None:
        super().__init__(host, router)
        self._sink = sink
        self._on_subscriber = on_subscriber
        self._report = report
        self._count = count
        self._delivered: set[bytes] = set()

    async def push_msg(self, msg_forwarder: ID, msg: rpc_pb2.Message) -> None:
        if LOBBY_TOPIC not in msg.topicIDs:
            await super().push_msg(msg_forwarder, msg)
            return
        if self._is_msg_seen(msg):
            self._count("duplicate")
            await super().push_msg(msg_forwarder, msg)
            return
        key = self._msg_id_constructor(msg)
        try:
            await super().push_msg(msg_forwarder, msg)
        finally:
            if key in self._delivered:
                self._delivered.discard(key)
            elif not self._is_msg_seen(msg):  # seen meanwhile: a duplicate raced it
                self._report("pubsub_rejected")

    def notify_subscriptions(self, publish_message: rpc_pb2.Message) -> None:
        if LOBBY_TOPIC in publish_message.topicIDs:
            self._delivered.add(self._msg_id_constructor(publish_message))
            if ID(publish_message.from_id) != self.my_id:
                self._sink(bytes(publish_message.data))
        others = [t for t in publish_message.topicIDs if t != LOBBY_TOPIC]
        if others:
            super().notify_subscriptions(publish_message)

    def handle_subscription(self, origin_id: ID, sub_message: rpc_pb2.RPC.SubOpts) -> None:
        super().handle_subscription(origin_id, sub_message)
        if sub_message.subscribe and sub_message.topicid == LOBBY_TOPIC:
            self._on_subscriber()


class Lobby:
    """The lobby service on a running libp2p host; start it with `nursery.start(lobby.run)`."""

    def __init__(
        self,
        host: IHost,
        *,
        public_key: bytes,
        sign: Callable[[bytes], bytes],
        on_drop: Callable[[str], None] | None = None,
        ttl_s: float = 120.0,
        republish_s: float = 30.0,
        rate_limit_per_s: float = DEFAULT_RATE_LIMIT_PER_S,
        outbound_queue_size: int = DEFAULT_OUTBOUND_QUEUE_SIZE,
        inbox_capacity: int = DEFAULT_INBOX_CAPACITY,
        max_tables: int = DEFAULT_MAX_TABLES,
    ) -> None:
        self._public_key = bytes(public_key)
        self._sign = sign
        self._on_drop = on_drop
        self._ttl_s = ttl_s
        self._republish_s = republish_s
        self._max_tables = max_tables
        self._router = _LobbyGossipSub(
            report=self._drop, outbound_queue_size=outbound_queue_size,
            protocols=[PROTOCOL_ID_V12, PROTOCOL_ID_V11, PROTOCOL_ID],
            degree=6, degree_low=4, degree_high=12, heartbeat_interval=HEARTBEAT_S,
            max_messages_per_topic_per_second=rate_limit_per_s)
        self._pubsub = _LobbyPubsub(host, self._router, sink=self._receive,
                                    on_subscriber=self._subscriber_joined, report=self._drop,
                                    count=self._count)
        self._inbox_send, self._inbox_receive = trio.open_memory_channel[bytes](inbox_capacity)
        self._own: dict[bytes, Announcement] = {}
        self._known: dict[tuple[bytes, bytes], TableListing] = {}
        self._latest_seq: dict[tuple[bytes, bytes], int] = {}
        self._sequence = 0
        self._republish = trio.Event()
        self._changed = trio.Event()
        self._running = False
        self.stats: dict[str, int] = {"received": 0, "accepted": 0, "stale": 0,
                                      "duplicate": 0, "published": 0,
                                      **dict.fromkeys(DROP_REASONS, 0)}

    # --- lifecycle ---------------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with background_trio_service(self._pubsub), \
                background_trio_service(self._router):
            await self._pubsub.wait_until_ready()
            await self._pubsub.subscribe(LOBBY_TOPIC)
            self._running = True
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._consume)
                    nursery.start_soon(self._republish_loop)
                    task_status.started()
                    await trio.sleep_forever()
            finally:
                self._running = False

    # --- publishing --------------------------------------------------------------------

    async def announce(self, terms: TableTerms, *, free_seats: int) -> Announcement:
        """Announce (or update) one of our tables; it is re-published until withdrawn.
        `ValueError` if this node is not one of the table's replicas."""
        signed = self._signed(ANNOUNCE, terms, free_seats)
        self._own[signed.table_id] = signed
        self._remember(signed)
        await self._publish(signed)
        return signed

    async def withdraw(self, table_id: bytes) -> None:
        """Withdraw one of our tables (a no-op for a table we never announced)."""
        previous = self._own.pop(bytes(table_id), None)
        if previous is None:
            return
        signed = self._signed(WITHDRAW, previous.terms, 0)
        self._remember(signed)
        await self._publish(signed)

    async def withdraw_all(self) -> None:
        for table_id in list(self._own):
            await self.withdraw(table_id)

    def _signed(self, kind: int, terms: TableTerms, free_seats: int) -> Announcement:
        # Monotonic across restarts too: never below the wall clock in microseconds.
        self._sequence = max(self._sequence + 1, time.time_ns() // 1000)
        unsigned = Announcement(kind, terms.table_id, terms, free_seats, self._public_key,
                                self._sequence)
        return sign_announcement(unsigned, self._sign)

    async def _publish(self, announcement: Announcement) -> None:
        if not self._running:
            return
        try:
            await self._pubsub.publish(LOBBY_TOPIC, announcement.encode())
            self.stats["published"] += 1
        except Exception:  # never let gossip take the node down; it is re-published later
            log.warning("lobby publish failed", exc_info=True)

    def _subscriber_joined(self) -> None:
        self._republish.set()

    async def _republish_loop(self) -> None:
        while True:
            with trio.move_on_after(self._republish_s):
                await self._republish.wait()
                await trio.sleep(JOIN_REPUBLISH_DELAY_S)  # let the mesh graft first
            self._republish = trio.Event()
            for announcement in list(self._own.values()):
                # A fresh sequence number: gossipsub deduplicates by (sender, seqno) anyway,
                # and receivers refresh the entry's TTL.
                await self.announce(announcement.terms, free_seats=announcement.free_seats)

    # --- receiving ---------------------------------------------------------------------

    def _count(self, what: str) -> None:
        self.stats[what] = self.stats.get(what, 0) + 1

    def _drop(self, reason: str) -> None:
        self.stats[reason] = self.stats.get(reason, 0) + 1
        if self._on_drop is not None:
            self._on_drop(reason)
        self._notify()

    def _receive(self, data: bytes) -> None:
        self.stats["received"] += 1
        try:
            self._inbox_send.send_nowait(data)
        except trio.WouldBlock:
            self._drop("inbox_full")
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            pass

    async def _consume(self) -> None:
        async for data in self._inbox_receive:
            try:
                announcement = decode_announcement(data)
            except LobbyDecodeError as exc:
                log.debug("lobby message dropped (%s): %s", exc.reason, exc)
                self._drop(exc.reason)
                continue
            if self._full_for(announcement):
                self._drop("lobby_full")
            elif self._remember(announcement):
                self.stats["accepted"] += 1
            else:
                self.stats["stale"] += 1
            self._notify()

    def _full_for(self, announcement: Announcement) -> bool:
        """Whether a new (table, announcer) would exceed `max_tables` live entries. The
        sequence memory of entries gone (withdrawn, expired) is forgotten when it grows."""
        key = (announcement.table_id, announcement.announcer)
        if key in self._known or key in self._latest_seq:
            return False
        if len(self._latest_seq) >= 2 * self._max_tables:
            for gone in [k for k in self._latest_seq if k not in self._known]:
                del self._latest_seq[gone]
        return len(self.known_tables()) >= self._max_tables

    def _remember(self, announcement: Announcement) -> bool:
        key = (announcement.table_id, announcement.announcer)
        if announcement.sequence <= self._latest_seq.get(key, -1):
            return False
        self._latest_seq[key] = announcement.sequence
        if announcement.kind == WITHDRAW:
            self._known.pop(key, None)
        else:
            now = time.monotonic()
            self._known[key] = TableListing(announcement, now, now + self._ttl_s)
        self._notify()
        return True

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    # --- queries -----------------------------------------------------------------------

    def known_tables(self) -> list[TableListing]:
        """The latest live announcement of each (table, announcer), newest first."""
        now = time.monotonic()
        for key in [k for k, v in self._known.items() if v.expires_at <= now]:
            del self._known[key]
        return sorted(self._known.values(), key=lambda v: v.received_at, reverse=True)

    def tables(self) -> list[LobbyTable]:
        """Each live table once, its replicas' announcements merged; newest first."""
        merged: dict[bytes, list[TableListing]] = {}
        for listing in self.known_tables():
            merged.setdefault(listing.announcement.table_id, []).append(listing)
        return [LobbyTable(tuple(listings)) for listings in merged.values()]

    def is_announced(self, table_id: bytes) -> bool:
        """Whether this node announces the table now (announced and not withdrawn)."""
        return bytes(table_id) in self._own

    def statistics(self) -> dict[str, int]:
        return dict(self.stats)

    async def wait_until(self, predicate: Callable[[Lobby], bool]) -> None:
        """Return once `predicate(self)` holds (checked on every change)."""
        while not predicate(self):
            changed = self._changed
            with trio.move_on_after(1.0):  # TTL expiry changes nothing by itself: re-check
                await changed.wait()
