"""`table create` says what a table of n replicas tolerates (f = 0 below 4 replicas, with how
many tolerate one) and refuses a table with no seats; the cash-out route takes `leave_bets`
(the control API over a real Unix socket, against an in-memory node, and the CLI on it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import trio
from memory_control import Served

from bitcraps.games.craps._config import MAX_PLAYERS
from bitcraps.node.api import CRAPS_MAX_SEATS
from bitcraps.node.cli import main
from bitcraps.node.fault_tolerance import fault_tolerance


@pytest.fixture
async def client(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.AsyncHTTPTransport(uds=str(served.socket))
    async with httpx.AsyncClient(transport=transport, base_url="http://node",
                                 headers={"authorization": f"Bearer {served.token}"},
                                 timeout=10) as http:
        yield http


@pytest.mark.parametrize(("replicas", "f"), [(1, 0), (2, 0), (3, 0), (4, 1), (6, 1), (7, 2),
                                             (64, 21)])
def test_what_a_table_tolerates(replicas: int, f: int) -> None:
    answer = fault_tolerance(replicas)
    assert answer["tolerates_faulty_replicas"] == f
    assert ("warning" in answer) == (f == 0)


@pytest.mark.parametrize("replicas", [1, 3])
async def test_a_table_of_under_four_replicas_is_created_with_a_warning(
        client: httpx.AsyncClient, replicas: int) -> None:
    created = await client.post("/v1/tables", json={"game": "kv", "replicas": replicas})
    assert created.status_code == 201
    body = created.json()
    assert body["tolerates_faulty_replicas"] == 0
    assert f"a table of {replicas} replica" in body["warning"]
    assert "tolerates no faulty replica (f = 0)" in body["warning"]
    assert "4 replicas tolerate one faulty replica" in body["warning"]


def test_the_api_knows_how_many_players_a_craps_table_seats() -> None:
    assert CRAPS_MAX_SEATS == MAX_PLAYERS


@pytest.mark.parametrize(("body", "message"), [
    ({"game": "kv", "replicas": 1, "seats": 0}, "'seats' must be between 1 and 1024"),
    ({"game": "craps", "replicas": 1, "seats": 0}, "'seats' must be between 1 and 1024"),
    ({"game": "craps", "replicas": 1, "seats": 65}, "'seats' must be between 1 and 64"),
])
async def test_a_table_with_no_seats_or_more_than_craps_seats_is_refused(
        served: Served, client: httpx.AsyncClient, body: dict[str, Any], message: str) -> None:
    answer = await client.post("/v1/tables", json=body)
    assert answer.status_code == 400 and message in answer.json()["error"]
    assert served.control.created_with == {}  # never reached the node


async def test_the_cli_prints_the_warning(served: Served,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["table", "create", "--game", "kv", "--replicas", "3",
            "--data-dir", str(served.data_dir)]
    with trio.fail_after(20):
        code = await trio.to_thread.run_sync(main, argv)
    out = capsys.readouterr().out
    assert code == 0 and "tolerates_faulty_replicas: 0" in out
    assert "warning: a table of 3 replicas tolerates no faulty replica (f = 0)" in out
    with trio.fail_after(20):
        code = await trio.to_thread.run_sync(main, [*argv[:-2], "--seats", "0",
                                                    *argv[-2:]])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("bitcraps: error: --seats") and err.count("\n") == 1


async def test_cash_out_takes_leave_bets_as_a_bool(served: Served,
                                                   client: httpx.AsyncClient) -> None:
    table_id = next(iter(served.control.table_map))
    path = f"/v1/tables/{table_id}/cashout"
    assert (await client.post(path, json={})).json()["leave_bets"] is False
    assert (await client.post(path, json={"leave_bets": True})).json()["leave_bets"] is True
    refused = await client.post(path, json={"leave_bets": "yes"})
    assert refused.status_code == 400 and "'leave_bets'" in refused.json()["error"]
