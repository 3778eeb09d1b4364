"""Admission of client requests: one waiting request per client, a bounded queue, fair batches.

A replica sees every client's requests, straight from the client or relayed by other
replicas, and holds them until they execute. What it holds is bounded, and no crowd of keys
can push a known player out:

- One waiting request per client (PBFT's model: a client has one outstanding request), in
  the client's place in the queue (`_waiting`). A newer timestamp from the same key
  replaces its older waiting one (a restarted client moves on; keeping the old one delayed a
  replica's DKG complaint past its deadline in the craps simulator) and takes over its place;
  an older one is stale. A backup's timer on the replaced request runs on, on the
  replacement (resubmitting never restarts it). A batch carrying a client's request takes the
  client's turn everywhere: a newer request of it that a replica already holds goes to the
  back, as at the primary. A request already proposed in a batch stays until it executes.
  (Sent to the back on every replacement, a key that sends faster than it is served never
  reached the front at the primary while backups still timed it there; with one request per
  batch and one batch in flight, timeouts ended in view changes faster than batches
  committed: the simulator's n=7 seed 2 at 0.2 hostile requests and 0.25-0.5 fresh keys a
  tick, tests/test_sim.py.)
- A view change leaves no request behind: once a view is installed every request held and
  not executed waits again, one per client (its newest), so a client that sent again during
  the change holds one place at the next primary, not one per view it lived through.
- Keys the client table does not know (never executed anything, or evicted) are *new
  clients*: together they hold at most `max_pending_new_clients` places, and when the whole
  queue (`max_pending_requests`) is full a known client's request takes the place of the
  newest new client's. Minting keys is free; an executed record is not.
- The primary draws each batch alternately from the known clients and the new ones, each in
  the order of their places (one place per client makes that order round-robin across
  clients). With both waiting, each side gets at least half of every batch, or every other
  batch when a batch holds one request (the side that goes first follows the seq's parity).

Request timers (backups): a backup times its first pending request *from a known client*
(one a batch of this view carries, else the front place), and a new client's only while no
known client's request waits there. The fair primary puts
a known client's request into one of the next batches whatever the flood of new keys (at
most the number of known clients waiting ahead of it, each holding one place), so a backup's
timer does not expire because the primary is rate-limiting strangers; a primary that skips
a known client is blamed as before (the timer restarts only once a request of that client
executes: replicas may hold different requests of one key, as each got them).
A timer on a new client's request restarts whenever a batch serves new clients: strangers
are served in turn, not each within one timeout. The cost, stated: a faulty primary can
keep a stranger's key waiting while it serves others (never a known client's); under a
sustained flood of new keys a newcomer waits its turn among them (the node's shell bounds
requests per relaying peer before they reach the replica).
"""

from __future__ import annotations

from collections.abc import Iterator

from ._errors import RemoteProtocolError
from ._messages import Envelope, Request
from ._state import ReplicaState, RequestKey

FORWARD_LIMIT = 256
"""Pending requests a backup hands the primary at once before blaming it (known first)."""


def admit(r: ReplicaState, envelope: Envelope[Request]) -> bool:
    """Queue a fresh request (True), or leave it out: already held, superseded, or no room.

    No room raises `RemoteProtocolError` (counted by the caller) after counting the drop."""
    client = envelope.sender
    key = (client, envelope.message.timestamp)
    if key in r.pending:
        return False
    waiting = r.waiting.of_client(client)
    if waiting is not None:
        if waiting[1] > key[1]:
            r.stats.requests_stale += 1
            return False
        _add(r, key, envelope, known=r.clients.get(client) is not None)  # takes the place
        _forget(r, waiting)
        if r.request_timer_key == waiting:
            r.request_timer_key = key  # the same client in the same place: the timer runs on
        return True
    known = r.clients.get(client) is not None
    if not known and _new_clients_full(r):
        r.stats.requests_dropped += 1
        raise RemoteProtocolError("pending requests from new clients are at their limit")
    if len(r.pending) >= r.config.max_pending_requests and not (known and _evict_new_client(r)):
        r.stats.requests_dropped += 1
        raise RemoteProtocolError("pending request queue is full")
    _add(r, key, envelope, known=known)
    return True


def _add(r: ReplicaState, key: RequestKey, envelope: Envelope[Request], *, known: bool) -> None:
    r.add_pending(key, envelope)
    if not known:
        r.new_client_keys[key] = None


def _forget(r: ReplicaState, key: RequestKey) -> None:
    r.drop_pending(*key)


