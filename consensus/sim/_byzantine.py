"""Byzantine replica behaviours: filters around an honest replica's outgoing messages.

A faulty replica in the simulator is an honest `Replica` whose sends pass through one or
more behaviours before they reach the network. A behaviour may drop, alter or add messages,
and it signs what it forges with the faulty replica's own key, exactly what a real attacker
holding that key could do. It cannot sign as anyone else; it can replay what others signed.
Twins (two copies of one replica) are wired up by the runner, not here.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .._config import ReplicaConfig
from .._crypto import Signer
from .._messages import (
    Checkpoint,
    Commit,
    Envelope,
    Message,
    NewView,
    Prepare,
    PrePrepare,
    Reply,
    Request,
    ViewChange,
    signing_bytes,
)
from .._ready import Send
from .._view_change import new_view_batches
from ._rng import Rng

REPLICA_BEHAVIOURS = ("silent", "equivocate", "wrong_digest", "stale", "twins")


@dataclass
class Context:
    """What a behaviour works with: the faulty replica's key, the table, randomness, the clock."""

    signer: Signer
    config: ReplicaConfig
    rng: Rng
    now_ticks: int = 0
    forged: int = 0

    @property
    def me(self) -> bytes:
        return self.signer.public_key

    def forge(self, message: Message) -> Envelope[Any]:
        """Sign `message` with the faulty replica's own key."""
        self.forged += 1
        table = self.config.table_id
        signature = self.signer.sign(signing_bytes(table, self.me, message))
        return Envelope(table, self.me, message, signature)

    def others(self) -> tuple[bytes, ...]:
        return tuple(k for k in self.config.replicas if k != self.me)


class Behaviour:
    name: ClassVar[str] = ""

    def observe(self, ctx: Context, envelope: Envelope[Any]) -> None:
        """A verified message delivered to the faulty replica."""

    def outgoing(self, ctx: Context, sends: list[Send]) -> list[Send]:
        return sends

    def spontaneous(self, ctx: Context) -> list[Send]:
        """Messages sent on a tick of the attacker's own choosing."""
        return []


class Silent(Behaviour):
    name = "silent"

    def outgoing(self, ctx: Context, sends: list[Send]) -> list[Send]:
        return []


