"""A craps-table scenario for the simulator: what one seed decides before the run starts.

It starts from the consensus scenario the same seed gives (network faults, crashes,
Byzantine replica behaviours, a Byzantine client, the protocol's tunables), drops its
key-value clients, and adds the table: 2-3 scripted players with their buy-ins, how many
rolls the shooters ask for, the DKG's phase timeout, and what a faulty replica does at the
table on top of (or instead of) any consensus behaviour:

| fault kind        | the faulty replica ...                                            |
|-------------------|-------------------------------------------------------------------|
| `withhold_shares` | never posts its coin share for a roll                             |
| `corrupt_shares`  | posts a coin share for a wrong value, which the table refuses    |
| `bad_dkg`         | runs a `ByzantineDkgParticipant` (bad dealing, false complaints, |
|                   | or silence; the behaviour is drawn from the seed)                |

A player may be an `idle_shooter`: it sits down and bets but never asks for a roll, so the
table must take the dice from it (the replicas' timeout votes) each time they reach it.
That fault is a player's, drawn apart from the replicas' (its own fork of the seed).

At most f replicas are faulty at any time: the table faults go to a replica that is already
Byzantine when there is one; otherwise that replica becomes faulty too, and the crash plan is
thinned so crashed honest replicas and faulty ones together never exceed f.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from bitcraps.consensus.sim import FAULT_KINDS, CrashPlan, Rng, Scenario, make_scenario

from ._dkg_byzantine import BEHAVIOURS as DKG_BEHAVIOURS
from .craps import TableConfig

__all__ = ["CRAPS_FAULT_KINDS", "TABLE_FAULTS", "CrapsScenario", "TableFaults",
           "make_craps_scenario", "parse_craps_faults"]

TABLE_FAULTS = ("withhold_shares", "corrupt_shares", "bad_dkg")
PLAYER_FAULTS = ("idle_shooter",)
CRAPS_FAULT_KINDS = (*FAULT_KINDS, *TABLE_FAULTS, *PLAYER_FAULTS)
SHOOTER_TIMEOUT_TICKS = 100
TABLE_CONFIG = TableConfig(min_bet=5, max_bet=500, bankroll=250_000,
                           shooter_timeout_ticks=SHOOTER_TIMEOUT_TICKS)
BUY_INS = (1_000, 1_500, 2_000, 3_000)
ROLL_ALLOWANCE_TICKS = 150
"""Ticks allowed per scripted roll (its bets, the request, the coin shares), faults and all."""


@dataclass(frozen=True, slots=True)
class TableFaults:
    """What one faulty replica does at the table. With both share faults it withholds its
    share for even rolls and corrupts it for odd ones."""

    withhold_shares: bool = False
    corrupt_shares: bool = False
    dkg_behaviour: str | None = None

    def kinds(self) -> tuple[str, ...]:
        flags = (self.withhold_shares, self.corrupt_shares, self.dkg_behaviour is not None)
        return tuple(kind for kind, on in zip(TABLE_FAULTS, flags, strict=True) if on)


@dataclass(frozen=True, slots=True)
class CrapsScenario:
    base: Scenario
    faults_spec: str
    table_faults: tuple[tuple[int, TableFaults], ...]
    buy_ins: tuple[int, ...]
    rolls: int
    held_rolls: int
    phase_timeout_ticks: int
    table_config: TableConfig = TABLE_CONFIG
    idle_players: tuple[int, ...] = ()
    """Players (by index) who never roll: the `idle_shooter` fault."""

    @property
    def seed(self) -> int:
        return self.base.seed

    @property
    def replicas(self) -> int:
        return self.base.replicas

    @property
    def faults(self) -> tuple[str, ...]:
        """Every fault kind this run has, the consensus ones and the table's."""
        table = [kind for _, faults in self.table_faults for kind in faults.kinds()]
        table += list(PLAYER_FAULTS) if self.idle_players else []
        return tuple(dict.fromkeys((*self.base.faults, *table)))

    @property
    def players(self) -> int:
        return len(self.buy_ins)

    def faulty_at_table(self, index: int) -> TableFaults | None:
        return dict(self.table_faults).get(index)

    def player_endpoint(self, player: int) -> int:
        return self.base.attacker_endpoint + 1 + player

    def replay_command(self) -> str:
        return (f"bitcraps sim --game craps --replicas {self.replicas} --seed {self.seed} "
                f"--faults {self.faults_spec}")