def _new_clients_full(r: ReplicaState) -> bool:
    cap = min(r.config.max_pending_new_clients, r.config.max_pending_requests)
    if len(r.new_client_keys) >= cap:  # marks of requests gone since are dropped lazily
        r.new_client_keys = {k: None for k in r.new_client_keys if k in r.pending}
    return len(r.new_client_keys) >= cap


def _evict_new_client(r: ReplicaState) -> bool:
    """Make room for a known client: drop the newest new client's unproposed request."""
    for key in reversed(r.new_client_keys):
        if key in r.waiting:
            _forget(r, key)
            return True
    return False


def next_batch(r: ReplicaState, max_bytes: int) -> list[RequestKey]:
    """The next batch's requests: known and new clients in turn, each side in arrival order,
    at most `batch_max_requests` of them and (past the first) at most `max_bytes` of signed
    requests."""
    known = (k for k in r.waiting if k not in r.new_client_keys)
    new = (k for k in r.waiting if k in r.new_client_keys)
    sides: list[Iterator[RequestKey]] = [known, new] if r.next_seq % 2 == 0 else [new, known]
    keys: list[RequestKey] = []
    size = 0
    turn = 0
    while sides and len(keys) < r.config.batch_max_requests:
        side = sides[turn % len(sides)]
        key = next(side, None)
        if key is None:
            sides.remove(side)
            continue
        size += len(r.pending[key].wire)
        if keys and size > max_bytes:
            break
        keys.append(key)
        turn += 1
    return keys


def timed_order(r: ReplicaState) -> Iterator[RequestKey]:
    """Pending requests in the order a backup times and forwards them: known clients first;
    for each side, those a batch of this view carries, then the waiting ones by place."""
    yield from (k for k in r.pending if k not in r.waiting and k not in r.new_client_keys)
    yield from (k for k in r.waiting if k not in r.new_client_keys)
    yield from (k for k in r.pending if k not in r.waiting and k in r.new_client_keys)
    yield from (k for k in r.waiting if k in r.new_client_keys)


def requeue(r: ReplicaState) -> None:
    """A view is installed: every request held and not executed waits again for a batch
    (the NEW-VIEW's own pre-prepares then take theirs), one per client, its newest.

    Clients keep their order: those whose requests were in the old view's batches first (the
    old primary had served them), then the waiting ones by place. A client's older request is
    forgotten like any replaced one (should a batch carry it, it still executes from there).
    Without this, a backup held the old view's requests out of its queue, so a client's next
    request joined them instead of replacing them, and each view change left every client
    more places at the next primary and backups timing requests no primary would propose."""
    order = [k for k in r.pending if k not in r.waiting]
    order.extend(r.waiting)
    newest: dict[bytes, int] = {}
    for client, stamp in order:
        newest[client] = max(stamp, newest.get(client, stamp))
    r.waiting.clear()
    for client, stamp in newest.items():
        r.waiting.put((client, stamp), r.now_ticks)
    for client, stamp in order:
        if stamp != newest[client]:
            _forget(r, (client, stamp))


def restart_timer(r: ReplicaState) -> None:
    """Time the request a backup should wait on first, from now (or stop: none pending)."""
    r.request_timer_key = next(timed_order(r), None)
    r.request_timer_start = None if r.request_timer_key is None else r.now_ticks


def note_arrival(r: ReplicaState, key: RequestKey) -> None:
    """Start the timer for a newly queued request, or move it from a new client's request
    to a known client's (which the fair primary serves first)."""
    timed = r.request_timer_key
    if r.request_timer_start is None or timed not in r.pending:
        r.request_timer_start, r.request_timer_key = r.now_ticks, key
    elif timed in r.new_client_keys and key not in r.new_client_keys:
        r.request_timer_start, r.request_timer_key = r.now_ticks, key


def to_forward(r: ReplicaState) -> list[RequestKey]:
    """Requests not yet handed to this view's primary, known clients first, at most
    `FORWARD_LIMIT`: a flood held here is not copied to the primary wholesale."""
    out: list[RequestKey] = []
    for key in timed_order(r):
        if key not in r.forwarded:
            out.append(key)
            if len(out) == FORWARD_LIMIT:
                break
    return out


def note_executed(r: ReplicaState, requests: tuple[Envelope[Request], ...]) -> None:
    """A batch executes: the timer starts again if it served the timed request's client
    (replicas may hold different requests of one key: each keeps the first it got), or
    served new clients while the timer is on a new client's request (they go in turn)."""
    timed = r.request_timer_key
    if timed is None:
        return
    new = timed in r.new_client_keys
    for e in requests:
        if e.sender == timed[0] or (new and (e.sender, e.message.timestamp) in r.new_client_keys):
            restart_timer(r)
            return
