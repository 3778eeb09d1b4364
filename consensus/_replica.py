"""The PBFT replica: a sans-I/O state machine with no clock, no socket and no `await`.

Inputs: `step(envelope)` for a message whose signatures the shell already verified,
`tick()` for one unit of time, `propose(request)` for a local client's request. Output: one
`Ready` at a time from `ready()`; the shell persists it, calls `persisted(token)`, sends,
and calls `advance(ready)`.

A `LocalProtocolError` out of any input is our own bug (the application raising something
other than its typed error is one, see `_normal_case._execute_request`): the replica's state
may be half-updated, so the replica stops for good. `failure` says why, and every later
input raises `LocalProtocolError` again; the node marks the table failed and carries on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

from . import _checkpoint, _dispatch, _normal_case, _recovery, _state_transfer, _view_change
from ._app import Application
from ._config import ReplicaConfig
from ._crypto import Signer
from ._durable import Record
from ._errors import LocalProtocolError, RemoteProtocolError
from ._messages import Envelope, Request
from ._ready import MessageRejected, Ready
from ._state import ReplicaState


class Replica:
    def __init__(self, config: ReplicaConfig, app: Application, signer: Signer, *,
                 jitter_seed: int = 0) -> None:
        me = config.index_of(signer.public_key)
        if me is None:
            raise LocalProtocolError("this signer's key is not one of the table's replicas")
        self._r = ReplicaState(config, app, signer, me, jitter_seed)
        self._next_token = 1
        self._outstanding: Ready | None = None
        self._persisted_token: int | None = None
        self._failure: str | None = None

    @classmethod
    def recover(cls, config: ReplicaConfig, app: Application, signer: Signer,
                records: Iterable[Record], *, jitter_seed: int = 0) -> Replica:
        """A replica rebuilt from its persisted records, as after a crash."""
        replica = cls(config, app, signer, jitter_seed=jitter_seed)
        _recovery.recover(replica._r, records)
        return replica

    # --- inputs --------------------------------------------------------------------------

    def step(self, envelope: Envelope[Any]) -> None:
        """Feed a message whose every signature (nested ones too) the shell verified."""
        r = self._r
        with self._stops_on_bug():
            r.stats.messages_in += 1
            try:
                _dispatch.handle(r, envelope)
            except RemoteProtocolError as exc:
                r.stats.messages_rejected += 1
                r.event(MessageRejected(envelope.sender, str(exc)))

    def propose(self, request: Envelope[Request]) -> None:
        """A request from a client attached to this node; handled like one from the network."""
        if type(request.message) is not Request:
            raise LocalProtocolError("propose takes a signed Request")
        self.step(request)

    def tick(self) -> None:
        r = self._r
        with self._stops_on_bug():
            r.now_ticks += 1
            try:
                _view_change.on_tick(r)
                _state_transfer.on_tick(r)
                _normal_case.on_tick(r)
            except RemoteProtocolError as exc:
                r.stats.messages_rejected += 1
                r.event(MessageRejected(b"", str(exc)))

    @contextmanager
    def _stops_on_bug(self) -> Iterator[None]:
        """Refuse every input once stopped; stop on a `LocalProtocolError` (our bug)."""
        if self._failure is not None:
            raise LocalProtocolError(f"this replica stopped: {self._failure}")
        try:
            yield
        except LocalProtocolError as exc:
            self._failure = str(exc)
            raise

    # --- output --------------------------------------------------------------------------

    def has_ready(self) -> bool:
        r = self._r
        return bool(r.out_persist or r.out_send or r.out_execute or r.out_events)

    def ready(self) -> Ready:
        if self._outstanding is not None:
            raise LocalProtocolError("the previous Ready was not advanced")
        r = self._r
        ready = Ready(
            token=self._next_token,
            persist=tuple(r.out_persist),
            must_sync=bool(r.out_persist),
            send=tuple(r.out_send),
            execute=tuple(r.out_execute),
            events=tuple(r.out_events),
        )
        self._next_token += 1
        r.out_persist, r.out_send, r.out_execute, r.out_events = [], [], [], []
        self._outstanding = ready
        return ready

    def persisted(self, token: int) -> None:
        """The shell made the Ready with this token durable; its messages may now leave."""
        if self._outstanding is None or self._outstanding.token != token:
            raise LocalProtocolError(f"persisted({token}) does not match the outstanding Ready")
        self._persisted_token = token

    def advance(self, ready: Ready) -> None:
        if ready is not self._outstanding:
            raise LocalProtocolError("advance() got a Ready that is not the outstanding one")
        if ready.persist and self._persisted_token != ready.token:
            raise LocalProtocolError(
                "advance() before persisted(): messages would leave before their votes are durable"
            )
        self._outstanding = None
        self._persisted_token = None

    # --- inspection ----------------------------------------------------------------------

    @property
    def failure(self) -> str | None:
        """Why this replica stopped (a `LocalProtocolError`), or None while it runs."""
        return self._failure

    @property
    def index(self) -> int:
        return self._r.me

    @property
    def view(self) -> int:
        return self._r.view

    @property
    def changing_view(self) -> bool:
        return self._r.changing

    @property
    def is_primary(self) -> bool:
        return self._r.is_primary() and not self._r.changing

    @property
    def last_executed_seq(self) -> int:
        return self._r.last_executed

    @property
    def stable_checkpoint_seq(self) -> int:
        return self._r.stable_seq

    @property
    def now_ticks(self) -> int:
        return self._r.now_ticks

    def client_timestamp(self, client: bytes) -> int:
        """The timestamp of `client`'s newest request this replica executed, as of
        `last_executed_seq` (0 if none, or once its record was evicted): replicas ignore
        any request of that client that is not later while the record is kept. With
        `last_executed_seq`, what a client on this node needs to tell an expired request
        from an executed one (`Client.observe`)."""
        return self._r.clients.last_timestamp(client)

    def state_digest(self) -> bytes:
        """Digest of the replicated state (application and client table) right now."""
        from ._state import state_digest

        return state_digest(self._r.state_snapshot())

    def checkpoint_digest(self, seq: int) -> bytes | None:
        own = self._r.own_checkpoints.get(seq)
        if own is not None:
            return own[0]
        return self._r.stable_digest if seq == self._r.stable_seq else None

    def log_size(self) -> int:
        """Entries held for sequence numbers: bounded by the watermark window."""
        r = self._r
        return len(r.log) + len(r.prepared_certs) + len(r.committed_certs)

    def buffered_messages(self) -> int:
        return len(self._r.future) + len(self._r.pending)

    def statistics(self) -> dict[str, int]:
        stats = asdict(self._r.stats)
        stats.update(view=self.view, last_executed_seq=self.last_executed_seq,
                     stable_checkpoint_seq=self.stable_checkpoint_seq,
                     pending_requests=len(self._r.pending), log_entries=self.log_size())
        return stats


__all__ = ["Replica", "_checkpoint"]
