"""The deterministic simulator: seeds across every fault kind keep every invariant, and the
checkers themselves catch what they claim to catch."""

from __future__ import annotations

import dataclasses
import json

import msgpack
import pytest

from bitcraps.accel._ed25519_cpu import Ed25519Signer, verify_one
from bitcraps.consensus import (
    Client,
    Executed,
    ExecutionContext,
    KeyValueApp,
    Ready,
    ReplicaConfig,
)
from bitcraps.consensus._codec import pack
from bitcraps.consensus.sim import (
    FAULT_KINDS,
    InvariantChecker,
    LinkFaults,
    Network,
    Partition,
    Rng,
    ScenarioResult,
    Simulation,
    make_scenario,
    parse_faults,
    run_many,
    run_scenario,
)
from bitcraps.node import cli


def verify_batch(checks: list[tuple[bytes, bytes, bytes]]) -> list[bool]:
    return [verify_one(pk, msg, sig) for pk, msg, sig in checks]


def failures(summary: dict[str, object]) -> str:
    lines = [f"failing seeds: {summary['failed_seeds']}"]
    for failure in summary["failures"]:  # type: ignore[attr-defined]
        lines.append(f"seed {failure['seed']} faults {failure['faults']}: replay with "
                     f"`{failure['replay']}`")
        lines += [f"  {text}" for text in failure["violations"] + failure["liveness"]]
    return "\n".join(lines)


def assert_all_pass(seeds: range, replicas: int, faults: str) -> dict[str, object]:
    summary = run_many(seeds, replicas, faults, Ed25519Signer, verify_batch)
    assert summary["scenarios"] == len(seeds)
    assert summary["violations"] == 0 and summary["live"] == len(seeds), failures(summary)
    return summary


# --- seeds ---------------------------------------------------------------------------------


def test_four_replicas_all_faults() -> None:
    summary = assert_all_pass(range(30), 4, "all")
    totals = summary["totals"]
    assert isinstance(totals, dict)
    for exercised in ("view_changes_started", "state_transfers", "checkpoints_stable",
                      "crashes", "messages_dropped", "decode_errors", "bad_signatures"):
        assert totals[exercised] > 0, exercised


def test_seven_replicas_all_faults() -> None:
    assert_all_pass(range(10), 7, "all")


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_each_fault_kind(kind: str) -> None:
    summary = assert_all_pass(range(100, 104), 4, kind)
    totals = summary["totals"]
    assert isinstance(totals, dict)
    if kind in ("equivocate", "wrong_digest"):
        assert totals["forged_by_replicas"] > 0
    if kind == "byzantine_client":
        assert totals["attacks_by_client"] > 0


def test_many_faults_at_once_with_two_faulty_replicas() -> None:
    assert_all_pass(range(200, 203), 7, "drop,reorder,partition,crash,equivocate,twins,stale")


def test_byzantine_client_frames_are_dropped_and_forgeries_never_execute() -> None:
    result = run_scenario(7, 4, "byzantine_client", Ed25519Signer, verify_batch)
    assert result.ok, result.describe()
    assert result.stats["decode_errors"] > 0
    assert result.stats["bad_signatures"] > 0


def test_a_seed_replays_exactly() -> None:
    first = run_scenario(11, 4, "all", Ed25519Signer, verify_batch)
    again = run_scenario(11, 4, "all", Ed25519Signer, verify_batch)
    assert first == again
    assert first.stats["ticks"] > 0


def test_scenarios_stay_within_f_faulty_replicas() -> None:
    for seed in range(200):
        for replicas in (4, 7):
            scenario = make_scenario(seed, replicas, "all")
            assert scenario.faults
            assert len(scenario.byzantine) <= scenario.f
            crashed_honest = {p.endpoint for p in scenario.crashes
                              if p.endpoint not in scenario.byzantine_indices
                              and (scenario.twins is None
                                   or p.endpoint != scenario.twins.twin_endpoint)}
            if crashed_honest:
                assert len(scenario.byzantine) < scenario.f


def test_parse_faults() -> None:
    assert parse_faults("all") is None
    assert parse_faults("none") == ()
    assert parse_faults("drop, twins,drop") == ("drop", "twins")
    with pytest.raises(ValueError, match="unknown fault"):
        parse_faults("drop,meteor")


