"""Simulated processes: a replica with its durable log (and maybe Byzantine filters), a client.

A replica node is what the node daemon's table task does, minus I/O: feed verified
messages and ticks to the `Replica`, then for each `Ready` write `persist` to durable
storage, acknowledge it, hand the sends to the network and advance. A crash throws the
`Replica` object away together with whatever it had not yet handed out; a restart rebuilds
it from the durable log alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._app import Application, KeyValueApp
from .._client import Client, Completed
from .._codec import pack
from .._config import ReplicaConfig
from .._crypto import Signer
from .._durable import DurableLog
from .._messages import Envelope, Request
from .._ready import Ready, Send
from .._replica import Replica
from ._byzantine import Behaviour, Context
from ._rng import Rng


@dataclass
class ReplicaNode:
    endpoint: int
    index: int
    signer: Signer
    config: ReplicaConfig
    rng: Rng
    honest: bool
    behaviours: list[Behaviour] = field(default_factory=list)
    durable: DurableLog = field(default_factory=DurableLog)
    replica: Replica | None = None
    crashes: int = 0
    context: Context | None = None
    make_app: Callable[[], Application] = KeyValueApp
    app: Application = field(init=False)

    def __post_init__(self) -> None:
        if self.behaviours:
            self.context = Context(self.signer, self.config, self.rng.fork("behaviour"))
        self.app = self.make_app()
        self.replica = Replica(self.config, self.app, self.signer,
                               jitter_seed=self.rng.next_u64())

    @property
    def up(self) -> bool:
        return self.replica is not None

    def live(self) -> Replica:
        if self.replica is None:
            raise RuntimeError(f"replica node {self.endpoint} is down")
        return self.replica

    def crash(self, after_persist: bool) -> None:
        """Stop. With after_persist, the pending Ready reached the disk, but nothing left."""
        replica = self.live()
        if after_persist and replica.has_ready():
            ready = replica.ready()
            self.durable.write(ready.persist, sync=ready.must_sync)
        self.replica = None
        self.crashes += 1

    def restart(self) -> None:
        """Come back with a fresh application and only what the durable log holds."""
        self.app = self.make_app()
        self.replica = Replica.recover(self.config, self.app, self.signer,
                                       self.durable.records(), jitter_seed=self.rng.next_u64())

    def step(self, envelope: Envelope[Any], now: int) -> None:
        if self.context is not None:
            self.context.now_ticks = now
            for behaviour in self.behaviours:
                behaviour.observe(self.context, envelope)
        self.live().step(envelope)

    def drain(self, now: int, on_ready: Callable[[Ready], None]) -> list[Send]:
        """Handle every Ready in order (persist, acknowledge, send, advance); return the sends."""
        replica = self.live()
        sends: list[Send] = []
        while replica.has_ready():
            ready = replica.ready()
            self.durable.write(ready.persist, sync=ready.must_sync)
            replica.persisted(ready.token)
            sends.extend(ready.send)
            on_ready(ready)
            replica.advance(ready)
        if self.context is None:
            return sends
        self.context.now_ticks = now
        for behaviour in self.behaviours:
            sends = behaviour.outgoing(self.context, sends)
        for behaviour in self.behaviours:
            sends.extend(behaviour.spontaneous(self.context))
        return sends


KEYS = (b"chips", b"pot", b"table", b"bank")


@dataclass
class ClientNode:
    """An honest client: one request outstanding, the next after a short think time.

    Its last `held` requests wait for `release_tick` (when the faults stop)."""

    endpoint: int
    client: Client
    rng: Rng
    remaining: int
    next_submit_tick: int
    held: int = 0
    release_tick: int = 0

    @property
    def key(self) -> bytes:
        return self.client.signer.public_key

    @property
    def finished(self) -> bool:
        return self.remaining == 0 and not self.client.busy

    def maybe_submit(self, now: int) -> Envelope[Request] | None:
        if self.client.busy or self.remaining == 0 or now < self.next_submit_tick:
            return None
        if self.remaining <= self.held and now < self.release_tick:
            return None
        self.remaining -= 1
        return self.client.submit(self._operation())

    def take_completed(self, now: int) -> list[Completed]:
        done = self.client.take_completed()
        if done:
            self.next_submit_tick = now + self.rng.randint(0, 5)
        return done

    def _operation(self) -> bytes:
        key = self.rng.choice(KEYS)
        roll = self.rng.below(10)
        if roll < 6:
            return pack([b"add", key, self.rng.randint(-100, 100)])
        if roll < 8:
            return pack([b"put", key, self.rng.token_bytes(self.rng.randint(0, 8))])
        if roll < 9:
            return pack([b"get", key])
        return pack([b"nonsense", key])
