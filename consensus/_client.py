"""A sans-I/O client of a table: signs requests, retransmits, accepts f+1 matching replies.

A reply counts only for the request outstanding now: same client key and same timestamp. A
client must therefore never reuse a timestamp (the shell numbers requests from what the
replicas executed and from a durable high-water mark, `advance_timestamp`): a replica answers a
repeat of a client's last executed timestamp with its cached reply, and a reply carries no
digest of the operation it answers. An honest replica also resends a cached reply only for the
very request it executed (consensus/_normal_case.py), so f+1 matching replies are never an
old result for a new operation.

Each request's `horizon_seq` is the last executed seq the client knows plus the window
(`request_window_seqs`): it can execute only up to that seq (see `_clients`). The client
learns executed seqs from the seq its completed requests executed at (f+1 replies agree on
it) and from `observe`, fed by a replica it trusts (its node's own). A request ends in one
of three ways, each taken once from the client:

- `Completed`: f+1 replicas (or the quorum asked for) sent the same result and seq;
- `NotExecuted`: it did not execute and never will: f+1 replicas refused it at its seq
  (expired, horizon too far ahead, client table full), or `observe` saw the table past its
  horizon without it (within the window in which the table's record would show it);
- `Lapsed`: it can never execute from now on, but whether it did before its horizon this
  client cannot learn: the trusted replica jumped (by state transfer) past the window in
  which the replicas keep the record that would say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._config import ReplicaConfig
from ._crypto import Signer
from ._errors import LocalProtocolError, RemoteProtocolError
from ._messages import OUTCOME_EXECUTED, OUTCOME_EXPIRED, Envelope, Reply, Request, signing_bytes
from ._ready import Send
from ._schema import U64_MAX


@dataclass(frozen=True, slots=True)
class Completed:
    """f+1 replicas (or the quorum asked for) agree on this request's result: at least one
    of them is honest. `replies` are their signed replies: with 2f+1 of them, a proof any
    holder of the replicas' keys can check offline that the table executed it."""

    timestamp: int
    result: bytes
    latency_ticks: int
    replies: tuple[Envelope[Reply], ...] = field(default=(), compare=False)
    seq: int = 0
    """The seq the request executed at (0 for a reply that named none)."""


@dataclass(frozen=True, slots=True)
class NotExecuted:
    """The request did not execute and never will. `reason` is a refusal outcome
    (`OUTCOME_EXPIRED`, `OUTCOME_TOO_EARLY`, `OUTCOME_TABLE_FULL`); `seq` is where it was
    refused, or the executed seq `observe` saw past its horizon; `replies` the f+1 (or
    more) replicas' signed refusals, empty when `observe` told."""

    timestamp: int
    reason: int
    seq: int
    latency_ticks: int
    replies: tuple[Envelope[Reply], ...] = field(default=(), compare=False)


@dataclass(frozen=True, slots=True)
class Lapsed:
    """The request can never execute from now on (its horizon is past), but whether it did
    before, this client cannot tell: no quorum answered, and the table it observes is past
    the window in which a record of it would have been kept (`seen_seq`), with none."""

    timestamp: int
    horizon_seq: int
    seen_seq: int
    latency_ticks: int


Ended = NotExecuted | Lapsed


@dataclass
class _Outstanding:
    envelope: Envelope[Request]
    sent_tick: int
    retransmit_tick: int
    quorum: int
    votes: dict[tuple[int, int, bytes], dict[int, Envelope[Reply]]] = field(
        default_factory=dict)


