"""A sans-I/O client of a table: signs requests, retransmits, accepts f+1 matching replies.

A reply counts only for the request outstanding now: same client key and same timestamp. A
client must therefore never reuse a timestamp (the shell numbers requests from what the
replicas executed and from a durable high-water mark, `advance_timestamp`): a replica answers a
repeat of a client's last executed timestamp with its cached reply, and a reply carries no
digest of the operation it answers. An honest replica also resends a cached reply only for the
very request it executed (consensus/_normal_case.py), so f+1 matching replies are never an
old result for a new operation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._config import ReplicaConfig
from ._crypto import Signer
from ._errors import LocalProtocolError, RemoteProtocolError
from ._messages import Envelope, Reply, Request, signing_bytes
from ._ready import Send


@dataclass(frozen=True, slots=True)
class Completed:
    """f+1 replicas (or the quorum asked for) agree on this request's result: at least one
    of them is honest. `replies` are their signed replies: with 2f+1 of them, a proof any
    holder of the replicas' keys can check offline that the table executed it."""

    timestamp: int
    result: bytes
    latency_ticks: int
    replies: tuple[Envelope[Reply], ...] = field(default=(), compare=False)


@dataclass
class _Outstanding:
    envelope: Envelope[Request]
    sent_tick: int
    retransmit_tick: int
    quorum: int
    votes: dict[bytes, dict[int, Envelope[Reply]]] = field(default_factory=dict)


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
        wanted = self.config.weak_quorum if quorum is None else quorum
        if not self.config.weak_quorum <= wanted <= self.config.n:
            raise LocalProtocolError(f"a reply quorum is between f+1 and n, not {wanted}")
        request = Request(self._next_timestamp, operation)
        self._next_timestamp += 1
        key = self.signer.public_key
        signature = self.signer.sign(signing_bytes(self.config.table_id, key, request))
        envelope: Envelope[Request] = Envelope(self.config.table_id, key, request, signature)
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
        voters = outstanding.votes.setdefault(reply.result, {})
        voters.setdefault(replica, envelope)
        if len(voters) >= outstanding.quorum:
            latency = self._now_ticks - outstanding.sent_tick
            replies = tuple(voters[index] for index in sorted(voters))
            self._completed.append(Completed(reply.timestamp, reply.result, latency, replies))
            self._outstanding = None

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
        done, self._completed = self._completed, []
        return done
