"""The replicated client table: exactly-once execution and cached replies, in bounded space.

Each client key has at most one record: the newest request executed for it (timestamp, the
digest of its operation, the result, the seq it executed at, its horizon). Every request
carries, signed, a `horizon_seq` h; with E = `request_window_seqs`, the rule at the seq s a
batch executes at, for each request in order (the same on every replica: it reads only
replicated state and the request):

1. a timestamp at or below the client's record: nothing happens (a repeat of the executed
   one is answered from the cache when it arrives, see `_normal_case`);
2. s > h: EXPIRED; h >= s + E: TOO_EARLY (so a request executes only at h - E < s <= h);
3. the table is full (`max_records`, or `max_bytes` of records not counting the client's
   own): the oldest record by horizon (ties: the smaller key) is evicted while it is
   evictable, that is while its horizon + E <= s; if still full, TABLE_FULL;
4. otherwise the request executes and its record replaces the client's.

A refused request (2, 3) does not touch the table: every replica answers it with the same
outcome and no result. There are no timestamp floors: a client whose record was evicted (or
never existed) executes any request within its window.

Why eviction keeps exactly-once. An honest client signs each request with a timestamp above
all its earlier ones and a horizon h = k + E, where k is a seq it knows executed (committed:
its batch was fixed before the request existed). Let B be the client's request recorded at
seq s_B with horizon h_B, evicted at seq s, so h_B + E <= s. Take any request A of the
client with t_A <= t_B, whether it was signed before B or is B itself:

- A = B (a replay): h_B < h_B + E <= s, and seqs only grow, so B is EXPIRED at s and after.
- A signed before B: k_A was executed before A was signed, so before B was; B cannot sit in
  a batch fixed before it existed, so s_B > k_A. Then h_A = k_A + E <= s_B - 1 + E
  <= h_B - 1 + E < s (B executed, so s_B <= h_B), and A is EXPIRED at s and after.

So no request at or below an evicted record's timestamp can ever execute again, replayed or
held back. While the record is kept, rule 1 refuses them. (A client that signs horizons it
did not derive from an executed seq can make its own old requests execute again after its
record went: only its own exactly-once suffers.)

What a client can learn from the table: if it sees the table as of executed seq X with
h <= X < h + E and its record's timestamp below t, request (t, h) never executed and never
will: had it executed, at some s' <= h, its record could be evicted only at a seq >= h + E.
The eviction bound is the executed request's horizon, not its seq, to leave that window.

Bounds: at most `max_records` records, and records of at most `max_bytes` plus one record
(a request is admitted while the table without its client's record is under the cap; its
result's size is known only once it ran). A flood of fresh keys fills the table only with
records that stay active: each key must get a request executed every E seqs to keep its
record, and a client with a record is never refused for lack of records, only of bytes.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ._messages import OUTCOME_EXECUTED, OUTCOME_EXPIRED, OUTCOME_TABLE_FULL, OUTCOME_TOO_EARLY

REQUEST_DOMAIN = b"bitcraps/v1/request-op\x00"
RECORD_OVERHEAD_BYTES = 128
"""What a record costs in the snapshot besides its result: key, digest, three integers."""
RECORD_FIELDS = 6
"""A record on the wire (`ClientTable.to_wire`): key, timestamp, result, digest, seq, horizon."""
STALE = -1
"""`ClientTable.verdict`: a timestamp at or below the client's record: nothing happens."""


def operation_digest(operation: bytes) -> bytes:
    return hashlib.sha256(REQUEST_DOMAIN + operation).digest()


@dataclass
class ClientRecord:
    """The newest request executed for a client and its result: exactly-once and resend."""

    timestamp: int
    result: bytes
    operation_digest: bytes = b""
    seq: int = 0
    horizon_seq: int = 0

    @property
    def size_bytes(self) -> int:
        return RECORD_OVERHEAD_BYTES + len(self.result)