# --- the checkers catch real violations ----------------------------------------------------


def _table() -> tuple[ReplicaConfig, Client, Client]:
    keys = tuple(Ed25519Signer(bytes([i]) * 32).public_key for i in range(4))
    config = ReplicaConfig(table_id=b"t" * 16, replicas=keys)
    return (config, Client(config, Ed25519Signer(b"a" * 32)),
            Client(config, Ed25519Signer(b"b" * 32)))


def _ready(*executed: Executed) -> Ready:
    return Ready(token=1, persist=(), must_sync=False, send=(), execute=executed, events=())


def test_agreement_checker_catches_disagreeing_replicas() -> None:
    config, alice, bob = _table()
    checker = InvariantChecker(config, verify_batch)
    first = alice.submit(pack([b"add", b"k", 1]))
    second = bob.submit(pack([b"add", b"k", 2]))
    checker.submit(first)
    checker.submit(second)
    checker.on_ready(5, 1, _ready(Executed(1, first, b"r")))
    checker.on_ready(5, 2, _ready(Executed(1, first, b"r")))
    assert checker.violations == []
    checker.on_ready(6, 3, _ready(Executed(1, second, b"r")))
    assert any("agreement" in v and "seq 1" in v for v in checker.violations)


def test_validity_and_exactly_once_checkers() -> None:
    config, alice, _ = _table()
    checker = InvariantChecker(config, verify_batch)
    request = alice.submit(pack([b"get", b"k"]))
    checker.on_ready(1, 0, _ready(Executed(1, request, b"r")))
    assert any("never-submitted" in v for v in checker.violations)
    checker.violations.clear()
    checker.submit(request)
    checker.on_ready(2, 1, _ready(Executed(1, request, b"r")))
    checker.on_ready(3, 1, _ready(Executed(2, request, b"r")))
    assert any("exactly-once" in v for v in checker.violations)


def test_convergence_checker_catches_different_states() -> None:
    from bitcraps.consensus import Replica

    config, _, _ = _table()
    replicas = {i: Replica(config, KeyValueApp(), Ed25519Signer(bytes([i]) * 32))
                for i in range(2)}
    checker = InvariantChecker(config, verify_batch)
    checker.final(10, replicas)
    assert checker.violations == []
    replicas[1]._r.app.execute(pack([b"put", b"k", b"v"]), None)  # type: ignore[arg-type]
    checker.final(10, replicas)
    assert any("convergence" in v for v in checker.violations)


# --- building blocks -----------------------------------------------------------------------


def test_rng_is_deterministic_and_in_range() -> None:
    a, b = Rng(42), Rng(42)
    assert [a.next_u64() for _ in range(5)] == [b.next_u64() for _ in range(5)]
    assert Rng(1).next_u64() != Rng(2).next_u64()
    rng = Rng("x")
    values = [rng.randint(3, 7) for _ in range(500)]
    assert set(values) == {3, 4, 5, 6, 7}
    assert all(0.0 <= rng.random() < 1.0 for _ in range(100))
    items = list(range(10))
    rng.shuffle(items)
    assert sorted(items) == list(range(10))
    assert rng.fork("a").next_u64() == Rng("x").fork("a").next_u64()


def test_network_delays_drops_and_partitions() -> None:
    faults = LinkFaults(drop_probability=0.5, min_delay_ticks=1, max_delay_ticks=5)
    partition = Partition(10, 20, frozenset({1}))
    net = Network(Rng(3), faults, faults_end_tick=50, partitions=(partition,))
    for tick in range(60):
        net.send(0, 1, b"x%d" % tick, tick)
    delivered = [d for tick in range(80) for d in net.due(tick)]
    assert 0 < len(delivered) < 60
    assert net.stats.dropped > 0 and net.stats.cut >= 1
    assert all(d.data not in {b"x%d" % t for t in range(10, 20)} for d in delivered)
    assert {b"x%d" % t for t in range(50, 60)} <= {d.data for d in delivered}


