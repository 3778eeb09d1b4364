"""The API's idempotency keys and request lookups, as the HTTP layer checks and passes them
(a served in-memory node; what the node does with them: test_request_keys.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from memory_control import PENDING_ID, Served


@pytest.fixture
async def client(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.AsyncHTTPTransport(uds=str(served.socket))
    async with httpx.AsyncClient(transport=transport, base_url="http://bitcraps",
                                 headers={"authorization": f"Bearer {served.token}"}) as c:
        yield c


def _table(served: Served) -> str:
    return next(iter(served.control.table_map))


async def test_keys_reach_the_node_from_the_header_and_each_batch_entry(
        served: Served, client: httpx.AsyncClient) -> None:
    table = _table(served)
    answer = await client.post(f"/v1/tables/{table}/requests", json={"operation": "01"},
                               headers={"idempotency-key": "order-1"})
    assert answer.status_code == 200
    batch = {"operations": ["02", {"operation": "03", "id": "order-2"}, {"operation": "04"}]}
    answer = await client.post(f"/v1/tables/{table}/requests", json=batch)
    assert answer.status_code == 200 and len(answer.json()["results"]) == 3
    answer = await client.post(f"/v1/tables/{table}/actions", json={"action": "pass"},
                               headers={"idempotency-key": "act-1"})
    assert answer.status_code == 200
    assert served.control.keys_given == ["order-1", None, "order-2", None, "act-1"]


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "caf\u00e9"])
async def test_a_malformed_key_is_400_and_nothing_is_sent(
        served: Served, client: httpx.AsyncClient, key: str) -> None:
    table = _table(served)
    answer = await client.post(f"/v1/tables/{table}/requests", json={"operation": "01"},
                               headers={"idempotency-key": key.encode("utf-8")})
    assert answer.status_code == 400 and "Idempotency-Key" in answer.json()["error"]
    entry = {"operation": "01", "id": key}
    answer = await client.post(f"/v1/tables/{table}/requests", json={"operations": [entry]})
    assert answer.status_code == 400 and "'id'" in answer.json()["error"]
    assert served.control.keys_given == []


async def test_a_batch_takes_keys_per_operation_not_the_header(
        served: Served, client: httpx.AsyncClient) -> None:
    table = _table(served)
    for body, headers in [({"operations": ["01"]}, {"idempotency-key": "k"}),
                          ({"operations": [{"operation": "01", "extra": 1}]}, {}),
                          ({"operations": [{"id": "k"}]}, {})]:
        answer = await client.post(f"/v1/tables/{table}/requests", json=body, headers=headers)
        assert answer.status_code == 400
    assert served.control.keys_given == []


async def test_an_outcome_unknown_answer_names_the_request(
        served: Served, client: httpx.AsyncClient) -> None:
    table = _table(served)
    served.control.act_answer = "pending"
    answer = await client.post(f"/v1/tables/{table}/actions", json={"action": "pass"})
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "pending" and body["request_id"] == PENDING_ID
    assert body["table_id"] == table and "outcome unknown" in body["error"]


async def test_a_lookup_checks_its_id_and_wait(served: Served,
                                               client: httpx.AsyncClient) -> None:
    table = _table(served)
    served.control.requests[PENDING_ID] = {"status": "executed", "seq": 3, "result": "00"}
    answer = await client.get(f"/v1/tables/{table}/requests/{PENDING_ID.upper()}?wait_s=60")
    assert answer.status_code == 200 and answer.json()["status"] == "executed"
    assert served.control.lookups == [(PENDING_ID, 60.0)]
    for bad in ["abc", "zz" * 16, "5e" * 17]:
        answer = await client.get(f"/v1/tables/{table}/requests/{bad}")
        assert answer.status_code == 404 and "32 hex digits" in answer.json()["error"]
    for wait in ["61", "-1", "1.5", "\u0663", "9" * 5000]:
        answer = await client.get(f"/v1/tables/{table}/requests/{PENDING_ID}",
                                  params={"wait_s": wait})
        assert answer.status_code == 400 and "wait_s" in answer.json()["error"]
