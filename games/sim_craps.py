"""A craps table in the consensus simulator: real PBFT, real dice, Byzantine replicas.

Every simulated replica hosts a `CrapsApp` (fresh per replica and after each restart; state
transfer and crash recovery restore it from snapshots as they do any application) and the
`CrapsDuties` that say what it must post; its own client, signing with the replica's key,
posts them. Scripted players join, bet and roll. One seed decides everything (see
`_sim_craps_scenario`): the consensus faults of `bitcraps sim`, plus replicas that withhold
or corrupt their coin shares or run a Byzantine DKG participant. On top of the simulator's
own invariants the run checks convergence of the tables, chip conservation against what the
players were told, that every roll verifies and its dice are the seed's, consecutive rolls
with none applied twice, and that a dealer of bad shares is disqualified.

    result = run_craps_scenario(seed, 4, "all", make_signer, verify_batch, group)
    summary = run_craps_many(range(20), 4, "all", make_signer, verify_batch, group)

Crypto is injected: Ed25519 signing and verification, and the coin's group (the node passes
`bitcraps.accel._ed25519_group.SodiumEd25519Group`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from bitcraps.consensus import BatchVerifier, Client, Envelope, Reply, Signer
from bitcraps.consensus.sim import (
    HOSTILE_PAYLOAD,
    ReplicaNode,
    Rng,
    ScenarioResult,
    Simulation,
    WorkloadHost,
    key_seed,
    summarize,
)

from . import _coin as coin
from ._dkg_byzantine import DEALER_BEHAVIOURS
from ._sim_craps_checks import TableExpectations, check_tables
from ._sim_craps_duties import DutyCounts, Hostile, ReplicaClient
from ._sim_craps_hostile import OperationSamples, craps_hostile_operation
from ._sim_craps_players import Player, PlayerCounts
from ._sim_craps_scenario import (
    CRAPS_FAULT_KINDS,
    TABLE_FAULTS,
    CrapsScenario,
    TableFaults,
    make_craps_scenario,
    parse_craps_faults,
)
from ._sim_craps_table import ObservedTable, RollWatch
from .craps_app import CrapsApp
from .craps_duties import CrapsDuties

__all__ = [
    "CRAPS_FAULT_KINDS", "TABLE_FAULTS", "CrapsScenario", "CrapsWorkload", "TableExpectations",
    "TableFaults", "check_tables", "make_craps_scenario", "parse_craps_faults",
    "run_craps_many", "run_craps_scenario", "summarize_craps",
]

SignerFactory = Callable[[bytes], Signer]
READY_WAIT_TICKS = 40
"""How long a shooter waits for a player who has not finished betting before it rolls."""


def dkg_seed(seed: int, index: int) -> bytes:
    return hashlib.sha256(f"bitcraps/sim/craps/dkg/{seed}/{index}".encode()).digest()


class CrapsWorkload:
    """The simulator's `Workload` for one craps scenario."""

    def __init__(self, scenario: CrapsScenario, make_signer: SignerFactory,
                 group: coin.Group) -> None:
        self.sc = scenario
        self.group = group
        self._make_signer = make_signer
        self._host: WorkloadHost | None = None
        self.watch = RollWatch(self._report)
        self.duty_counts = DutyCounts()
        self.player_counts = PlayerCounts()
        self.clients: dict[int, ReplicaClient] = {}
        self.players: list[Player] = []
        self._ready_since: dict[int, int] = {}
        self.dkg_complete_tick = 0
        self.samples = OperationSamples()

    @property
    def host(self) -> WorkloadHost:
        if self._host is None:
            raise RuntimeError("the craps workload is not attached to a simulation")
        return self._host

    @property
    def endpoints(self) -> tuple[int, ...]:
        return tuple(self.sc.player_endpoint(p) for p in range(self.sc.players))

    def honest_at_table(self, index: int) -> bool:
        return (index not in self.sc.base.byzantine_indices
                and self.sc.faulty_at_table(index) is None)

    # --- Workload ------------------------------------------------------------------------

    def make_app(self, index: int) -> ObservedTable:
        config = self.host.config
        table = CrapsApp(config.table_id, config.replicas, self.sc.table_config, self.group)
        watched = index not in self.sc.base.byzantine_indices
        return ObservedTable(table, index, self.watch if watched else None)

    def attach(self, host: WorkloadHost) -> None:
        self._host = host
        rng = Rng(f"craps/run/{self.sc.seed}/{self.sc.replicas}")
        retransmit = self.sc.base.tunables.client_retransmit_ticks
        for p, buy_in in enumerate(self.sc.buy_ins):
            signer = self._make_signer(key_seed(self.sc.seed, f"craps/player/{p}"))
            client = Client(host.config, signer, retransmit_timeout_ticks=retransmit)
            host.route(signer.public_key, self.sc.player_endpoint(p))
            self.players.append(Player(self.sc.player_endpoint(p), client, rng.fork(f"player/{p}"),
                                       buy_in, self.sc.rolls, self.player_counts,
                                       never_rolls=p in self.sc.idle_players))

    def deliver(self, endpoint: int, envelope: Envelope[Any]) -> bool:
        for player in self.players:
            if player.endpoint == endpoint:
                player.client.step(envelope)
                return True
        replica_client = self.clients.get(endpoint)
        if replica_client is not None and type(envelope.message) is Reply:
            replica_client.client.step(envelope)
            return True
        return False

    def tick(self, now: int) -> None:
        for node in list(self.host.nodes.values()):
            self._tend_replica(node, now)
        view = self.view()
        if view is not None and view.dice_ready and not self.dkg_complete_tick:
            self.dkg_complete_tick = now
        for player in self.players:
            self._tend_player(player, view, now)

    def finished(self) -> bool:
        view = self.view()
        if view is None or view.state.roll_number < self.sc.rolls or view.state.roll_pending:
            return False
        if not all(player.idle for player in self.players):
            return False
        return all(self.clients[n.endpoint].idle for n in self.host.nodes.values()
                   if n.honest and n.up and n.endpoint in self.clients)

    def final(self, replicas: Mapping[int, ReplicaNode]) -> None:
        for text in check_tables(self.tables(replicas), self.expectations(),
                                 self.participants()):
            self.host.violate(text)

    def hostile_operation(self, rng: Rng) -> bytes:
        return craps_hostile_operation(rng, self.samples)

    def statistics(self) -> dict[str, int]:
        view = self.view()
        d, p = self.duty_counts, self.player_counts
        stats = {
            "rolls": view.state.roll_number if view is not None else 0,
            "rolls_applied": self.watch.applied, "bets_placed": p.bets_placed,
            "bets_rejected": p.bets_rejected, "actions_rejected": p.actions_rejected,
            "roll_requests": p.roll_requests, "chips_bought_in": p.bought_in,
            "chips_cashed_out": p.cashed_out, "duties_posted": d.posted,
            "duties_refused": d.refused, "shares_withheld": d.withheld,
            "shares_corrupted": d.corrupted, "stale_shares_dropped": d.dropped_stale,
            "hostile_by_replicas": d.hostile,
            "max_dkg_ticks": self.dkg_complete_tick,
        }
        if view is not None and view.dice_ready:
            stats["dkg_disqualified"] = len(view.dkg.disqualified)
            stats["dkg_complaints"] = sum(len(message.complaints)
                                          for _, message in view.dkg.transcript
                                          if isinstance(message, coin.DkgComplaints))
            stats["byzantine_dealers_excluded"] = sum(
                1 for index, faults in self.sc.table_faults
                if faults.dkg_behaviour in DEALER_BEHAVIOURS and index not in view.dkg.key.dealers)
        return stats

    def status(self) -> str:
        view = self.view()
        if view is None:
            return "craps: no honest replica is up"
        state = view.state
        return (f"craps: DKG {view.dkg.phase.name}, roll {state.roll_number} of "
                f"{self.sc.rolls}{' pending' if state.roll_pending else ''}, "
                f"{sum(1 for p in self.players if not p.idle)} player(s) waiting, "
                f"{sum(len(c.queue) for c in self.clients.values())} duties queued")

    # --- what the final check looks at -------------------------------------------------------

    def tables(self, replicas: Mapping[int, ReplicaNode]) -> dict[int, CrapsApp]:
        """The honest replicas' tables by replica index."""
        return {node.index: _table(node) for node in replicas.values()}

    def expectations(self) -> TableExpectations:
        honest = frozenset(i for i in range(self.sc.replicas) if self.honest_at_table(i))
        return TableExpectations(self.group, self.sc.rolls, self.player_counts.bought_in,
                                 self.player_counts.cashed_out, honest)

    def participants(self) -> dict[int, coin.DkgParticipant]:
        return {c.index: c.duties.participant for c in self.clients.values()
                if self.honest_at_table(c.index)}

    def view(self) -> CrapsApp | None:
        """The table as a player's node reads it: the most advanced honest replica's."""
        best: ReplicaNode | None = None
        for node in self.host.nodes.values():
            if node.up and node.honest and self.honest_at_table(node.index) and (
                    best is None or node.live().last_executed_seq > best.live().last_executed_seq):
                best = node
        return None if best is None else _table(best)

    # --- the clients -----------------------------------------------------------------------

    def _tend_replica(self, node: ReplicaNode, now: int) -> None:
        host = self.host
        current = self.clients.get(node.endpoint)
        if current is not None and (not node.up or current.table is not _table(node)):
            if current.outstanding is not None:
                host.abandoned(current.key, current.outstanding)
            del self.clients[node.endpoint]
            current = None
        if not node.up:
            return
        if current is None:
            current = self._replica_client(node, now)
            self.clients[node.endpoint] = current
        for done in current.take_completed():
            host.completed(current.key, done)
        envelope = current.next_request()
        if envelope is not None:
            host.submitted(envelope, live=node.honest)
            if node.honest:
                self.samples.add(envelope.message.operation)
        current.client.tick()
        host.send_from(node.endpoint, current.client.take_sends())

    def _replica_client(self, node: ReplicaNode, now: int) -> ReplicaClient:
        table, index = _table(node), node.index
        faults = self.sc.faulty_at_table(index)
        seed = dkg_seed(self.sc.seed, index)
        participant = None
        if faults is not None and faults.dkg_behaviour is not None:
            participant = coin.ByzantineDkgParticipant(
                self.group, table.dkg_config, index, seed, faults.dkg_behaviour,
                phase_timeout_ticks=self.sc.phase_timeout_ticks)
        duties = CrapsDuties(table, index, seed, phase_timeout_ticks=self.sc.phase_timeout_ticks,
                             participant=participant)
        hostile = None
        if HOSTILE_PAYLOAD in dict(self.sc.base.byzantine).get(index, ()):
            rng = Rng(f"craps/hostile/{self.sc.seed}/{index}/{now}")
            hostile = Hostile(rng, self.hostile_operation)
        return ReplicaClient(index, table, duties, node.signer, self.host.config, faults, now,
                             self.sc.base.tunables.client_retransmit_ticks, self.duty_counts,
                             hostile)

    def _tend_player(self, player: Player, view: CrapsApp | None, now: int) -> None:
        host = self.host
        for done in player.take_completed():
            host.completed(player.key, done)

        def may_roll(roll: int) -> bool:
            return self._may_roll(roll, view, now)

        envelope = player.submit(None if view is None else view.state, may_roll)
        if envelope is not None:
            host.submitted(envelope, live=True)
            self.samples.add(envelope.message.operation)
        player.client.tick()
        host.send_from(player.endpoint, player.client.take_sends())

    def _may_roll(self, roll: int, view: CrapsApp | None, now: int) -> bool:
        """The shooter may ask for `roll`: the dice key is ready, the script wants the roll
        now (its last few wait for the faults to stop), and everyone has bet or waited."""
        sc = self.sc
        if view is None or not view.dice_ready or roll >= sc.rolls:
            return False
        if roll >= sc.rolls - sc.held_rolls and now < sc.base.faults_end_tick:
            return False
        since = self._ready_since.setdefault(roll, now)
        return all(p.ready_for(roll) for p in self.players) or now - since >= READY_WAIT_TICKS

    def _report(self, text: str) -> None:
        self.host.violate(text)


