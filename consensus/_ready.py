"""What the replica asks its shell to do: persist, then send, then tell the application."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._durable import Record
from ._messages import Envelope, Request


@dataclass(frozen=True, slots=True)
class Send:
    """Send one envelope to each named peer (Ed25519 public keys)."""

    recipients: tuple[bytes, ...]
    envelope: Envelope[Any]


@dataclass(frozen=True, slots=True)
class Executed:
    """A committed request the replicated application executed, in commit order."""

    seq: int
    request: Envelope[Request]
    result: bytes


@dataclass(frozen=True, slots=True)
class ViewChangeStarted:
    view: int


@dataclass(frozen=True, slots=True)
class ViewChanged:
    view: int
    primary: int


@dataclass(frozen=True, slots=True)
class CheckpointStable:
    seq: int
    state_digest: bytes


@dataclass(frozen=True, slots=True)
class RequestCommitted:
    seq: int
    client: bytes
    timestamp: int


@dataclass(frozen=True, slots=True)
class StateTransferred:
    checkpoint_seq: int
    last_executed_seq: int


@dataclass(frozen=True, slots=True)
class MessageRejected:
    """A peer's message broke the protocol; it was dropped and counted."""

    sender: bytes
    reason: str


@dataclass(frozen=True, slots=True)
class ByzantineDetected:
    """A replica signed two messages that contradict each other."""

    replica: int
    reason: str


Event = (
    ViewChangeStarted | ViewChanged | CheckpointStable | RequestCommitted | StateTransferred
    | MessageRejected | ByzantineDetected
)


@dataclass(frozen=True, slots=True)
class Ready:
    """One batch of work for the shell.

    The shell must make `persist` durable (fsync when `must_sync`) and call
    `Replica.persisted(token)` before any message in `send` leaves, then call
    `Replica.advance(ready)`. A replica that crashes and restarts from what it persisted
    can then never contradict a vote it already cast.
    """

    token: int
    persist: tuple[Record, ...]
    must_sync: bool
    send: tuple[Send, ...]
    execute: tuple[Executed, ...]
    events: tuple[Event, ...]
