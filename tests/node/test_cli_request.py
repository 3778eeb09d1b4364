"""The player's CLI on a request whose outcome is unknown: it says so and names the request
(`bitcraps request TABLE ID`), waits a while itself first, never says "failed"; every action
carries an idempotency key; `bitcraps request` reports each status with its own exit status
(a served in-memory node: the API contract, over the real socket and HTTP client)."""

from __future__ import annotations

import pytest
import trio
from memory_control import PENDING_ID, Served

from bitcraps.node.cli import main
from bitcraps.node.cmd_request import WAIT_MORE_S


async def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with trio.fail_after(20):
        code = await trio.to_thread.run_sync(main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _table(served: Served) -> str:
    return next(iter(served.control.table_map))


async def test_a_bet_whose_outcome_stays_unknown_says_so_and_names_the_request(
        served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    control, table = served.control, _table(served)
    control.act_answer = "pending"
    control.requests[PENDING_ID] = {"status": "pending", "error": "outcome unknown: ..."}
    code, out, err = await _cli(capsys, "bet", table, "field", "10",
                                "--data-dir", str(served.data_dir))
    assert code == 75 and out == ""
    assert err == (f"bitcraps: error: outcome unknown, still trying: check with "
                   f"`bitcraps request {table} {PENDING_ID}`\n")
    assert "fail" not in err
    [key] = control.keys_given  # the action went out with an idempotency key
    assert key is not None and len(key) == 32
    assert control.lookups == [(PENDING_ID, float(WAIT_MORE_S))]  # it waited longer itself


async def test_a_bet_that_commits_while_the_cli_waits_prints_its_events(
        served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    control, table = served.control, _table(served)
    control.act_answer = "pending"
    events = [{"type": "BetPlaced", "bet_id": 7, "player": "ab" * 32, "kind": "field",
               "amount": 10}]
    control.requests[PENDING_ID] = {"status": "executed", "seq": 9, "result": "00",
                                    "events": events}
    code, out, err = await _cli(capsys, "bet", table, "field", "10",
                                "--data-dir", str(served.data_dir))
    assert (code, err) == (0, "")
    assert out == "bet 7 placed: abababab field 10\n"


async def test_bitcraps_request_reports_each_status(
        served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    control, table = served.control, _table(served)
    at = ["--data-dir", str(served.data_dir)]
    control.requests["aa" * 16] = {"status": "executed", "seq": 4, "result": "0102"}
    control.requests["bb" * 16] = {"status": "pending", "error": "outcome unknown: waiting"}
    control.requests["cc" * 16] = {"status": "not_executed", "error": "it expired"}
    code, out, _ = await _cli(capsys, "request", table, "aa" * 16, *at)
    assert code == 0 and out.splitlines() == [f"request {'aa' * 16}: executed at seq 4",
                                              "  result 0102"]
    code, out, _ = await _cli(capsys, "request", table, "bb" * 16, "--wait", "5", *at)
    assert code == 75 and "outcome unknown, still trying" in out
    assert control.lookups[-1] == ("bb" * 16, 5.0)
    code, out, _ = await _cli(capsys, "request", table, "cc" * 16, *at)
    assert code == 1 and out == f"request {'cc' * 16}: not executed: it expired\n"
    code, _, err = await _cli(capsys, "request", table, "dd" * 16, *at)
    assert code == 2 and err.startswith("bitcraps: error: ") and "no record" in err
    code, _, err = await _cli(capsys, "request", table, "xyz", *at)
    assert code == 2 and err == ("bitcraps: error: a request id is 32 hex digits (as an "
                                 "'outcome unknown' answer gave it)\n")
