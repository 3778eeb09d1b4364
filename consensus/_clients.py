"""The replicated client table: exactly-once execution and cached replies, in bounded space.

Each client key has at most one record: the newest request executed for it (timestamp, the
digest of its operation, the result, the seq it executed at). A request executes only if its
timestamp is above the client's record; an equal timestamp with the same operation is answered
with the cached result; an equal timestamp with another operation gets nothing.

The table holds at most `capacity` records. The rule, applied after each executed batch, the
same on every replica because it reads only replicated state:

- while the table is over capacity, the record whose request executed at the oldest seq is
  evicted (ties: the smaller client key);
- an evicted record leaves its timestamp in a floor: one per bucket of client keys (the key's
  first byte), the largest timestamp evicted from that bucket;
- a request from a client with no record executes only if its timestamp is above its bucket's
  floor.

So a replayed old request of an evicted client (timestamp at most its evicted timestamp, so at
most the floor) never executes again, while live clients, whose records are the newest, keep
theirs. A client whose record was evicted numbers its next request above the floor
(`last_timestamp` reports it); a node numbering from the wall clock in microseconds does so.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

FLOOR_BUCKETS = 256
REQUEST_DOMAIN = b"bitcraps/v1/request-op\x00"


def operation_digest(operation: bytes) -> bytes:
    return hashlib.sha256(REQUEST_DOMAIN + operation).digest()


@dataclass
class ClientRecord:
    """The newest request executed for a client and its result: exactly-once and resend."""

    timestamp: int
    result: bytes
    operation_digest: bytes = b""
    seq: int = 0


class ClientTable:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._records: dict[bytes, ClientRecord] = {}
        self._age: list[tuple[int, bytes]] = []  # (seq, key) min-heap, stale entries skipped
        self._floors: dict[int, int] = {}
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._records)

    def get(self, client: bytes) -> ClientRecord | None:
        return self._records.get(client)

    def floor(self, client: bytes) -> int:
        """Requests of `client` at or below this timestamp never execute, record or not."""
        return self._floors.get(client[0] if client else 0, 0)

    def last_timestamp(self, client: bytes) -> int:
        """The highest timestamp `client` may not use: its record's, else its floor."""
        record = self._records.get(client)
        return record.timestamp if record is not None else self.floor(client)

    def fresh(self, client: bytes, timestamp: int) -> bool:
        """Whether a request with this timestamp may still execute."""
        return timestamp > self.last_timestamp(client)

    def record(self, client: bytes, record: ClientRecord) -> None:
        self._records[client] = record
        heapq.heappush(self._age, (record.seq, client))
        if len(self._age) > 2 * len(self._records) + 64:
            self._rebuild_age()

    def evict_excess(self) -> list[bytes]:
        """Evict the oldest records down to capacity; the evicted keys, oldest first."""
        evicted: list[bytes] = []
        while len(self._records) > self.capacity:
            seq, client = heapq.heappop(self._age)
            record = self._records.get(client)
            if record is None or record.seq != seq:
                continue
            del self._records[client]
            bucket = client[0] if client else 0
            self._floors[bucket] = max(self._floors.get(bucket, 0), record.timestamp)
            evicted.append(client)
        self.evicted += len(evicted)
        return evicted

    def _rebuild_age(self) -> None:
        self._age = [(record.seq, client) for client, record in self._records.items()]
        heapq.heapify(self._age)

    # --- the snapshot's part ------------------------------------------------------------

    def to_wire(self) -> list[Any]:
        records = [[key, rec.timestamp, rec.result, rec.operation_digest, rec.seq]
                   for key, rec in sorted(self._records.items())]
        floors = [[bucket, stamp] for bucket, stamp in sorted(self._floors.items())]
        return [records, floors]

    @classmethod
    def from_wire(cls, capacity: int, obj: Any) -> ClientTable:
        """The table from a snapshot's part; ValueError/TypeError if it is malformed."""
        records, floors = obj
        table = cls(capacity)
        for key, timestamp, result, digest, seq in records:
            if type(key) is not bytes or type(result) is not bytes or type(digest) is not bytes:
                raise ValueError("client record fields must be bytes")
            if type(timestamp) is not int or type(seq) is not int:
                raise ValueError("client record stamps must be integers")
            table._records[key] = ClientRecord(timestamp, result, digest, seq)
        for bucket, stamp in floors:
            if type(bucket) is not int or type(stamp) is not int:
                raise ValueError("client floors must be integers")
            table._floors[bucket] = stamp
        table._rebuild_age()
        return table
