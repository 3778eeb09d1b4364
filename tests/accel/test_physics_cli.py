"""`bitcraps bench physics` and `bitcraps audit dice`: their JSON contracts, run small (speed is
reported by the commands, never asserted here), and the chi-square arithmetic behind the audit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bitcraps.accel.physics import chi2_survival, face_fairness
from bitcraps.node import cli


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    assert cli.main(list(argv)) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1, lines
    result = json.loads(lines[0])
    assert isinstance(result, dict)
    return result


def test_bench_physics_compares_every_backend_in_the_run(
        capsys: pytest.CaptureFixture[str]) -> None:
    result = _json(capsys, "bench", "physics", "--throws", "48", "--python-throws", "4",
                   "--json")
    assert result["bit_identical"] is True
    backends = result["backends"]
    assert isinstance(backends, dict) and set(backends) == {"python", "numpy", "opencl"}
    for entry in backends.values():
        assert entry["throws_per_s"] > 0 and entry["single_throw_ms"] > 0
    assert backends["python"]["throws"] == 4 and backends["opencl"]["throws"] == 48
    assert "CPU" in backends["opencl"]["device"] or "GPU" in backends["opencl"]["device"]
    assert result["compared_throws"] == {"python_vs_numpy": 4, "numpy_vs_opencl": 48,
                                         "python_vs_opencl": 4}
    assert set(result["speedup_vs_python"]) == {"numpy", "opencl"}


def test_audit_dice_reports_the_raw_faces_and_draws_the_plot(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    plot = tmp_path / "audit.png"
    result = _json(capsys, "audit", "dice", "--throws", "300", "--chunk", "128",
                   "--plot", str(plot), "--json")
    assert {"throws", "chi2", "p_value", "faces", "device"} <= set(result)
    assert result["throws"] == 300
    faces = result["faces"]
    assert isinstance(faces, list) and len(faces) == 6 and sum(faces) == 600
    fairness = face_fairness(faces)
    assert result["chi2"] == pytest.approx(fairness.chi2, abs=1e-4)
    assert result["p_value"] == pytest.approx(fairness.p_value)
    assert str(result["device"]).startswith("opencl: ")
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the same run name gives the same throws, whatever the chunking or backend
    again = _json(capsys, "audit", "dice", "--throws", "300", "--backend", "numpy", "--json")
    assert again["faces"] == faces


@pytest.mark.parametrize("argv", [
    ["audit"],
    ["audit", "dice", "--throws", "0"],
    ["audit", "dice", "--chunk", "0"],
    ["audit", "dice", "--throws", "5", "--plot", "out.svg"],
    ["audit", "dice", "--throws", "5", "--plot", "/no/such/dir/out.png"],
    ["audit", "dice", "--throws", "5", "--backend", "opencl", "--device", "no-such-device"],
    ["bench", "physics", "--throws", "0"],
    ["bench", "physics", "--throws", "4", "--python-throws", "5"],
])
def test_bad_arguments_are_one_line_errors(argv: list[str],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("bitcraps: error: ")


@pytest.mark.parametrize(("x", "dof", "p"), [
    (11.0705, 5, 0.05), (15.0863, 5, 0.01), (1.1455, 5, 0.95), (3.8415, 1, 0.05),
    (5.9915, 2, 0.05), (7.8147, 3, 0.05), (9.4877, 4, 0.05), (18.3070, 10, 0.05),
])
def test_chi2_survival_matches_published_critical_values(x: float, dof: int, p: float) -> None:
    assert chi2_survival(x, dof) == pytest.approx(p, abs=2e-5)


def test_face_fairness_of_exact_and_skewed_counts() -> None:
    assert face_fairness([10] * 6).chi2 == 0 and face_fairness([10] * 6).p_value == 1.0
    skewed = face_fairness([200, 100, 100, 100, 100, 100])
    assert skewed.chi2 == pytest.approx(71.4286, abs=1e-4) and skewed.p_value < 1e-12
    with pytest.raises(ValueError):
        face_fairness([0, 0, 0, 0, 0, 0])
    with pytest.raises(ValueError):
        chi2_survival(1.0, 0)