class Client:
    def __init__(self, config: ReplicaConfig, signer: Signer, *, first_timestamp: int = 1,
                 retransmit_timeout_ticks: int = 50) -> None:
        self.config = config
        self.signer = signer
        self.retransmit_timeout_ticks = retransmit_timeout_ticks
        self._next_timestamp = first_timestamp
        self._outstanding: _Outstanding | None = None
        self._now_ticks = 0
        self._sends: list[Send] = []
        self._completed: list[Completed] = []
        self._ended: list[Ended] = []
        self._known_seq = 0
        self.retransmissions = 0
        self.rejected_replies = 0

    @property
    def busy(self) -> bool:
        return self._outstanding is not None

    @property
    def outstanding_timestamp(self) -> int | None:
        """The timestamp of the request awaiting its replies, if any."""
        return None if self._outstanding is None else self._outstanding.envelope.message.timestamp

    @property
    def next_timestamp(self) -> int:
        """The timestamp the next request will carry; it only ever grows."""
        return self._next_timestamp

    @property
    def known_executed_seq(self) -> int:
        """The highest seq this client knows executed; its next request's horizon is this
        plus `request_window_seqs`."""
        return self._known_seq

    def observe(self, executed_seq: int, record_timestamp: int | None = None) -> None:
        """Learn from a replica this client trusts that the table executed through
        `executed_seq`; with `record_timestamp`, that replica's client-table record for
        this client as of then (`Replica.client_timestamp`, 0 if none).

        The outstanding request (t, h) then ends once `executed_seq` >= h with a record
        below t: `NotExecuted` while `executed_seq` < h + window (had it executed, at a seq
        <= h, its record would be kept through seq h + window - 1 at least), else
        `Lapsed`. A record at t or above: it executed, and its replies are awaited."""
        self._known_seq = max(self._known_seq, executed_seq)
        outstanding = self._outstanding
        if outstanding is None or record_timestamp is None:
            return
        request = outstanding.envelope.message
        if executed_seq < request.horizon_seq or record_timestamp >= request.timestamp:
            return  # it may still execute, or it did: the replicas' replies will say
        latency = self._now_ticks - outstanding.sent_tick
        if executed_seq < request.horizon_seq + self.config.request_window_seqs:
            self._end(NotExecuted(request.timestamp, OUTCOME_EXPIRED, executed_seq, latency))
        else:
            self._end(Lapsed(request.timestamp, request.horizon_seq, executed_seq, latency))

    def _end(self, ended: Ended) -> None:
        self._ended.append(ended)
        self._outstanding = None

    def advance_timestamp(self, at_least: int) -> None:
        """Number the next request from `at_least` if that is later: timestamps follow the
        clock where it runs ahead, and stay strictly increasing where it went back."""
        self._next_timestamp = max(self._next_timestamp, at_least)

    def submit(self, operation: bytes, *, quorum: int | None = None) -> Envelope[Request]:
        """Sign a request and queue it for every replica. One request at a time: a request
        keeps being retransmitted until it completes, and submitting while `busy` is the
        caller's bug (LocalProtocolError).

        It completes once `quorum` replicas (default f+1) sent the same result; asking for
        2f+1 gets a reply certificate (`Completed.replies`), at the price of waiting for
        more replicas."""
        if self._outstanding is not None:
            raise LocalProtocolError("a client has one outstanding request at a time")
        return self.adopt(self.sign(operation), quorum=quorum)

    def sign(self, operation: bytes) -> Envelope[Request]:
        """Sign the next request without sending it (its timestamp is used up either way):
        the caller records it, then `adopt`s it."""
        horizon = min(self._known_seq + self.config.request_window_seqs, U64_MAX)
        request = Request(self._next_timestamp, operation, horizon)
        self._next_timestamp += 1
        key = self.signer.public_key
        signature = self.signer.sign(signing_bytes(self.config.table_id, key, request))
        return Envelope(self.config.table_id, key, request, signature)

    def adopt(self, envelope: Envelope[Request], *, quorum: int | None = None
              ) -> Envelope[Request]:
        """Make a request this client signed (`sign`, or one signed before a restart) the
        outstanding one and queue it for every replica: the same signed bytes, so it can
        execute at most once however often it is sent."""
        if self._outstanding is not None:
            raise LocalProtocolError("a client has one outstanding request at a time")
        wanted = self.config.weak_quorum if quorum is None else quorum
        if not self.config.weak_quorum <= wanted <= self.config.n:
            raise LocalProtocolError(f"a reply quorum is between f+1 and n, not {wanted}")
        if (type(envelope.message) is not Request or envelope.sender != self.signer.public_key
                or envelope.table_id != self.config.table_id):
            raise LocalProtocolError("a client adopts only its own requests for its table")
        self._next_timestamp = max(self._next_timestamp, envelope.message.timestamp + 1)
        self._outstanding = _Outstanding(
            envelope, self._now_ticks, self._now_ticks + self.retransmit_timeout_ticks, wanted
        )
        self._sends.append(Send(self.config.replicas, envelope))
        return envelope

    def step(self, envelope: Envelope[Any]) -> None:
        """Take a reply whose signature the shell verified."""
        try:
            self._on_reply(envelope)
        except RemoteProtocolError:
            self.rejected_replies += 1

    def _on_reply(self, envelope: Envelope[Any]) -> None:
        reply = envelope.message
        if type(reply) is not Reply:
            raise RemoteProtocolError("clients only take replies")
        if envelope.table_id != self.config.table_id:
            raise RemoteProtocolError("reply for another table")
        replica = self.config.index_of(envelope.sender)
        if replica is None or reply.client != self.signer.public_key:
            raise RemoteProtocolError("reply from a non-replica or for another client")
        outstanding = self._outstanding
        if outstanding is None or reply.timestamp != outstanding.envelope.message.timestamp:
            return
        voters = outstanding.votes.setdefault((reply.outcome, reply.seq, reply.result), {})
        voters.setdefault(replica, envelope)
        if len(voters) < outstanding.quorum:
            return
        latency = self._now_ticks - outstanding.sent_tick
        replies = tuple(voters[index] for index in sorted(voters))
        self._known_seq = max(self._known_seq, reply.seq)  # f+1 vouch for it
        if reply.outcome == OUTCOME_EXECUTED:
            self._completed.append(
                Completed(reply.timestamp, reply.result, latency, replies, reply.seq))
            self._outstanding = None
        else:
            self._end(NotExecuted(reply.timestamp, reply.outcome, reply.seq, latency, replies))

    def tick(self) -> None:
        self._now_ticks += 1
        outstanding = self._outstanding
        if outstanding is not None and self._now_ticks >= outstanding.retransmit_tick:
            outstanding.retransmit_tick = self._now_ticks + self.retransmit_timeout_ticks
            self.retransmissions += 1
            self._sends.append(Send(self.config.replicas, outstanding.envelope))

    def take_sends(self) -> list[Send]:
        sends, self._sends = self._sends, []
        return sends

    def take_completed(self) -> list[Completed]:
        """Requests that executed, with their agreed results."""
        done, self._completed = self._completed, []
        return done

    def take_ended(self) -> list[Ended]:
        """Requests that ended without a result: `NotExecuted` or `Lapsed`."""
        ended, self._ended = self._ended, []
        return ended
