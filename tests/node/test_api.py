"""The control API over a real Unix socket served by hypercorn, against an in-memory node."""

from __future__ import annotations

import json
import os
import socket
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
import trio
from memory_control import InMemoryControl, Served, start_api

from bitcraps.node._cookie import read_cookie, socket_path
from bitcraps.node.api import MAX_BODY_BYTES
from bitcraps.node.api_server import ApiServerError, serve_api


@pytest.fixture
async def client(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.AsyncHTTPTransport(uds=str(served.socket))
    async with httpx.AsyncClient(transport=transport, base_url="http://node",
                                 headers={"authorization": f"Bearer {served.token}"},
                                 timeout=10) as http:
        yield http


def _error(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"], str)
    return body["error"]


async def test_reads_answer_with_the_nodes_data(served: Served,
                                                client: httpx.AsyncClient) -> None:
    control = served.control
    assert (await client.get("/v1/identity")).json() == control.identity()
    assert (await client.get("/v1/status")).json() == control.status()
    assert (await client.get("/v1/peers")).json() == {"peers": control.peers()}
    assert (await client.get("/v1/tables")).json() == {"tables": control.tables()}
    assert (await client.get("/v1/lobby")).json() == {"tables": control.lobby_tables()}
    assert (await client.get("/v1/config")).json() == control.config_show()


async def test_config_set_and_submit_change_the_node(served: Served,
                                                     client: httpx.AsyncClient) -> None:
    answer = await client.post("/v1/config", json={"key": "max_tables", "value": "3"})
    assert answer.status_code == 200
    assert answer.json() == {"key": "max_tables", "value": 3}
    assert served.control.config["max_tables"] == 3

    table_id = next(iter(served.control.table_map))
    answer = await client.post(f"/v1/tables/{table_id}/requests", json={"operation": "0a0b"})
    assert answer.status_code == 200
    assert answer.json()["timestamp"] == 1
    assert served.control.table_map[table_id].log == [b"\x0a\x0b"]


async def test_stop_answers_then_asks_the_node_to_stop(served: Served,
                                                       client: httpx.AsyncClient) -> None:
    answer = await client.post("/v1/stop")
    assert answer.status_code == 202
    assert answer.json() == {"stopping": True}
    with trio.fail_after(5):
        await served.control.stop_requested.wait()


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic abc", "Bearer", ""])
async def test_missing_or_wrong_token_is_401(served: Served, client: httpx.AsyncClient,
                                             header: str | None) -> None:
    headers = {} if header is None else {"authorization": header}
    client.headers.pop("authorization")
    for method, path in [("GET", "/v1/status"), ("POST", "/v1/stop"), ("GET", "/metrics")]:
        answer = await client.request(method, path, headers=headers)
        assert answer.status_code == 401
        assert "token" in _error(answer)
        assert answer.headers["www-authenticate"] == "Bearer"
    assert not served.control.stop_requested.is_set()


@pytest.mark.parametrize(("body", "field"), [
    ({"key": "max_tables"}, "'value' is missing"),
    ({"value": "3"}, "'key' is missing"),
    ({"key": 3, "value": "3"}, "'key' must be a string"),
    ({"key": "max_tables", "value": 3}, "'value' must be a string"),
    ({"key": "max_tables", "value": None}, "'value' must be a string"),
    ({"key": "", "value": "3"}, "'key' must not be empty"),
])
async def test_wrong_field_types_are_400_naming_the_field(
        client: httpx.AsyncClient, body: dict[str, Any], field: str) -> None:
    answer = await client.post("/v1/config", json=body)
    assert answer.status_code == 400
    assert field in _error(answer)


@pytest.mark.parametrize("body, field", [
    ({"replicas": 4}, "'game'"),
    ({"game": "kv"}, "'replicas'"),
    ({"game": "kv", "replicas": "4"}, "'replicas'"),
    ({"game": "kv", "replicas": 4, "seats": True}, "'seats'"),
    ({"game": "kv", "replicas": 4, "min_bet": -1}, "'min_bet'"),
])
async def test_table_create_checks_its_fields(
        client: httpx.AsyncClient, body: dict[str, Any], field: str) -> None:
    answer = await client.post("/v1/tables", json=body)
    assert answer.status_code == 400
    assert field in _error(answer)


async def test_table_create_answers_201_with_the_table_or_the_nodes_refusal(
        client: httpx.AsyncClient) -> None:
    created = await client.post("/v1/tables", json={"game": "kv", "replicas": 3})
    assert created.status_code == 201
    assert created.json()["game"] == "kv" and len(created.json()["replicas"]) == 3
    refused = await client.post("/v1/tables", json={"game": "kv", "replicas": 7})
    assert refused.status_code == 503
    assert _error(refused) == "found 3 of 7 replicas"


async def test_several_operations_commit_in_one_call(served: Served,
                                                    client: httpx.AsyncClient) -> None:
    table_id = next(iter(served.control.table_map))
    answer = await client.post(f"/v1/tables/{table_id}/requests",
                               json={"operations": ["01", "0203"]})
    assert answer.status_code == 200
    assert [r["timestamp"] for r in answer.json()["results"]] == [1, 2]
    for bad in ([], ["zz"], [1], ["00"] * 1025, "00"):
        refused = await client.post(f"/v1/tables/{table_id}/requests",
                                    json={"operations": bad})
        assert refused.status_code == 400 and "'operations'" in _error(refused)


@pytest.mark.parametrize("content", [b"{", b"not json", b"\xff\xfe", b"[1, 2]", b"", b"null"])
async def test_malformed_json_is_400(served: Served, client: httpx.AsyncClient,
                                     content: bytes) -> None:
    table_id = next(iter(served.control.table_map))
    answer = await client.post(f"/v1/tables/{table_id}/requests", content=content,
                               headers={"content-type": "application/json"})
    assert answer.status_code == 400
    assert "JSON" in _error(answer)
    assert served.control.table_map[table_id].log == []


async def test_operation_must_be_hex(served: Served, client: httpx.AsyncClient) -> None:
    table_id = next(iter(served.control.table_map))
    for operation in ["xyz", "abc", 12]:
        answer = await client.post(f"/v1/tables/{table_id}/requests",
                                   json={"operation": operation})
        assert answer.status_code == 400
        assert "'operation'" in _error(answer)


async def test_body_over_the_limit_is_413(served: Served, client: httpx.AsyncClient) -> None:
    big = json.dumps({"key": "log_level", "value": "x" * MAX_BODY_BYTES}).encode()
    answer = await client.post("/v1/config", content=big)
    assert answer.status_code == 413
    assert "over" in _error(answer)

    async def chunks() -> AsyncIterator[bytes]:  # no content-length: counted as it streams
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b" " * 65536

    answer = await client.post("/v1/config", content=chunks())
    assert answer.status_code == 413
    assert served.control.config["log_level"] == "info"


async def test_unknown_route_and_method_are_json(client: httpx.AsyncClient) -> None:
    answer = await client.get("/v1/nope")
    assert answer.status_code == 404
    assert _error(answer) == "Not Found"
    answer = await client.delete("/v1/status")
    assert answer.status_code == 405
    _error(answer)


async def test_control_errors_keep_their_status(served: Served,
                                                client: httpx.AsyncClient) -> None:
    answer = await client.post("/v1/config", json={"key": "api.tcp_port", "value": "1"})
    assert answer.status_code == 409
    assert _error(answer) == "api.tcp_port cannot change while the node runs"
    answer = await client.post("/v1/config", json={"key": "max_tables", "value": "many"})
    assert answer.status_code == 400
    assert _error(answer) == "max_tables must be int"
    answer = await client.post("/v1/tables/00ff/requests", json={"operation": "00"})
    assert answer.status_code == 404
    assert _error(answer) == "no table 00ff"


async def test_a_bug_is_500_without_details_and_logged(served: Served,
                                                       client: httpx.AsyncClient) -> None:
    served.control.broken = True
    with structlog.testing.capture_logs() as logs:
        answer = await client.get("/v1/status")
    assert answer.status_code == 500
    assert answer.json() == {"error": "internal error"}
    assert "secret" not in answer.text
    [entry] = [e for e in logs if e["event"] == "api.internal_error"]
    assert entry["log_level"] == "error"
    assert entry["path"] == "/v1/status"
    assert entry["exc_info"] is True


async def test_metrics_exposition(served: Served, client: httpx.AsyncClient) -> None:
    table_id = next(iter(served.control.table_map))
    await client.post(f"/v1/tables/{table_id}/requests", json={"operation": "01"})
    answer = await client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert f'bitcraps_requests_committed_total{{table="{table_id}"}} 1.0' in answer.text
    assert f'bitcraps_last_executed_seq{{table="{table_id}"}} 1.0' in answer.text


async def test_metrics_can_be_public(nursery: trio.Nursery, data_dir: Path) -> None:
    server = await start_api(nursery, InMemoryControl(), data_dir, metrics_public=True)
    transport = httpx.AsyncHTTPTransport(uds=str(server.socket))
    async with httpx.AsyncClient(transport=transport, base_url="http://node") as http:
        assert (await http.get("/metrics")).status_code == 200
        assert (await http.get("/v1/status")).status_code == 401
    server.shutdown.set()


async def test_two_nodes_keep_separate_registries(nursery: trio.Nursery, data_dir: Path,
                                                  tmp_path: Path) -> None:
    second_dir = data_dir / "second"
    nodes = [await start_api(nursery, InMemoryControl(seed), d)
             for seed, d in [(1, data_dir), (2, second_dir)]]
    texts = []
    for index, node in enumerate(nodes):
        table_id = next(iter(node.control.table_map))
        transport = httpx.AsyncHTTPTransport(uds=str(node.socket))
        async with httpx.AsyncClient(transport=transport, base_url="http://node",
                                     headers={"authorization": f"Bearer {node.token}"}) as http:
            for _ in range(index + 1):
                await http.post(f"/v1/tables/{table_id}/requests", json={"operation": "01"})
            texts.append((table_id, (await http.get("/metrics")).text))
            # one node's token does not open the other
            other = nodes[1 - index]
            answer = await http.get("/v1/status",
                                    headers={"authorization": f"Bearer {other.token}"})
            assert answer.status_code == 401
    (first_table, first), (second_table, second) = texts
    assert f'bitcraps_requests_committed_total{{table="{first_table}"}} 1.0' in first
    assert second_table not in first
    assert f'bitcraps_requests_committed_total{{table="{second_table}"}} 2.0' in second
    assert first_table not in second
    for node in nodes:
        node.shutdown.set()


async def test_socket_and_cookie_are_private(served: Served) -> None:
    assert stat.S_IMODE(os.stat(served.socket).st_mode) == 0o600
    cookie = served.data_dir / "control.cookie"
    assert stat.S_IMODE(os.stat(cookie).st_mode) == 0o600
    assert read_cookie(cookie) == served.token
    assert len(served.token) >= 40
    assert served.binds == [f"http://unix:{served.socket}"]


async def test_shutdown_stops_serving_and_removes_the_socket(nursery: trio.Nursery,
                                                             data_dir: Path) -> None:
    server = await start_api(nursery, InMemoryControl(), data_dir)
    assert server.socket.exists()
    server.shutdown.set()
    with trio.fail_after(5):
        while server.socket.exists():  # serve_api removes it as it returns
            await trio.testing.wait_all_tasks_blocked()
    with pytest.raises(OSError):
        probe = socket.socket(socket.AF_UNIX)
        try:
            probe.connect(str(server.socket))
        finally:
            probe.close()


async def test_stale_socket_is_replaced_but_a_live_one_is_not(nursery: trio.Nursery,
                                                              data_dir: Path) -> None:
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(socket_path(data_dir)))
    stale.close()  # the file stays, nobody listens: a crashed daemon
    server = await start_api(nursery, InMemoryControl(), data_dir)

    app: Any = None
    with pytest.raises(ApiServerError, match="already serving"):
        await serve_api(app, unix_socket=server.socket)
    assert server.socket.exists()
    server.shutdown.set()


async def test_tcp_listener_serves_the_same_app(nursery: trio.Nursery, data_dir: Path) -> None:
    from bitcraps.node.api import build_app

    control = InMemoryControl()
    shutdown = trio.Event()
    binds = await nursery.start(lambda task_status: serve_api(
        build_app(control, "tok"), unix_socket=None, tcp=("127.0.0.1", 0), shutdown=shutdown,
        task_status=task_status))
    [bind] = binds
    assert bind.startswith("http://127.0.0.1:")
    async with httpx.AsyncClient(base_url=bind, headers={"authorization": "Bearer tok"}) as http:
        assert (await http.get("/v1/identity")).json() == control.identity()
    shutdown.set()


# --- hostile input: every case is a 4xx naming the problem, never the 500 handler -----------

DEEP_BODIES = [b"[" * 100_000, b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
               b'{"key": "k", "value": "v", "x": ' + b"[" * 40 + b"]" * 40 + b"}"]


@pytest.mark.parametrize("content", DEEP_BODIES)
async def test_deep_json_is_400_on_every_route_that_reads_a_body(
        served: Served, client: httpx.AsyncClient, content: bytes) -> None:
    table_id = next(iter(served.control.table_map))
    with structlog.testing.capture_logs() as logs:
        for path in ["/v1/config", "/v1/tables", f"/v1/tables/{table_id}/requests",
                     f"/v1/tables/{table_id}/actions", f"/v1/tables/{table_id}/cashout"]:
            answer = await client.post(path, content=content,
                                       headers={"content-type": "application/json"})
            assert answer.status_code == 400, path
            assert "nested more than 32 levels" in _error(answer)
    assert not [e for e in logs if e["event"] == "api.internal_error"]
    assert served.control.config["log_level"] == "info"


@pytest.mark.parametrize(("body", "message"), [
    ({"game": "kv", "replicas": 4, "seats": 10**6}, "'seats' must be between 1 and 1024"),
    ({"game": "kv", "replicas": 4, "max_bet": 2**64}, "'max_bet' must be between"),
    ({"game": "kv", "replicas": 4, "min_bet": 2**63}, "'min_bet' must be between"),
    ({"game": "kv", "replicas": 10**6}, "'replicas' must be between 1 and 64"),
    ({"game": "kv", "replicas": 0}, "'replicas' must be between 1 and 64"),
    ({"game": "kv", "replicas": -4}, "'replicas' must be between 1 and 64"),
    ({"game": "kv", "replicas": 4, "min_bet": 10, "max_bet": 5}, "'min_bet' must not be above"),
    ({"game": "kv", "replicas": 4.0}, "'replicas' must be an integer"),
    ({"game": "kv", "replicas": 4, "seats": 1e300}, "'seats' must be an integer"),
])
async def test_table_create_refuses_out_of_range_numbers(
        client: httpx.AsyncClient, body: dict[str, Any], message: str) -> None:
    with structlog.testing.capture_logs() as logs:
        answer = await client.post("/v1/tables", json=body)
    assert answer.status_code == 400
    assert message in _error(answer)
    assert not [e for e in logs if e["event"] == "api.internal_error"]


@pytest.mark.parametrize("amount", [-1, 0, 2**62 + 1, 2**63, 2**64, 10**40, True, "5", 1.5])
async def test_cash_out_refuses_amounts_out_of_range(
        served: Served, client: httpx.AsyncClient, amount: Any) -> None:
    table_id = next(iter(served.control.table_map))
    answer = await client.post(f"/v1/tables/{table_id}/cashout", json={"amount": amount})
    assert answer.status_code == 400
    assert "'amount'" in _error(answer)
    accepted = await client.post(f"/v1/tables/{table_id}/cashout", json={"amount": 2**62})
    assert accepted.status_code == 200 and accepted.json()["amount"] == 2**62


async def test_a_number_too_long_to_parse_is_400(client: httpx.AsyncClient) -> None:
    content = b'{"game": "kv", "replicas": ' + b"9" * 5000 + b"}"
    answer = await client.post("/v1/tables", content=content)
    assert answer.status_code == 400
    assert "too many digits" in _error(answer)


@pytest.mark.parametrize("roll", ["\u0663", "\u00b3", "\uff13", "1\u0660", "-1", "+3",
                                  "3.0", "9" * 20])
async def test_roll_numbers_are_ascii_digits(served: Served, client: httpx.AsyncClient,
                                             roll: str) -> None:
    table_id = next(iter(served.control.table_map))
    answer = await client.get(f"/v1/tables/{table_id}/rolls/{roll}")
    assert answer.status_code == 400
    assert "ASCII digits" in _error(answer)
    assert (await client.get(f"/v1/tables/{table_id}/rolls/3")).json() == {"roll": 3}


@pytest.mark.parametrize("table_id", ["\u0663\u0663\u0663\u0663", "zzzz", "ab cd", "a" * 65])
async def test_table_ids_in_paths_are_hex(client: httpx.AsyncClient, table_id: str) -> None:
    for method, path in [("GET", f"/v1/tables/{table_id}"),
                         ("POST", f"/v1/tables/{table_id}/cashout"),
                         ("GET", f"/v1/tables/{table_id}/rolls/1")]:
        answer = await client.request(method, path, json={})
        assert answer.status_code == 404, path
        assert "hex digits" in _error(answer)


async def test_operations_are_strict_hex(served: Served, client: httpx.AsyncClient) -> None:
    table_id = next(iter(served.control.table_map))
    for operation in ["0a 0b", " 0a", "\u0663\u0663"]:  # bytes.fromhex would skip the spaces
        answer = await client.post(f"/v1/tables/{table_id}/requests",
                                   json={"operation": operation})
        assert answer.status_code == 400
    assert served.control.table_map[table_id].log == []