def test_result_describes_how_to_replay() -> None:
    result = ScenarioResult(5, 4, ("drop",), ["tick 3: agreement: x"], [], "bitcraps sim ...")
    assert not result.ok and "seed 5" in result.describe() and "replay" in result.describe()


def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["sim", "--replicas", "4", "--seeds", "2", "--faults", "all", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert {"scenarios", "violations", "live", "failed_seeds"} <= summary.keys()
    assert summary["scenarios"] == 2 and summary["failed_seeds"] == []


def test_cli_rejects_unknown_faults(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["sim", "--faults", "meteor"]) == 2
    assert "unknown fault" in capsys.readouterr().err


# --- Byzantine payloads ----------------------------------------------------------------------


def test_hostile_payloads_from_a_replica_and_a_client_break_nothing() -> None:
    """A Byzantine replica (with its replica key) and a client sign structurally hostile
    operations; every honest replica answers each with a result, and the table stays live."""
    summary = assert_all_pass(range(4), 4, "hostile_payload")
    totals = summary["totals"]
    assert isinstance(totals, dict)
    assert totals["hostile_payloads"] > 0 and totals["decoder_faults"] == 0
    scenario = make_scenario(0, 4, "hostile_payload")
    assert scenario.hostile_client and any("hostile_payload" in names
                                           for _, names in scenario.byzantine)


def test_hostile_payloads_alone_on_a_table_with_no_fault_budget() -> None:
    """With f = 0 no replica may be Byzantine: the hostile client alone."""
    scenario = make_scenario(3, 1, "hostile_payload")
    assert scenario.hostile_client and not scenario.byzantine
    assert_all_pass(range(3), 1, "hostile_payload")


def test_all_faults_include_hostile_payloads() -> None:
    assert any(make_scenario(seed, 4, "all").hostile_client for seed in range(20))


@pytest.mark.parametrize(("seed", "replicas"), [(2, 7), (19, 4), (20, 7)])
def test_keys_that_send_faster_than_they_are_served_leave_the_table_live(
        seed: int, replicas: int) -> None:
    """Seeds that draw the slowest tunables (one request per batch, one batch in flight, a
    21-22 tick view-change timeout), at the top of the drawn fresh-key rate. n=7 seed 2 was
    not live: after each view change, backups held requests out of their queue, so a hostile
    key's next ones joined them (several places at the next primary), and a key's newer
    request went to the back while backups timed the key at the front: views changed faster
    than batches committed, without end."""
    scenario = dataclasses.replace(make_scenario(seed, replicas, "all"),
                                   hostile_requests_per_tick=0.2, fresh_keys_per_tick=0.5)
    assert scenario.hostile_client and scenario.tunables.batch_max_requests == 1
    result = Simulation(scenario, Ed25519Signer, verify_batch).run()
    assert result.ok, result.describe()
    assert result.stats["fresh_key_requests"] > 0.4 * result.stats["ticks"]


def test_all_faults_draw_the_hostile_rates() -> None:
    scenarios = [make_scenario(seed, 4, "all") for seed in range(40)]
    assert {s.hostile_requests_per_tick for s in scenarios} == {0.2}
    assert all(0.2 <= s.fresh_keys_per_tick <= 0.5 for s in scenarios)
    assert max(s.fresh_keys_per_tick for s in scenarios) > 0.45


class _FragileKV(KeyValueApp):
    """The bug class the issue found: a `repr` of the decoded operation on the way (the
    stack depth it needs is the nesting depth), here before executing it."""

    def execute(self, operation: bytes, context: ExecutionContext) -> bytes:
        try:
            repr(msgpack.unpackb(operation))
        except (ValueError, msgpack.UnpackException):  # an undecodable operation: no repr
            pass
        return super().execute(operation, context)


def test_robustness_checker_catches_an_honest_replica_that_raises() -> None:
    scenario = make_scenario(1, 4, "hostile_payload")
    sim = Simulation(scenario, Ed25519Signer, verify_batch)
    for node in sim.nodes.values():
        node.make_app = _FragileKV
        node.restart()
    result = sim.run()
    assert not result.ok
    assert any("robustness: honest replica" in v and "LocalProtocolError" in v
               for v in result.violations), result.describe()
