"""A table's replica group and the protocol's tunables. Time is counted in ticks."""

from __future__ import annotations

from dataclasses import dataclass

from . import _frame_bounds
from ._messages import (
    DEFAULT_REQUEST_WINDOW_SEQS,
    MAX_BATCH_REQUESTS,
    MAX_LOG_WINDOW,
    MAX_OPERATION_BYTES,
    MAX_REPLICAS,
    MAX_SNAPSHOT_BYTES,
    PUBLIC_KEY_BYTES,
    TABLE_ID_BYTES,
)

MAX_REQUEST_WINDOW_SEQS = 1 << 32


@dataclass(frozen=True, slots=True)
class ReplicaConfig:
    """Who the replicas are (index = position) and how the protocol is tuned."""

    table_id: bytes
    replicas: tuple[bytes, ...]
    checkpoint_interval_seqs: int = 16
    log_window_seqs: int = 64
    batch_max_requests: int = 256
    batch_max_bytes: int = 512 * 1024
    """A batch stops growing past this many bytes of signed requests (one request always
    fits): every pre-prepare stays far under the transports' 1 MiB frame."""
    batch_timeout_ticks: int = 1
    max_inflight_batches: int = 8
    view_change_timeout_ticks: int = 40
    max_backoff_exponent: int = 4
    fetch_timeout_ticks: int = 20
    max_pending_requests: int = 50_000
    """Requests waiting at one replica, all clients together (one per client: `_admission`)."""
    max_pending_new_clients: int = 1024
    """Of those, places for keys the client table does not know: a flood of fresh keys
    takes these, never a known client's place."""
    window_max_bytes: int | None = None
    """Signed requests proposed in one log window, in bytes; None: the largest for which
    every NEW-VIEW fits a transport frame (`window_budget_bytes`, `_frame_bounds`)."""
    max_client_records: int = 4096
    """The client table's cap in records: past it, a client with no record is refused
    unless the oldest record is evictable (see `_clients`)."""
    max_client_table_bytes: int = 2 * 1024 * 1024
    """The client table's cap in bytes of records (cached results included), checked the
    same way: the snapshot stays far under MAX_SNAPSHOT_BYTES whatever results clients get."""
    request_window_seqs: int = DEFAULT_REQUEST_WINDOW_SEQS
    """A request executes only within this many seqs up to its `horizon_seq`."""
    reply_resend_interval_ticks: int = 10
    """A cached reply is resent to one client at most once per this many ticks: replayed
    copies of its last request cost a replica nothing more."""
    max_chunks_served_per_tick: int = 8
    """Snapshot chunks one replica answers to one other replica per tick."""

    def __post_init__(self) -> None:
        if type(self.table_id) is not bytes or len(self.table_id) != TABLE_ID_BYTES:
            raise ValueError(f"table_id must be {TABLE_ID_BYTES} bytes")
        if not 1 <= len(self.replicas) <= MAX_REPLICAS:
            raise ValueError(f"a table needs 1..{MAX_REPLICAS} replicas, got {len(self.replicas)}")
        if any(type(k) is not bytes or len(k) != PUBLIC_KEY_BYTES for k in self.replicas):
            raise ValueError("every replica must be a 32-byte Ed25519 public key")
        if len(set(self.replicas)) != len(self.replicas):
            raise ValueError("replica keys must be distinct")
        if self.checkpoint_interval_seqs < 1:
            raise ValueError("checkpoint_interval_seqs must be at least 1")
        window = self.log_window_seqs
        if window < 2 * self.checkpoint_interval_seqs or window > MAX_LOG_WINDOW:
            raise ValueError(
                f"log_window_seqs must be in [2 * checkpoint_interval_seqs, {MAX_LOG_WINDOW}]"
            )
        if self.log_window_seqs % self.checkpoint_interval_seqs:
            raise ValueError("log_window_seqs must be a multiple of checkpoint_interval_seqs")
        if not 1 <= self.batch_max_requests <= MAX_BATCH_REQUESTS:
            raise ValueError(f"batch_max_requests must be in [1, {MAX_BATCH_REQUESTS}]")
        if self.batch_max_bytes < 1:
            raise ValueError("batch_max_bytes must be at least 1")
        for name in ("batch_timeout_ticks", "max_inflight_batches", "view_change_timeout_ticks",
                     "fetch_timeout_ticks", "max_pending_requests", "max_client_records",
                     "max_pending_new_clients",
                     "reply_resend_interval_ticks", "max_chunks_served_per_tick"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if not 1 <= self.request_window_seqs <= MAX_REQUEST_WINDOW_SEQS:
            raise ValueError(f"request_window_seqs must be in [1, {MAX_REQUEST_WINDOW_SEQS}]")
        if not 1 <= self.max_client_table_bytes <= MAX_SNAPSHOT_BYTES // 2:
            raise ValueError(f"max_client_table_bytes must be in [1, {MAX_SNAPSHOT_BYTES // 2}]")
        if not 0 <= self.max_backoff_exponent <= 16:
            raise ValueError("max_backoff_exponent must be in [0, 16]")
        if self.window_max_bytes is not None and self.window_max_bytes < 1:
            raise ValueError("window_max_bytes must be at least 1")

    @property
    def window_budget_bytes(self) -> int:
        """Signed requests the batches of one log window may carry (see `_frame_bounds`)."""
        if self.window_max_bytes is not None:
            return self.window_max_bytes
        return _frame_bounds.window_budget_bytes(
            self.n, self.log_window_seqs,
            MAX_OPERATION_BYTES + _frame_bounds.REQUEST_OVERHEAD_BYTES)

    @property
    def n(self) -> int:
        return len(self.replicas)

    @property
    def f(self) -> int:
        """The most Byzantine replicas the group tolerates."""
        return (self.n - 1) // 3

    @property
    def quorum(self) -> int:
        """Any two quorums intersect in at least f+1 replicas (2f+1 when n = 3f+1)."""
        return (self.n + self.f + 2) // 2

    @property
    def weak_quorum(self) -> int:
        """Enough replicas that at least one is honest."""
        return self.f + 1

    def primary(self, view: int) -> int:
        return view % self.n

    def index_of(self, public_key: bytes) -> int | None:
        try:
            return self.replicas.index(public_key)
        except ValueError:
            return None
