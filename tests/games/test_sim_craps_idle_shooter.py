"""A griefing player in the craps simulator: it sits down and bets but never asks for a roll.
Each time the dice reach it the replicas' timeout votes take them away, and the table makes
every roll the other shooters ask for, within the scenario's tick bound, under consensus
faults too. Each case is a fixed (faults, seed); a failure prints the command that replays it.
"""

from __future__ import annotations

import pytest

from bitcraps.accel._ed25519_cpu import Ed25519Signer, verify_one
from bitcraps.accel._ed25519_group import SodiumEd25519Group
from bitcraps.consensus.sim import Simulation
from bitcraps.games.craps import RollCall, Rolled
from bitcraps.games.sim_craps import CrapsWorkload, make_craps_scenario, parse_craps_faults

GROUP = SodiumEd25519Group()


def verify_batch(checks: list[tuple[bytes, bytes, bytes]]) -> list[bool]:
    return [verify_one(pk, msg, sig) for pk, msg, sig in checks]


@pytest.mark.parametrize(("faults", "seed"), [
    ("idle_shooter", 3),  # the idle player sat down first: it holds the first dice
    ("idle_shooter", 1),
    ("idle_shooter,crash,drop,equivocate", 1),
])
def test_a_player_who_never_rolls_cannot_stop_the_table(faults: str, seed: int) -> None:
    scenario = make_craps_scenario(seed, 4, faults)
    workload = CrapsWorkload(scenario, Ed25519Signer, GROUP)
    result = Simulation(scenario.base, Ed25519Signer, verify_batch, workload).run()
    result.replay = scenario.replay_command()
    assert result.ok and result.live, result.describe()
    assert scenario.idle_players and "idle_shooter" in scenario.faults
    view = workload.view()
    assert view is not None and view.state.roll_number == scenario.rolls
    idle = {workload.players[index].key for index in scenario.idle_players}
    assert not idle & {rolled.shooter for rolled in view.rolls.values()}, "the idle one rolled"
    seven_outs = sum(1 for rolled in view.rolls.values()
                     for event in view.game.decode_events(rolled.events)
                     if isinstance(event, Rolled) and event.call is RollCall.SEVEN_OUT)
    passes = view.state.hand - 1 - seven_outs  # nobody leaves: the rest were timeouts
    assert passes >= 1, "the dice never had to be taken from the idle player"


def test_the_idle_shooter_is_a_players_fault_not_a_replicas() -> None:
    assert parse_craps_faults("idle_shooter") == ("idle_shooter",)
    scenario = make_craps_scenario(0, 4, "idle_shooter")
    assert scenario.table_faults == () and scenario.base.faults == ()
    assert len(scenario.idle_players) == 1 < scenario.players
    assert make_craps_scenario(0, 4, "none").idle_players == ()
    drawn = [make_craps_scenario(seed, 4, "all").idle_players for seed in range(40)]
    assert any(drawn) and not all(drawn)