def _table(node: ReplicaNode) -> CrapsApp:
    app = node.app
    if not isinstance(app, ObservedTable):
        raise TypeError(f"replica node {node.endpoint} does not run a craps table")
    return app.table


def run_craps_scenario(seed: int, replicas: int, faults: str, make_signer: SignerFactory,
                       verify_batch: BatchVerifier, group: coin.Group) -> ScenarioResult:
    """Run the craps scenario one seed gives. Deterministic: same arguments, same result."""
    scenario = make_craps_scenario(seed, replicas, faults)
    result = Simulation(scenario.base, make_signer, verify_batch,
                        CrapsWorkload(scenario, make_signer, group)).run()
    result.faults = scenario.faults
    result.replay = scenario.replay_command()
    return result


def run_craps_many(seeds: list[int] | range, replicas: int, faults: str,
                   make_signer: SignerFactory, verify_batch: BatchVerifier, group: coin.Group,
                   progress: Callable[[ScenarioResult], None] | None = None) -> dict[str, Any]:
    """Run each seed; the simulator's summary plus the total number of rolls."""
    results = []
    for seed in seeds:
        result = run_craps_scenario(seed, replicas, faults, make_signer, verify_batch, group)
        results.append(result)
        if progress is not None:
            progress(result)
    return summarize_craps(results, replicas, faults)


def summarize_craps(results: list[ScenarioResult], replicas: int, faults: str) -> dict[str, Any]:
    summary = summarize(results, replicas, faults)
    summary["game"] = "craps"
    summary["rolls"] = summary["totals"].get("rolls", 0)
    return summary
