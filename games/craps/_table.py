"""`CrapsTable`: craps and its chip ledger behind the game API (`bitcraps.games.Game`)."""

from __future__ import annotations

from .._api import Rejection, state_digest
from .._ledger import Ledger
from . import _codec
from ._actions import Action
from ._apply import apply
from ._config import TableConfig
from ._events import Event
from ._state import CrapsState
from ._validate import validate


class CrapsTable:
    """Stateless: every method is a pure function of its arguments.

    ``apply`` ignores ``seed``: the dice of a `Roll` come in the action, filled in by the table
    layer from the roll's seed (the mapping from seed to faces is the dice beacon's).
    """

    name = "craps"

    def initial_state(self, config: TableConfig | None = None) -> CrapsState:
        config = config if config is not None else TableConfig()
        return CrapsState(config=config, ledger=Ledger.open(config.bankroll))

    def validate(self, state: CrapsState, action: Action) -> Rejection | None:
        return validate(state, action)

    def apply(
        self, state: CrapsState, action: Action, seed: bytes = b""
    ) -> tuple[CrapsState, tuple[Event, ...]]:
        """The next state and its events; raises `ActionRejected` if ``validate`` rejects."""
        return apply(state, action)

    def encode_action(self, action: Action) -> bytes:
        return _codec.encode_action(action)

    def decode_action(self, data: bytes) -> Action:
        return _codec.decode_action(data)

    def encode_state(self, state: CrapsState) -> bytes:
        return _codec.encode_state(state)

    def decode_state(self, data: bytes) -> CrapsState:
        return _codec.decode_state(data)

    def encode_events(self, events: tuple[Event, ...]) -> bytes:
        return _codec.encode_events(events)

    def decode_events(self, data: bytes) -> tuple[Event, ...]:
        return _codec.decode_events(data)

    def digest(self, state: CrapsState) -> bytes:
        """SHA-256 of the canonical state: equal on every replica that applied the same log."""
        return state_digest(_codec.encode_state(state))
