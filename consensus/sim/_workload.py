"""A workload: what a scenario runs on top of its replicas in place of the key-value clients.

The key-value clients exercise the protocol; a workload brings a real application and the
clients that drive it (a game table, its players, each replica's own client for what the
replica itself must post). The runner asks it for each replica's application (again after
every restart, as a node rebuilds its state from its durable log), hands it every frame for
an endpoint it owns and every reply addressed to a replica's key (a node's own client takes
those, not its replica), and calls `tick` once per tick after the key-value clients ran.

The workload talks back through the `WorkloadHost` it is attached to: requests it signs are
registered there (so validity and exactly-once cover them, and liveness where asked), their
completions too, and it sends its frames and reports its own violations there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from .._app import Application
from .._client import Completed
from .._config import ReplicaConfig
from .._messages import Envelope, Request
from .._ready import Send
from ._nodes import ReplicaNode
from ._rng import Rng
from ._scenario import Scenario


class WorkloadHost(Protocol):
    """What a running simulation offers its workload."""

    s: Scenario
    config: ReplicaConfig
    nodes: dict[int, ReplicaNode]
    now: int

    def submitted(self, envelope: Envelope[Request], *, live: bool) -> None:
        """A request the workload signed and is sending now; with `live`, liveness waits for
        it to complete within the scenario's bound."""

    def completed(self, client: bytes, done: Completed) -> None:
        """A request of the workload's clients completed (f+1 matching replies)."""

    def abandoned(self, client: bytes, timestamp: int) -> None:
        """A request whose client is gone (its node crashed): liveness stops waiting for it."""

    def route(self, key: bytes, endpoint: int) -> None:
        """Frames addressed to `key` (replies to a workload client) go to `endpoint`."""

    def send_from(self, endpoint: int, sends: list[Send]) -> None: ...

    def violate(self, text: str) -> None: ...


class Workload(Protocol):
    @property
    def endpoints(self) -> tuple[int, ...]:
        """Network endpoints the workload's own clients use (not the replicas')."""

    def make_app(self, index: int) -> Application:
        """A fresh application for replica `index` (also for a copy of it, and on restart)."""

    def attach(self, host: WorkloadHost) -> None:
        """Called once, before the replicas are built: `host.config` is set, `host.nodes`
        fills in as they are built (each calling `make_app`)."""

    def deliver(self, endpoint: int, envelope: Envelope[Any]) -> bool:
        """A verified frame for `endpoint`; True when the workload took it."""

    def tick(self, now: int) -> None: ...

    def finished(self) -> bool:
        """Nothing more to do: the run may end once the replicas agree."""

    def final(self, replicas: Mapping[int, ReplicaNode]) -> None:
        """Check the workload's own invariants over the honest, live replica nodes at the
        end of a quiescent run, reporting through `WorkloadHost.violate`."""

    def statistics(self) -> dict[str, int]: ...

    def hostile_operation(self, rng: Rng) -> bytes:
        """One structurally hostile operation for this application (scenarios with the
        hostile_payload fault: its client signs these; the workload's own replica clients
        post them for replicas whose behaviours include hostile_payload)."""

    def status(self) -> str:
        """One line on what is still under way, for a run that did not finish."""
