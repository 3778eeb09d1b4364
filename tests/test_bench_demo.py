"""`bitcraps bench consensus` prints its contracted JSON; `bitcraps demo` ends with equal digests.

Speed is never asserted here: the bench runs small and only its output's shape is checked.
"""

from __future__ import annotations

import json
import re

import pytest

from bitcraps.node import cli

SMALL_BENCH = ["bench", "consensus", "--replicas", "4", "--requests", "60", "--clients", "8",
               "--low-load-requests", "10", "--json"]


def _bench_json(capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, object]:
    assert cli.main([*SMALL_BENCH, *extra]) == 0
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    result = json.loads(lines[0])
    assert isinstance(result, dict)
    return result


def _check_contract(result: dict[str, object], requests: int) -> None:
    assert isinstance(result["committed_per_s"], float) and result["committed_per_s"] > 0
    assert result["requests"] == requests
    for name in ("latency_ms", "loaded_latency_ms"):
        latency = result[name]
        assert isinstance(latency, dict) and set(latency) == {"p50", "p99"}
        assert all(isinstance(v, float) and v > 0 for v in latency.values())
        assert latency["p50"] <= latency["p99"]
    assert result["replicas"] == 4
    assert result["digests_equal"] is True


def test_bench_prints_the_contracted_json(capsys: pytest.CaptureFixture[str]) -> None:
    result = _bench_json(capsys)
    _check_contract(result, 60)
    assert result["verifier"] == "processes"
    assert result["clients"] == 8
    # every request verified at each of 4 replicas, and f+1 = 2 replies at its client
    assert result["signatures_verified_per_request"] >= 6


def test_bench_with_the_thread_pool_in_lockstep(capsys: pytest.CaptureFixture[str]) -> None:
    result = _bench_json(capsys, "--verifier", "threads", "--workers", "2", "--lockstep",
                         "--batch-max", "4")
    _check_contract(result, 60)
    assert result["verifier"] == "threads" and result["pipelined"] is False
    assert result["batch_max"] == 4 and result["mean_batch_requests"] <= 4


def test_bench_human_output(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [a for a in SMALL_BENCH if a != "--json"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "committed requests/s" in out and "state digests equal: True" in out


@pytest.mark.parametrize(
    "argv",
    [["bench"], ["bench", "consensus", "--requests", "0"], ["bench", "consensus", "--batch-max",
                                                             "0"]],
)
def test_bench_usage_errors(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    assert cli.main(argv) == 2
    assert capsys.readouterr().err.startswith("bitcraps: error: ")


def test_demo_survives_the_primary_crash_and_ends_with_equal_digests(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["demo", "--in-process"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert 20 <= len(lines) <= 60
    assert "checkpoint at seq 4 stable" in out
    assert "replica 1: installed view 1, primary is replica 1" in out
    assert re.search(r"seq +\d+ view 1: committed", out)
    assert "replica 0: state transfer from checkpoint" in out
    digests = re.findall(r"replica (\d): view 1, executed through seq (\d+), state digest (\w+)",
                         out)
    assert [d[0] for d in digests] == ["0", "1", "2", "3"]
    assert len({d[1] for d in digests}) == 1 and len({d[2] for d in digests}) == 1
    assert lines[-1] == "All replicas hold the same state."


def test_kv_demo_on_real_daemons_kills_one_and_converges(
        capsys: pytest.CaptureFixture[str]) -> None:
    """Four daemon processes, a SIGKILL, a restart, equal digests, clean stop."""
    assert cli.main(["demo", "--game", "kv"]) == 0
    out = capsys.readouterr().out
    assert "kill -9 replica 2" in out
    assert "counter is now 70" in out
    assert "SIGTERM to all four: exit codes [0, 0, 0, 0]" in out
    assert "All replicas hold the same state" in out


def test_make_demo_plays_fifty_rolls_of_craps_through_a_primary_crash(
        capsys: pytest.CaptureFixture[str]) -> None:
    """`make demo`: four daemons host a craps table, three players bet and roll 50 times
    while the primary is killed and restarted; digests equal, chips conserved, receipts."""
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    rolls = re.findall(r"^roll +(\d+) by (\w+): (\d) \+ (\d) = (\d+)$", out, re.MULTILINE)
    assert [int(r[0]) for r in rolls] == list(range(50))
    assert {r[1] for r in rolls} <= {"ann", "bo", "cy"}
    assert all(int(r[2]) + int(r[3]) == int(r[4]) for r in rolls)
    settled = re.findall(r"^    bet \d+ \((\w+) (\w+)", out, re.MULTILINE)
    assert len({kind for _, kind in settled}) >= 10, "bets across the table"
    assert "kill -9 node 0 (the primary)" in out and "restart node 0" in out
    digests = re.findall(r"^  replica (\d): view \d+, seq \d+, state digest (\w+)$", out,
                         re.MULTILINE)
    assert [d[0] for d in digests] == ["0", "1", "2", "3"] and len({d[1] for d in digests}) == 1
    assert out.count("receipt verified, signed by replicas") == 3
    assert "held by the bank, the players and open bets: conserved" in out
    assert "SIGTERM to all four: exit codes [0, 0, 0, 0]" in out


def test_bench_transport_libp2p_prints_the_contracted_json(
        capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["bench", "transport", "--transport", "libp2p", "--pings", "20", "--frames", "200",
            "--senders", "2", "--json"]
    assert cli.main(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert set(result["rtt_ms"]) >= {"p50", "p99"}
    assert 0 < result["rtt_ms"]["p50"] <= result["rtt_ms"]["p99"]
    assert isinstance(result["msgs_per_s"], float) and result["msgs_per_s"] > 0
    assert result["frame_bytes"] == 1024 and result["dropped"] == 0


def test_bench_consensus_over_libp2p_daemons_prints_the_contracted_json(
        capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["bench", "consensus", "--replicas", "4", "--transport", "libp2p", "--requests", "8",
            "--clients", "2", "--low-load-requests", "4", "--json"]
    assert cli.main(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert isinstance(result["committed_per_s"], float) and result["committed_per_s"] > 0
    assert result["requests"] == 8 and result["low_load_requests"] == 4
    for name in ("latency_ms", "loaded_latency_ms"):
        latency = result[name]
        assert set(latency) == {"p50", "p99"}
        assert 0 < latency["p50"] <= latency["p99"]
    assert result["transport"] == "libp2p" and result["driver"] == "api"
    assert result["digests_equal"] is True