class ClientTable:
    def __init__(self, max_records: int, max_bytes: int, window_seqs: int) -> None:
        self.capacity = max_records
        self.max_bytes = max_bytes
        self.window_seqs = window_seqs
        self._records: dict[bytes, ClientRecord] = {}
        self._age: list[tuple[int, bytes]] = []  # (horizon, key) min-heap, stale entries skipped
        self.size_bytes = 0
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._records)

    def get(self, client: bytes) -> ClientRecord | None:
        return self._records.get(client)

    def last_timestamp(self, client: bytes) -> int:
        """The timestamp of the client's record (0 if none): requests at or below it never
        execute while the record is kept."""
        record = self._records.get(client)
        return record.timestamp if record is not None else 0

    def fresh(self, client: bytes, timestamp: int) -> bool:
        """Whether the table alone lets a request with this timestamp execute."""
        return timestamp > self.last_timestamp(client)

    def in_window(self, horizon_seq: int, seq: int) -> int:
        """OUTCOME_EXECUTED if a request with this horizon may execute at `seq`, else why not."""
        if seq > horizon_seq:
            return OUTCOME_EXPIRED
        if horizon_seq >= seq + self.window_seqs:
            return OUTCOME_TOO_EARLY
        return OUTCOME_EXECUTED

    def verdict(self, client: bytes, timestamp: int, horizon_seq: int, seq: int) -> int:
        """What becomes of a request ordered at `seq` (rules 1-3 of the module docstring):
        STALE, a refusal outcome, or OUTCOME_EXECUTED (then room was made for its record)."""
        if not self.fresh(client, timestamp):
            return STALE
        window = self.in_window(horizon_seq, seq)
        if window != OUTCOME_EXECUTED:
            return window
        return OUTCOME_EXECUTED if self._make_room(client, seq) else OUTCOME_TABLE_FULL

    def _full(self, client: bytes) -> bool:
        own = self._records.get(client)
        if own is None and len(self._records) >= self.capacity:
            return True
        return self.size_bytes - (own.size_bytes if own is not None else 0) >= self.max_bytes

    def _make_room(self, client: bytes, seq: int) -> bool:
        """Evict the oldest evictable records while the table is full for `client`."""
        while self._full(client):
            oldest = self._oldest()
            if oldest is None or oldest[0] + self.window_seqs > seq:
                return False
            heapq.heappop(self._age)
            self._remove(oldest[1])
            self.evicted += 1
        return True

    def _oldest(self) -> tuple[int, bytes] | None:
        """The live (horizon, key) at the heap's top, dropping stale entries."""
        while self._age:
            horizon, client = self._age[0]
            record = self._records.get(client)
            if record is not None and record.horizon_seq == horizon:
                return horizon, client
            heapq.heappop(self._age)
        return None

    def take_evicted(self) -> int:
        evicted, self.evicted = self.evicted, 0
        return evicted

    def record(self, client: bytes, record: ClientRecord) -> None:
        self._remove(client)
        self._records[client] = record
        self.size_bytes += record.size_bytes
        heapq.heappush(self._age, (record.horizon_seq, client))
        if len(self._age) > 2 * len(self._records) + 64:
            self._rebuild_age()

    def _remove(self, client: bytes) -> None:
        old = self._records.pop(client, None)
        if old is not None:
            self.size_bytes -= old.size_bytes

    def _rebuild_age(self) -> None:
        self._age = [(record.horizon_seq, client) for client, record in self._records.items()]
        heapq.heapify(self._age)

    # --- the snapshot's part ------------------------------------------------------------

    def to_wire(self) -> list[Any]:
        """Records sorted by key, each a flat list of `RECORD_FIELDS` fields."""
        return [[key, rec.timestamp, rec.result, rec.operation_digest, rec.seq, rec.horizon_seq]
                for key, rec in sorted(self._records.items())]

    @classmethod
    def from_wire(cls, max_records: int, max_bytes: int, window_seqs: int,
                  obj: Any) -> ClientTable:
        """The table from a snapshot's part; ValueError/TypeError if it is malformed."""
        if type(obj) is not list:
            raise ValueError("the client table is a list of records")
        table = cls(max_records, max_bytes, window_seqs)
        for key, timestamp, result, digest, seq, horizon in obj:
            if type(key) is not bytes or type(result) is not bytes or type(digest) is not bytes:
                raise ValueError("client record fields must be bytes")
            if type(timestamp) is not int or type(seq) is not int or type(horizon) is not int:
                raise ValueError("client record stamps must be integers")
            if key in table._records:
                raise ValueError("client records must have distinct keys")
            table.record(key, ClientRecord(timestamp, result, digest, seq, horizon))
        return table
