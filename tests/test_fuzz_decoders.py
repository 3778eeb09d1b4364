"""Every decoder of untrusted bytes, fuzzed within a small budget on every test run.

The oracle (`bitcraps.node.fuzz`): only the decoder's typed error or a value that re-encodes
to the same bytes, under 100 ms, bounded memory. Long runs: `bitcraps fuzz all --inputs N`.
A failure names the seed and index that replay it: `bitcraps fuzz TARGET --seed S --index I`.
"""

from __future__ import annotations

import json
from typing import Any

import msgpack
import pytest

from bitcraps.node.cli import main
from bitcraps.node.fuzz import TARGET_NAMES, FuzzTarget, get_target, make_input, run_target

INPUTS_PER_TARGET = 800
SEED = 0
# The suite shares two cores with whatever else runs: it checks for pathological cost (the
# list bombs this fuzzer found took 0.2-1.5 s) with a margin no load reaches, and leaves the
# 100 ms bound to `bitcraps fuzz`, which reports each target's slowest input.
SUITE_TIME_LIMIT_MS = 1000.0


@pytest.mark.parametrize("name", TARGET_NAMES)
def test_seeds_are_valid_encodings_their_decoder_round_trips(name: str) -> None:
    target = get_target(name)
    seeds = target.seeds()
    assert seeds
    for data in seeds:
        value = target.decode(data)
        assert target.encode is None or target.encode(value) == data


@pytest.mark.parametrize("name", TARGET_NAMES)
def test_decoder_survives_hostile_inputs(name: str) -> None:
    report = run_target(get_target(name), INPUTS_PER_TARGET, SEED,
                        time_limit_ms=SUITE_TIME_LIMIT_MS)
    assert report.inputs == INPUTS_PER_TARGET
    found = [f"{f.kind}: {f.detail}; replay: {f.replay}; input {f.input_hex[:400]}"
             for f in report.failures]
    assert not found, "\n".join(found)


def test_inputs_are_a_function_of_target_seed_and_index() -> None:
    target = get_target("envelope")
    assert make_input(target, 5, 17) == make_input(target, 5, 17)
    assert len({make_input(target, 5, i) for i in range(40)}) > 30


def _repr_decoder(data: bytes) -> Any:
    """The bug this fuzzer exists for: the repr of a decoded value in an error message."""
    value = msgpack.unpackb(data)
    if type(value) is not list or len(value) != 2:
        raise ValueError(f"not a pair: {value!r}")
    return value


def test_the_oracle_reports_an_escaping_exception_with_a_replayable_input() -> None:
    target = FuzzTarget("repr-pair", "a decoder that reprs what it read", _repr_decoder,
                        (TypeError,), lambda: (msgpack.packb([1, b"x"]),))
    report = run_target(target, 200, seed=4)
    assert report.failures
    finding = report.failures[0]
    assert finding.kind == "raised" and finding.seed == 4
    assert finding.replay == f"bitcraps fuzz repr-pair --seed 4 --index {finding.index}"
    data = make_input(target, 4, finding.index)
    assert bytes.fromhex(finding.input_hex) == data[: len(finding.input_hex) // 2]
    with pytest.raises(Exception) as info:
        _repr_decoder(data)
    assert not isinstance(info.value, TypeError)


def test_the_oracle_reports_a_non_canonical_value() -> None:
    target = FuzzTarget("lenient", "a decoder that accepts wider encodings",
                        lambda data: msgpack.unpackb(data), (Exception,),
                        lambda: (msgpack.packb([1, [2, b"ab"]]),),
                        lambda value: msgpack.packb(value))
    report = run_target(target, 200, seed=1)
    assert any(f.kind == "non-canonical" for f in report.failures)


def test_cli_fuzzes_a_target_and_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fuzz", "coin-share", "--inputs", "30", "--seed", "2", "--json"]) == 0
    (report,) = json.loads(capsys.readouterr().out)["targets"]
    assert report["target"] == "coin-share" and report["inputs"] == 30
    assert report["failures"] == [] and report["seed"] == 2
    assert report["max_ms"] >= 0 and report["peak_bytes"] > 0


def test_cli_lists_every_target(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fuzz", "--list"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == list(TARGET_NAMES)