def _halves(ctx: Context, recipients: tuple[bytes, ...]) -> tuple[tuple[bytes, ...], ...]:
    shuffled = list(recipients)
    ctx.rng.shuffle(shuffled)
    cut = max(1, len(shuffled) // 2)
    return tuple(shuffled[:cut]), tuple(shuffled[cut:])


@dataclass
class EquivocatingPrimary(Behaviour):
    """As primary, tells half the replicas one batch and the other half another.

    Pre-prepares get a batch with a request dropped, the order reversed, or (for an empty
    batch) a request added. A NEW-VIEW goes out built from a different quorum of VIEW-CHANGEs
    to half the replicas when more than a quorum arrived, else with one re-proposed batch
    swapped (which honest replicas must reject).
    """

    name: ClassVar[str] = "equivocate"
    probability: float = 0.8
    requests: deque[Envelope[Request]] = field(default_factory=lambda: deque(maxlen=64))
    view_changes: dict[int, dict[bytes, Envelope[ViewChange]]] = field(default_factory=dict)

    def observe(self, ctx: Context, envelope: Envelope[Any]) -> None:
        message = envelope.message
        if type(message) is Request:
            self.requests.append(envelope)
        elif type(message) is ViewChange:
            views = self.view_changes.setdefault(message.new_view, {})
            views[envelope.sender] = envelope
            for old in [v for v in self.view_changes if v < message.new_view - 4]:
                del self.view_changes[old]

    def outgoing(self, ctx: Context, sends: list[Send]) -> list[Send]:
        out: list[Send] = []
        for send in sends:
            message = send.envelope.message
            forged: Envelope[Any] | None = None
            mine = send.envelope.sender == ctx.me
            if mine and len(send.recipients) >= 2 and ctx.rng.chance(self.probability):
                if type(message) is PrePrepare:
                    forged = ctx.forge(PrePrepare(message.view, message.seq,
                                                  self._other_batch(ctx, message.requests)))
                elif type(message) is NewView:
                    forged = self._other_new_view(ctx, send.envelope)
            if type(message) is ViewChange and mine:
                self.observe(ctx, send.envelope)
            if forged is None or forged == send.envelope:
                out.append(send)
                continue
            first, second = _halves(ctx, send.recipients)
            out.append(Send(first, send.envelope))
            out.append(Send(second, forged))
        return out

    def _other_batch(self, ctx: Context, batch: tuple[Envelope[Request], ...]
                     ) -> tuple[Envelope[Request], ...]:
        if len(batch) >= 2 and ctx.rng.chance(0.5):
            return tuple(reversed(batch))
        if batch:
            drop = ctx.rng.below(len(batch))
            return batch[:drop] + batch[drop + 1:]
        extra = [r for r in self.requests if r not in batch]
        return (ctx.rng.choice(extra),) if extra else batch

    def _other_new_view(self, ctx: Context, envelope: Envelope[NewView]) -> Envelope[Any]:
        new_view = envelope.message
        quorum = ctx.config.quorum
        pool = list(self.view_changes.get(new_view.view, {}).values())
        chosen = set(new_view.view_changes)
        if len(pool) > quorum:
            alternative = ctx.rng.sample(pool, quorum)
            if set(alternative) != chosen:
                alternative.sort(key=lambda e: ctx.config.replicas.index(e.sender))
                return self._new_view_from(ctx, new_view.view, tuple(alternative))
        if not new_view.pre_prepares:
            return envelope
        pre_prepares = list(new_view.pre_prepares)
        i = ctx.rng.below(len(pre_prepares))
        old = pre_prepares[i].message
        pre_prepares[i] = ctx.forge(PrePrepare(old.view, old.seq,
                                               self._other_batch(ctx, old.requests)))
        return ctx.forge(NewView(new_view.view, new_view.view_changes, tuple(pre_prepares)))

    def _new_view_from(self, ctx: Context, view: int,
                       view_changes: tuple[Envelope[ViewChange], ...]) -> Envelope[Any]:
        _, batches = new_view_batches([vc.message for vc in view_changes])
        pre_prepares = tuple(ctx.forge(PrePrepare(view, seq, requests))
                             for seq, requests in batches)
        return ctx.forge(NewView(view, view_changes, pre_prepares))


@dataclass
class WrongDigest(Behaviour):
    """Prepares, commits and checkpoints with random digests; replies with random results."""

    name: ClassVar[str] = "wrong_digest"
    probability: float = 0.6

    def outgoing(self, ctx: Context, sends: list[Send]) -> list[Send]:
        out: list[Send] = []
        for send in sends:
            envelope = send.envelope
            if envelope.sender != ctx.me or not ctx.rng.chance(self.probability):
                out.append(send)
                continue
            for recipient in send.recipients:
                out.append(Send((recipient,), self._corrupt(ctx, envelope)))
        return out

    def _corrupt(self, ctx: Context, envelope: Envelope[Any]) -> Envelope[Any]:
        message = envelope.message
        kind = type(message)
        if kind is Prepare or kind is Commit:
            return ctx.forge(kind(message.view, message.seq, ctx.rng.token_bytes(32)))
        if kind is Checkpoint:
            return ctx.forge(Checkpoint(message.seq, ctx.rng.token_bytes(32)))
        if kind is Reply:
            result = ctx.rng.token_bytes(ctx.rng.randint(0, 16))
            return ctx.forge(Reply(message.view, message.client, message.timestamp, result))
        return envelope


@dataclass
class StaleReplay(Behaviour):
    """Re-sends old messages, its own and other replicas' (still validly signed)."""

    name: ClassVar[str] = "stale"
    probability: float = 0.3
    history: deque[Envelope[Any]] = field(default_factory=lambda: deque(maxlen=256))

    def observe(self, ctx: Context, envelope: Envelope[Any]) -> None:
        self.history.append(envelope)

    def outgoing(self, ctx: Context, sends: list[Send]) -> list[Send]:
        for send in sends:
            self.history.append(send.envelope)
        return sends

    def spontaneous(self, ctx: Context) -> list[Send]:
        if not self.history or not ctx.rng.chance(self.probability):
            return []
        others = ctx.others()
        out = []
        for _ in range(ctx.rng.randint(1, 3)):
            envelope = ctx.rng.choice(self.history)
            recipients = tuple(ctx.rng.sample(others, ctx.rng.randint(1, len(others))))
            out.append(Send(recipients, envelope))
        return out


def make_behaviour(name: str) -> Behaviour | None:
    """The filter for a behaviour name; None for twins, which is wiring rather than a filter,
    and for hostile_payload, whose submissions the runner (or a workload) makes."""
    if name == "silent":
        return Silent()
    if name == "equivocate":
        return EquivocatingPrimary()
    if name == "wrong_digest":
        return WrongDigest()
    if name == "stale":
        return StaleReplay()
    if name in ("twins", "hostile_payload"):
        return None
    raise ValueError(f"unknown replica behaviour {name!r}")