def parse_craps_faults(spec: str) -> tuple[str, ...] | None:
    """`all` (None: each seed picks), `none` (()), or a comma list of consensus and table
    fault kinds; ValueError naming any unknown kind."""
    text = spec.strip().lower()
    if text == "all":
        return None
    if text in ("none", ""):
        return ()
    kinds = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [k for k in kinds if k not in CRAPS_FAULT_KINDS]
    if unknown:
        raise ValueError(f"unknown fault kind(s) {', '.join(unknown)}; "
                         f"choose from all, none, {', '.join(CRAPS_FAULT_KINDS)}")
    return tuple(dict.fromkeys(kinds))


def make_craps_scenario(seed: int, replicas: int, faults_spec: str) -> CrapsScenario:
    """The craps scenario a seed gives; ValueError on a bad fault list or replica count."""
    requested = parse_craps_faults(faults_spec)
    consensus_spec = "all" if requested is None else ",".join(
        k for k in requested if k not in TABLE_FAULTS + PLAYER_FAULTS) or "none"
    base = make_scenario(seed, replicas, consensus_spec)
    rng = Rng(f"craps/scenario/{seed}/{replicas}")
    kinds = _table_kinds(rng.fork("faults"), requested, base.f)
    table_faults = _table_faults(rng.fork("assign"), base, kinds)
    load = rng.fork("players")
    buy_ins = tuple(load.choice(BUY_INS) for _ in range(load.randint(2, 3)))
    rolls = load.randint(20, 36)
    held = load.randint(1, 3) if base.faults or table_faults else 0
    phase_timeout = rng.fork("dkg").randint(80, 160)
    idle = _idle_players(rng.fork("idle"), requested, len(buy_ins))
    dkg_ticks = 3 * (phase_timeout + base.liveness_bound_ticks)
    # each time the dice reach an idle player (at most once a seven-out): its timeout, the
    # votes' commit
    idle_ticks = (rolls // 2 + 2) * (SHOOTER_TIMEOUT_TICKS + base.liveness_bound_ticks) \
        if idle else 0
    base = dataclasses.replace(
        base, client_requests=(), client_start_ticks=(), client_held=(),
        crashes=_fit_crashes(base, {i for i, _ in table_faults}),
        max_ticks=base.faults_end_tick + dkg_ticks + idle_ticks + rolls * ROLL_ALLOWANCE_TICKS
        + 2 * base.liveness_bound_ticks,
    )
    return CrapsScenario(base, faults_spec.strip().lower() or "none", table_faults, buy_ins,
                         rolls, held, phase_timeout, idle_players=idle)


def _idle_players(rng: Rng, requested: tuple[str, ...] | None, players: int
                  ) -> tuple[int, ...]:
    """One player who never rolls, when asked for (or drawn, for `all`); never all of them."""
    wanted = rng.chance(0.3) if requested is None else "idle_shooter" in requested
    return (rng.below(players),) if wanted and players > 1 else ()


def _table_kinds(rng: Rng, requested: tuple[str, ...] | None, f: int) -> tuple[str, ...]:
    if requested is None:
        return tuple(k for k in TABLE_FAULTS if f > 0 and rng.chance(0.35))
    kinds = tuple(k for k in requested if k in TABLE_FAULTS)
    if kinds and f == 0:
        raise ValueError("table faults need at least 4 replicas (f >= 1)")
    return kinds


def _table_faults(rng: Rng, base: Scenario, kinds: tuple[str, ...]
                  ) -> tuple[tuple[int, TableFaults], ...]:
    if not kinds:
        return ()
    byzantine = sorted(base.byzantine_indices)
    index = rng.choice(byzantine) if byzantine else rng.below(base.replicas)
    faults = TableFaults(
        withhold_shares="withhold_shares" in kinds,
        corrupt_shares="corrupt_shares" in kinds,
        dkg_behaviour=rng.choice(DKG_BEHAVIOURS) if "bad_dkg" in kinds else None,
    )
    return ((index, faults),)


def _fit_crashes(base: Scenario, table_faulty: set[int]) -> tuple[CrashPlan, ...]:
    """The base crash plan, less the crashes of honest replicas that would make more than f
    replicas faulty at once now that `table_faulty` misbehave too."""
    faulty_endpoints = set(base.byzantine_indices) | table_faulty
    if base.twins is not None:
        faulty_endpoints.add(base.twins.twin_endpoint)
    faulty = len(base.byzantine_indices | table_faulty)
    kept: list[CrashPlan] = []
    for plan in base.crashes:
        if plan.endpoint not in faulty_endpoints:
            down = {p.endpoint for p in kept if p.endpoint not in faulty_endpoints
                    and p.crash_tick <= plan.restart_tick and plan.crash_tick <= p.restart_tick}
            if faulty + len(down | {plan.endpoint}) > base.f:
                continue
        kept.append(plan)
    return tuple(kept)
