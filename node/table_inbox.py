"""A table shell's inbox: who may send what, in turn per peer, and how much at once.

- Replica messages (everything but a client's `Request`) are accepted only from the table's
  replicas: an envelope whose sender is another key is dropped before any signature of it,
  or nested in it, is checked (a PrePrepare carrying 4,096 forged requests costs nothing).
- Envelopes queue per sending peer, a peer's requests apart from its replica messages, each
  bounded (`fair_queue`); the shell takes them in turn, one per queue per round, so a flood
  from one peer delays another peer's next message by at most one of its own.
- Admission: each peer may have at most `requests_in_flight` client requests that this
  replica took and has not yet executed (however many client keys it relays them for);
  past that its requests are refused before verification until earlier ones execute or
  expire (the clients retransmit). A flood of fresh keys relayed through one peer fills
  that peer's share, never the table's. A fellow replica's share is what the pipeline
  holds at once (`batch_max_requests * max_inflight_batches`): a backup hands the primary
  every request it holds that the primary may have missed, in one burst, before it blames
  the primary; a Byzantine replica (at most f) can still take no more than that.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import trio

from bitcraps.consensus import Envelope, ReplicaConfig, Request
from bitcraps.transports.fair_queue import FairQueue, FairQueueStatistics

__all__ = ["RequestAdmission", "TableInbox"]

PEER_MESSAGES = 1024       # replica messages queued per peer
PEER_REQUESTS = 256        # client requests queued per peer
INBOX_TOTAL = 4096
REQUESTS_IN_FLIGHT = 256   # per peer: taken by the replica, not yet executed
_REQUESTS_TAG = b"\x00requests"
_WAKE_KEY = b""

Item = tuple[bytes, Envelope[Any] | None]


class RequestAdmission:
    """Client requests in flight per relaying peer, bounded; freed once executed."""

    def __init__(self, per_peer: int, expiry_ticks: int,
                 executed_timestamp: Callable[[bytes], int], *,
                 larger: Mapping[bytes, int] | None = None) -> None:
        """`larger` names peers with a share of their own instead of `per_peer`."""
        self.per_peer = per_peer
        self._larger = dict(larger or {})
        self.expiry_ticks = expiry_ticks
        self._executed = executed_timestamp
        self._held: dict[bytes, dict[tuple[bytes, int], int]] = {}
        self._pruned_at: dict[bytes, int] = {}
        self._swept_at = 0

    def admit(self, peer: bytes, client: bytes, timestamp: int, now_ticks: int) -> bool:
        if now_ticks - self._swept_at >= self.expiry_ticks:
            self._sweep(now_ticks)
        held = self._held.setdefault(peer, {})
        key = (client, timestamp)
        if key in held:
            return True  # a retransmission holds no second place
        share = self._larger.get(peer, self.per_peer)
        if len(held) >= share and self._pruned_at.get(peer) != now_ticks:
            self._pruned_at[peer] = now_ticks  # at most one sweep per peer per tick
            self._prune(held, now_ticks)
        if len(held) >= share:
            return False
        held[key] = now_ticks
        return True

    def in_flight(self, peer: bytes) -> int:
        return len(self._held.get(peer, ()))

    def _sweep(self, now_ticks: int) -> None:
        """Once per expiry period: every peer pruned, and peers holding nothing forgotten
        (so peers that come and go leave nothing behind)."""
        self._swept_at = now_ticks
        for peer, held in list(self._held.items()):
            self._prune(held, now_ticks)
            if not held:
                del self._held[peer]
                self._pruned_at.pop(peer, None)

    def _prune(self, held: dict[tuple[bytes, int], int], now_ticks: int) -> None:
        oldest = now_ticks - self.expiry_ticks
        done = [key for key, since in held.items()
                if since < oldest or self._executed(key[0]) >= key[1]]
        for key in done:
            del held[key]


def _bound(key: bytes) -> int:
    if key == _WAKE_KEY:
        return 1
    return PEER_REQUESTS if key.startswith(_REQUESTS_TAG) else PEER_MESSAGES


class TableInbox:
    """What peers sent one table, checked for its sender and queued fairly."""

    def __init__(self, config: ReplicaConfig, executed_timestamp: Callable[[bytes], int], *,
                 requests_in_flight: int = REQUESTS_IN_FLIGHT) -> None:
        self._replicas = frozenset(config.replicas)
        self._queue: FairQueue[Item] = FairQueue(per_key_items=PEER_MESSAGES,
                                                 total_items=INBOX_TOTAL, items_for=_bound)
        pipeline = config.batch_max_requests * config.max_inflight_batches
        self.admission = RequestAdmission(
            requests_in_flight, 4 * config.view_change_timeout_ticks, executed_timestamp,
            larger={key: max(requests_in_flight, pipeline) for key in config.replicas})

    def put(self, peer: bytes, envelope: Envelope[Any]) -> str | None:
        """Queue an envelope; None when queued, else why it was dropped."""
        if type(envelope.message) is Request:
            return self._queue.offer(_REQUESTS_TAG + peer, (peer, envelope))
        if envelope.sender not in self._replicas:
            return "not_replica"
        return self._queue.offer(peer, (peer, envelope))

    def wake(self) -> None:
        """Have the shell's loop run now (a local request was proposed)."""
        if not self._queue.queued(_WAKE_KEY):  # one is enough; a full inbox wakes it anyway
            self._queue.offer(_WAKE_KEY, (b"", None))

    async def receive_until(self, deadline: float, most: int) -> list[tuple[bytes, Any]]:
        """What arrived, taken in turn per peer: waits for the first item until `deadline`,
        then takes what else is queued, up to `most`."""
        batch: list[Item] = []
        with trio.move_on_at(deadline):
            batch.append((await self._queue.receive())[1])
        while batch and len(batch) < most:
            try:
                batch.append(self._queue.receive_nowait()[1])
            except trio.WouldBlock:
                break
        return [(peer, envelope) for peer, envelope in batch if envelope is not None]

    def admit(self, peer: bytes, envelope: Envelope[Any], now_ticks: int) -> bool:
        """Whether a client request from `peer` may go to the replica now."""
        if type(envelope.message) is not Request:
            return True
        return self.admission.admit(peer, envelope.sender, envelope.message.timestamp,
                                    now_ticks)

    def statistics(self) -> FairQueueStatistics:
        """The queues: what is queued, and what was dropped, by reason and by peer."""
        return self._queue.statistics()
