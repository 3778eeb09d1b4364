"""`bitcraps bench startup --json`: spawn to READY=1 of real daemons (a node with no table, a
kv table and a craps table), median and max over the runs; speed is reported, not asserted."""

from __future__ import annotations

import json
import subprocess

import pytest

from bitcraps.node.process_cluster import BITCRAPS


@pytest.mark.slow
def test_bench_startup_times_each_kind_of_node_to_ready() -> None:
    done = subprocess.run([BITCRAPS, "bench", "startup", "--runs", "1", "--json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["runs"] == 1 and set(result["nodes"]) == {"no_table", "kv_table",
                                                           "craps_table"}
    for node in result["nodes"].values():
        ready = node["ready_s"]
        assert 0 < ready["min"] <= ready["median"] <= ready["max"] == node["samples_s"][0]
        assert 0 < node["first_log_s"]["median"] <= ready["median"]
        assert node["cpu_s"]["median"] > 0


def test_bench_startup_refuses_a_bad_run_count_with_one_line() -> None:
    done = subprocess.run([BITCRAPS, "bench", "startup", "--runs", "0"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.splitlines() == ["bitcraps: error: --runs must be between 1 and 100"]
