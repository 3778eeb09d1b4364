"""A table's DKG among in-process replicas over one ordered log, honest and Byzantine.

Rounds stand in for PBFT: each round every replica's outbox is submitted (each distinct
message once), the round's submissions are ordered (a permutation drawn from `order_seed`,
as a primary might choose) and every replica applies them, after a trip through the wire
codec, to its own `DkgState`; then every replica ticks. It stops when every replica's state
is complete or failed, or after `max_rounds`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ._coin_group import Group
from ._coin_hash import SIMULATION, tagged_hash
from ._dkg_byzantine import ByzantineDkgParticipant
from ._dkg_config import OPEN_PHASES, DkgConfig
from ._dkg_events import DkgEvent
from ._dkg_messages import DkgMessage, decode_dkg_message, encode_dkg_message
from ._dkg_participant import DkgParticipant
from ._dkg_state import DkgState


@dataclass
class DkgRun:
    """Each replica's own public state, each replica's participant, the ordered log (rejected
    messages included) and the events as replica 0's state reported them (all states agree)."""

    states: dict[int, DkgState]
    participants: dict[int, DkgParticipant]
    log: list[tuple[int, DkgMessage]] = field(default_factory=list)
    events: list[tuple[int, DkgEvent]] = field(default_factory=list)
    rounds: int = 0

    @property
    def finished(self) -> bool:
        return all(state.phase not in OPEN_PHASES for state in self.states.values())


def _round_order(order_seed: bytes, round_number: int, replicas: int) -> list[int]:
    def rank(replica: int) -> bytes:
        return tagged_hash(SIMULATION, order_seed, b"order", round_number.to_bytes(4, "big"),
                           replica.to_bytes(2, "big"))

    return sorted(range(replicas), key=rank)


def make_participants(group: Group, config: DkgConfig, seeds: Sequence[bytes],
                      behaviours: Mapping[int, str], phase_timeout_ticks: int
                      ) -> dict[int, DkgParticipant]:
    if len(seeds) != config.replicas:
        raise ValueError(f"one seed per replica: {config.replicas} needed, {len(seeds)} given")
    participants: dict[int, DkgParticipant] = {}
    for replica, seed in enumerate(seeds):
        behaviour = behaviours.get(replica)
        participants[replica] = (
            DkgParticipant(group, config, replica, seed, phase_timeout_ticks)
            if behaviour is None else
            ByzantineDkgParticipant(group, config, replica, seed, behaviour,
                                    phase_timeout_ticks=phase_timeout_ticks)
        )
    return participants


def simulate_dkg(group: Group, config: DkgConfig, seeds: Sequence[bytes],
                 behaviours: Mapping[int, str] | None = None, order_seed: bytes = b"",
                 phase_timeout_ticks: int = 3, max_rounds: int = 100) -> DkgRun:
    """Run the DKG; `behaviours` maps a replica to a Byzantine behaviour's name."""
    participants = make_participants(group, config, seeds, behaviours or {},
                                     phase_timeout_ticks)
    run = DkgRun({r: DkgState(group, config) for r in participants}, participants)
    submitted: set[bytes] = set()
    while not run.finished and run.rounds < max_rounds:
        batch: list[tuple[int, bytes]] = []
        for replica in _round_order(order_seed, run.rounds, config.replicas):
            for message in participants[replica].outbox(run.states[replica]):
                wire = encode_dkg_message(message)
                if wire not in submitted:
                    submitted.add(wire)
                    batch.append((replica, wire))
        for sender, wire in batch:
            run.log.append((sender, decode_dkg_message(wire)))
            position = len(run.log) - 1
            for replica, state in run.states.items():
                events = state.apply(sender, decode_dkg_message(wire))
                if replica == 0:
                    run.events.extend((position, event) for event in events)
        for replica, participant in participants.items():
            participant.tick(run.states[replica])
        run.rounds += 1
    return run
