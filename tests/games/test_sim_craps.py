"""A craps table on the simulated PBFT: a Byzantine replica at the table (an equivocating
primary, withheld or corrupted coin shares, every kind of bad DKG participant), network
faults and crashes keep every invariant and every roll fair; and the checkers catch a
broken table, so the passing runs mean something.

Each case is a fixed (replicas, faults, seed); a failure prints the command that replays it.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from bitcraps.accel._ed25519_cpu import Ed25519Signer, verify_one
from bitcraps.accel._ed25519_group import SodiumEd25519Group
from bitcraps.consensus import ExecutionContext
from bitcraps.consensus.sim import ScenarioResult, Simulation
from bitcraps.games import _coin as coin
from bitcraps.games._sim_craps_table import RollWatch
from bitcraps.games.craps_app import CrapsApp
from bitcraps.games.sim_craps import (
    CrapsScenario,
    CrapsWorkload,
    TableExpectations,
    check_tables,
    make_craps_scenario,
    parse_craps_faults,
)
from bitcraps.node import cli

GROUP = SodiumEd25519Group()
BAD_DEALINGS = ("bad-share", "inconsistent-commitments", "garbage-ciphertext")
COMPLAINERS = ("false-complaint", "forged-complaint")


def verify_batch(checks: list[tuple[bytes, bytes, bytes]]) -> list[bool]:
    return [verify_one(pk, msg, sig) for pk, msg, sig in checks]


@dataclass(frozen=True)
class Case:
    replicas: int
    faults: str
    seed: int
    dkg: str
    """The DKG behaviour this seed draws for the faulty replica."""

    def __str__(self) -> str:
        return f"n{self.replicas}-seed{self.seed}-{self.dkg}"


CASES = (
    # The sentence: one replica is the equivocating primary, withholds its coin
    # shares and deals a bad DKG share, over a lossy, reordering network.
    Case(4, "equivocate,withhold_shares,bad_dkg,drop,reorder", 2, "bad-share"),
    Case(4, "equivocate,corrupt_shares,bad_dkg,duplicate", 20, "inconsistent-commitments"),
    Case(4, "bad_dkg,withhold_shares,partition", 1, "garbage-ciphertext"),
    Case(4, "bad_dkg,crash,stale", 3, "wrong-commitment-count"),
    Case(4, "bad_dkg,corrupt_shares,twins", 4, "false-complaint"),
    Case(4, "bad_dkg,wrong_digest,byzantine_client", 5, "forged-complaint"),
    Case(4, "bad_dkg,withhold_shares,crash,partition,drop", 2, "silent"),
    Case(4, "all", 10, "bad-share"),
    Case(7, "equivocate,withhold_shares,bad_dkg,crash,drop", 0, "bad-share"),
)


@dataclass
class Run:
    scenario: CrapsScenario
    workload: CrapsWorkload
    sim: Simulation
    result: ScenarioResult


@functools.cache
def run(case: Case) -> Run:
    scenario = make_craps_scenario(case.seed, case.replicas, case.faults)
    workload = CrapsWorkload(scenario, Ed25519Signer, GROUP)
    sim = Simulation(scenario.base, Ed25519Signer, verify_batch, workload)
    result = sim.run()
    result.replay = scenario.replay_command()
    return Run(scenario, workload, sim, result)


def final_view(r: Run) -> CrapsApp:
    view = r.workload.view()
    assert view is not None
    return view


# --- the scenarios ---------------------------------------------------------------------------


def test_the_cases_cover_every_byzantine_behaviour() -> None:
    assert {case.dkg for case in CASES} == set(coin.DKG_BYZANTINE_BEHAVIOURS)
    kinds = {kind for case in CASES
             for kind in make_craps_scenario(case.seed, case.replicas, case.faults).faults}
    assert {"equivocate", "withhold_shares", "corrupt_shares", "bad_dkg", "crash", "partition",
            "twins", "drop", "byzantine_client"} <= kinds
    assert any(case.replicas == 7 for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_byzantine_replica_at_the_table_breaks_no_invariant(case: Case) -> None:
    r = run(case)
    ((index, faults),) = r.scenario.table_faults
    assert faults.dkg_behaviour == case.dkg, "the seed no longer draws this case's behaviour"
    assert r.result.ok, r.result.describe()
    stats = r.result.stats
    assert stats["rolls"] == r.scenario.rolls >= 20
    assert stats["bets_placed"] > 0 and stats["chips_bought_in"] > 0
    view = final_view(r)
    used = {share.replica for rolled in view.rolls.values() for share in rolled.record.shares}
    if faults.dkg_behaviour == "silent":
        assert index not in view.dkg.holders
    elif faults.withhold_shares or faults.corrupt_shares:
        assert stats["shares_withheld"] + stats["shares_corrupted"] > 0
        assert index not in used, "a withheld or corrupted share made it into a roll"
    if case.dkg in BAD_DEALINGS:
        # Excluded either way: disqualified on complaints, or its dealing never ordered
        # before the dealing phase closed (so nobody ever held its bad share).
        assert index in view.dkg.disqualified or index not in view.dkg.dealings
        assert stats["byzantine_dealers_excluded"] == 1
    if case.dkg == "wrong-commitment-count":
        assert index not in view.dkg.dealings and stats["byzantine_dealers_excluded"] == 1
    if case.dkg in COMPLAINERS:
        assert stats["dkg_complaints"] > 0 and not view.dkg.disqualified
    if "equivocate" in r.scenario.faults:
        assert 0 in r.scenario.base.byzantine_indices and stats["forged_by_replicas"] > 0


@pytest.mark.parametrize("seed", [135, 187])
def test_a_client_cut_off_from_a_twin_primary_is_still_served(seed: int) -> None:
    """Found by this simulator: under steady table traffic, an honest replica's request that
    only the Twin primary's unreachable copy had seen waited forever, because every other
    request's execution restarted the backups' request timer. Now it is forwarded."""
    scenario = make_craps_scenario(seed, 4, "all")
    workload = CrapsWorkload(scenario, Ed25519Signer, GROUP)
    result = Simulation(scenario.base, Ed25519Signer, verify_batch, workload).run()
    result.replay = scenario.replay_command()
    assert "twins" in scenario.faults
    assert result.ok and result.live, result.describe()


HOSTILE_CASES = (
    Case(4, "hostile_payload", 0, ""),
    Case(4, "hostile_payload", 2, ""),
    Case(4, "hostile_payload,equivocate,drop,crash", 6, ""),
)


@pytest.mark.parametrize("case", HOSTILE_CASES, ids=str)
def test_hostile_payloads_at_the_table_break_no_invariant(case: Case) -> None:
    """A Byzantine replica signs, with its replica key, hostile DKG messages, coin shares and
    actions (the issue's 1,010-deep DKG payload among them), and a client signs its own; the
    replicas order and execute them. No honest replica raises, every roll is fair, the chips
    add up, and the table makes every roll the shooters ask for."""
    r = run(case)
    assert r.result.ok, r.result.describe()
    stats = r.result.stats
    assert stats["rolls"] == r.scenario.rolls
    assert stats["hostile_payloads"] > 0 and stats["hostile_by_replicas"] > 0
    assert stats["decoder_faults"] == 0


def test_a_table_that_raises_on_a_hostile_payload_is_caught() -> None:
    """The robustness invariant has teeth: a table whose DKG decoder recursed on nesting
    (as it did) makes every honest replica raise, and the run fails naming the seed."""
    scenario = make_craps_scenario(0, 4, "hostile_payload")
    workload = CrapsWorkload(scenario, Ed25519Signer, GROUP)
    sim = Simulation(scenario.base, Ed25519Signer, verify_batch, workload)
    for node in sim.nodes.values():
        table = _table_of(node)
        table.execute = _recursing(table.execute)  # type: ignore[method-assign]
    result = sim.run()
    assert not result.ok
    assert any("robustness: honest replica" in v for v in result.violations)
    assert "--seed 0" in result.replay or "--seed 0" in scenario.replay_command()


def _table_of(node: object) -> CrapsApp:
    return node.app.table  # type: ignore[attr-defined, no-any-return]


def _recursing(execute: Callable[[bytes, ExecutionContext], bytes]
               ) -> Callable[[bytes, ExecutionContext], bytes]:
    def fragile(operation: bytes, context: ExecutionContext) -> bytes:
        if b"\x91" * 1000 in operation:
            raise RecursionError("maximum recursion depth exceeded")
        return execute(operation, context)
    return fragile


def test_table_faults_never_make_more_than_f_replicas_faulty() -> None:
    for replicas in (4, 7):
        for seed in range(300):
            scenario = make_craps_scenario(seed, replicas, "all")
            base, f = scenario.base, scenario.base.f
            table_faulty = {index for index, _ in scenario.table_faults}
            byzantine = base.byzantine_indices
            assert not byzantine or table_faulty <= byzantine, seed
            faulty = byzantine | table_faulty
            assert len(faulty) <= f, seed
            endpoints = faulty | ({base.twins.twin_endpoint} if base.twins else set())
            for tick in {p.crash_tick for p in base.crashes}:
                down = {p.endpoint for p in base.crashes
                        if p.crash_tick <= tick < p.restart_tick and p.endpoint not in endpoints}
                assert len(faulty) + len(down) <= f, (seed, tick)


def test_fault_lists_name_what_is_wrong() -> None:
    assert parse_craps_faults("all") is None
    assert parse_craps_faults("withhold_shares, drop") == ("withhold_shares", "drop")
    with pytest.raises(ValueError, match="unknown fault kind"):
        parse_craps_faults("meteor")
    with pytest.raises(ValueError, match="f >= 1"):
        make_craps_scenario(0, 3, "withhold_shares")


# --- the checkers catch a broken table ---------------------------------------------------------


def tables_copy(r: Run) -> dict[int, CrapsApp]:
    """The honest replicas' tables, copied so a test can break one."""
    honest = {n.endpoint: n for n in r.sim.nodes.values() if n.honest and n.up}
    copies = {}
    for index, table in r.workload.tables(honest).items():
        copy = CrapsApp(table.table_id, table.replicas, table.config, GROUP)
        copy.restore(table.snapshot())
        copies[index] = copy
    return copies


def check(r: Run, tables: dict[int, CrapsApp], expect: TableExpectations | None = None
          ) -> list[str]:
    return check_tables(tables, expect or r.workload.expectations(), r.workload.participants())


def test_the_checker_passes_the_real_tables() -> None:
    r = run(CASES[0])
    assert len(tables_copy(r)) == 3
    assert check(r, tables_copy(r)) == []


def break_record(table: CrapsApp, roll: int, **changes: object) -> None:
    rolled = table.rolls[roll]
    record = dataclasses.replace(rolled.record, **changes)  # type: ignore[arg-type]
    table.rolls[roll] = dataclasses.replace(rolled, record=record)


@pytest.mark.parametrize(("change", "expected"), [
    ({"seed": bytes(32)}, "roll 5 does not verify: the seed is not the one the coin gives"),
    ({"dice": (6, 1)}, "roll 5 shows (6, 1), its seed gives"),
    ("drop-share", "roll 5 does not verify: fewer valid coin shares than the threshold"),
])
def test_a_roll_record_that_is_not_the_coins_is_caught(change: object, expected: str) -> None:
    r = run(CASES[0])
    tables = tables_copy(r)
    victim = tables[min(tables)]
    record = victim.rolls[5].record
    if change == "drop-share":
        break_record(victim, 5, shares=record.shares[:-1])
    else:
        assert isinstance(change, dict)
        if change.get("dice") == record.dice:
            change = {"dice": (1, 1)}
            expected = "roll 5 shows (1, 1)"
        break_record(victim, 5, **change)
    found = check(r, tables)
    assert any(expected in text for text in found), found
    assert any(text.startswith("convergence:") for text in found), found


def test_chips_that_do_not_add_up_are_caught() -> None:
    r = run(CASES[0])
    tables = tables_copy(r)
    victim = tables[min(tables)]
    ledger = victim.state.ledger
    victim.state = dataclasses.replace(
        victim.state, ledger=dataclasses.replace(ledger, bank=ledger.bank + 1))
    found = check(r, tables)
    assert any("chips not conserved" in text for text in found), found
    expect = dataclasses.replace(r.workload.expectations(),
                                 bought_in=r.workload.player_counts.bought_in + 5)
    found = check(r, tables_copy(r), expect)
    assert any("the players' accepted results say" in text for text in found), found


def test_missing_rolls_and_a_disqualified_honest_dealer_are_caught() -> None:
    r = run(CASES[0])
    tables = tables_copy(r)
    del tables[min(tables)].rolls[3]
    found = check(r, tables)
    assert any("keeps records for rolls" in text for text in found), found
    ((faulty, _),) = r.scenario.table_faults
    everyone = dataclasses.replace(r.workload.expectations(),
                                   honest=frozenset(range(r.scenario.replicas)))
    found = check(r, tables_copy(r), everyone)
    assert f"dkg: honest replica {faulty} was disqualified" in " ".join(found), found
    fewer = dataclasses.replace(r.workload.expectations(), rolls=r.scenario.rolls - 1)
    assert any("the shooters asked for" in text for text in check(r, tables_copy(r), fewer))


def test_the_roll_watch_catches_a_roll_applied_twice_or_differently() -> None:
    r = run(CASES[0])
    reports: list[str] = []
    watch = RollWatch(reports.append)
    table = min(tables_copy(r).items())[1]
    last = table.state.roll_number - 1
    seen: set[int] = set()
    watch.rolled(1, table, last, seen)
    assert reports == []
    watch.rolled(2, table, last, seen)
    assert reports == [f"rolls: replica 2 applied roll {last} twice"]
    reports.clear()
    watch.outcomes[last] = (bytes(32), (1, 1), 3)
    watch.rolled(1, table, last, set())
    assert len(reports) == 1 and reports[0].startswith("agreement: replicas 3 and 1 rolled")
    reports.clear()
    watch.rolled(1, table, last - 1, set())
    assert any(f"went from roll {last - 1} to {last + 1}" in text for text in reports), reports
    watch.restored(1, 9, 4)
    assert reports[-1] == "rolls: replica 1's table went back from roll 9 to 4 on a state transfer"


# --- the command ---------------------------------------------------------------------------


def test_the_command_runs_a_craps_seed_and_replays_it_exactly(
        capsys: pytest.CaptureFixture[str]) -> None:
    case = CASES[5]
    assert cli.main(["sim", "--game", "craps", "--replicas", str(case.replicas), "--seed",
                     str(case.seed), "--faults", case.faults, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["scenarios"], summary["violations"], summary["live"]) == (1, 0, 1)
    assert summary["failed_seeds"] == [] and summary["game"] == "craps"
    assert summary["rolls"] == make_craps_scenario(case.seed, case.replicas, case.faults).rolls
    assert summary["totals"] == run(case).result.stats


def test_the_command_rejects_table_faults_without_the_table(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["sim", "--faults", "withhold_shares"]) == 2
    assert "unknown fault" in capsys.readouterr().err
    assert cli.main(["sim", "--game", "craps", "--faults", "meteor"]) == 2
    assert "withhold_shares" in capsys.readouterr().err
