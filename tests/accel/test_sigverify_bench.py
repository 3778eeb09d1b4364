"""`bitcraps bench sigverify` prints its JSON with every backend agreeing; speed is not asserted."""

from __future__ import annotations

import json

import pytest

from bitcraps.node import cli


def test_bench_prints_rates_per_backend_and_size(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["bench", "sigverify", "--sizes", "16,40", "--seconds", "0.01", "--workers", "2",
            "--calibration-seconds", "0.1", "--json"]
    assert cli.main(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["batch_sizes"] == [16, 40]
    assert result["verdicts_agree"] is True
    assert result["single_thread_per_s"] > 0
    assert set(result["backends"]) == {"cpu_threads", "cpu_processes", "opencl"}
    for rates in result["backends"].values():
        assert set(rates) == {"16", "40"} and all(rate > 0 for rate in rates.values())
    assert result["opencl_device"].startswith("Portable Computing Language")
    assert result["opencl_unavailable"] is None
    assert result["measured_crossover_batch"] in (None, 16, 40)
    assert result["selection"].startswith(("cpu: ", "opencl: "))
    assert result["cpu_threads_speedup"] > 0 and result["cpu_processes_speedup"] > 0


@pytest.mark.parametrize("argv", [
    ["--sizes", "16,x"], ["--sizes", "0"], ["--seconds", "0"], ["--workers", "0"],
    ["--calibration-seconds", "100"],
])
def test_bench_usage_errors(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    assert cli.main(["bench", "sigverify", *argv]) == 2
    assert capsys.readouterr().err.startswith("bitcraps: error: ")
