"""A craps table's shooter timeout is the table's own: carried in its terms (so its id
commits to it), in ``[[tables]]`` blocks, in charters, and set by
``bitcraps table create --shooter-timeout-s S`` (S seconds at the creator's tick)."""

from __future__ import annotations

import shutil
from typing import Any

import httpx
import msgpack
import pytest
import trio
from memory_control import Served
from nacl.signing import SigningKey

from bitcraps.games.table_terms import SHOOTER_TIMEOUT_PARAM, TableTerms
from bitcraps.node._charter import Charter, CharterError, decode_charter, sign_charter
from bitcraps.node._control import ControlError
from bitcraps.node.cli import main
from bitcraps.node.config import TableSection, load_config, parse_config
from bitcraps.node.daemon import open_node
from bitcraps.node.game_hosting import craps_rules, shooter_timeout_params
from bitcraps.node.identity import IDENTITY_FILE, load_identity
from bitcraps.node.process_cluster import make_cluster
from bitcraps.node.table_blocks import new_terms, table_block
from bitcraps.node.table_formation import CharterStore

KEYS = [SigningKey(bytes([i + 7]) * 32) for i in range(4)]
PUBLIC = tuple(bytes(k.verify_key) for k in KEYS)
SALT = bytes(range(16))
TIMED = ((SHOOTER_TIMEOUT_PARAM, 100),)


def _charter(params: tuple[tuple[str, int], ...]) -> Charter:
    terms = TableTerms("craps", PUBLIC, 1, 100, 8, SALT, params)
    addresses = tuple((f"/ip4/127.0.0.1/tcp/{4000 + i}",) for i in range(4))
    unsigned = Charter(terms.table_id, "craps", PUBLIC, addresses, 1, 100, 8, SALT, PUBLIC[0],
                       params=params)
    return sign_charter(unsigned, lambda message: KEYS[0].sign(message).signature)


def test_a_tables_block_carries_the_timeout_and_its_id_commits_to_it() -> None:
    terms = new_terms("craps", PUBLIC, salt=SALT, shooter_timeout_ticks=100)
    assert terms.params == TIMED
    assert terms.table_id != new_terms("craps", PUBLIC, salt=SALT).table_id
    config = parse_config(table_block(terms))
    [section] = config.tables
    assert section.shooter_timeout_ticks == 100 and section.terms == terms
    assert craps_rules(section.terms).shooter_timeout_ticks == 100
    # The same block with another timeout (or none) names a table its terms do not derive.
    for changed in ("shooter_timeout_ticks = 101\n", ""):
        text = table_block(terms).replace("shooter_timeout_ticks = 100\n", changed)
        with pytest.raises(Exception, match="does not match the table's terms"):
            parse_config(text)


@pytest.mark.parametrize("ticks", [0, -1, 10_000_001])
def test_a_tables_block_refuses_a_timeout_out_of_range(ticks: int) -> None:
    fields: dict[str, Any] = {"table_id": "00" * 16, "salt": SALT.hex(), "game": "craps",
                              "replicas": [PUBLIC[0].hex()], "shooter_timeout_ticks": ticks}
    with pytest.raises(ValueError, match="shooter_timeout_ticks"):
        TableSection.model_validate(fields)


def test_a_charter_carries_the_timeout_signed_and_committed_to() -> None:
    timed = _charter(TIMED)
    data = timed.encode()
    assert msgpack.unpackb(data)[0] == 3
    assert decode_charter(data) == timed and timed.terms.params == TIMED
    plain = _charter(())
    assert msgpack.unpackb(plain.encode())[0] == 2  # as charters were written before
    assert decode_charter(plain.encode()).params == ()
    fields = msgpack.unpackb(data, raw=False)
    fields[9] = [[SHOOTER_TIMEOUT_PARAM, 50]]  # another timeout: another table, another id
    with pytest.raises(CharterError, match="table id"):
        decode_charter(msgpack.packb(fields, use_bin_type=True))
    for params in ([], "x", [["a"]], [[1, 2]]):
        fields[9] = params
        with pytest.raises(CharterError):
            decode_charter(msgpack.packb(fields, use_bin_type=True))
    with pytest.raises(CharterError):  # version 2 has no params field
        decode_charter(msgpack.packb([2, *msgpack.unpackb(data, raw=False)[1:]],
                                     use_bin_type=True))


def test_seconds_become_ticks_of_the_creators_tick_rounded_up() -> None:
    assert shooter_timeout_params(None, 50) == ()
    assert shooter_timeout_params(5, 50) == ((SHOOTER_TIMEOUT_PARAM, 100),)
    assert shooter_timeout_params(1, 60_000) == ((SHOOTER_TIMEOUT_PARAM, 1),)
    assert shooter_timeout_params(7, 3) == ((SHOOTER_TIMEOUT_PARAM, 2334),)
    for seconds, tick_ms in [(0, 50), (86_401, 50), (86_400, 1)]:
        with pytest.raises(ControlError) as refused:
            shooter_timeout_params(seconds, tick_ms)
        assert refused.value.status == 400


async def test_table_create_puts_the_timeout_in_the_terms_and_the_stored_charter() -> None:
    [daemon] = make_cluster(1, shared_table=False)
    try:
        config = load_config(daemon.data_dir / "node.toml")
        identity = load_identity(daemon.data_dir / IDENTITY_FILE)
        tick_ms = config.consensus.tick_ms
        async with open_node(config, identity) as node:
            with trio.fail_after(20):
                created = await node.create_table("craps", 1, shooter_timeout_s=3)
            table = node.tables_by_id[bytes.fromhex(created["table_id"])]
            ticks = -(-3000 // tick_ms)
            assert table.section.terms.params == ((SHOOTER_TIMEOUT_PARAM, ticks),)
            assert table.craps is not None
            assert table.craps.app.config.shooter_timeout_ticks == ticks
            with pytest.raises(ControlError):
                await node.create_table("craps", 1, shooter_timeout_s=0)
        charters, problems = CharterStore(daemon.data_dir).load_all()
        assert not problems and charters[0].params == ((SHOOTER_TIMEOUT_PARAM, ticks),)
    finally:
        shutil.rmtree(daemon.data_dir.parent, ignore_errors=True)


@pytest.mark.parametrize(("seconds", "status"), [(30, 201), (0, 400), (86_401, 400),
                                                 (True, 400), ("30", 400)])
async def test_the_api_ranges_the_timeout(served: Served, seconds: object, status: int) -> None:
    transport = httpx.AsyncHTTPTransport(uds=str(served.socket))
    async with httpx.AsyncClient(transport=transport, base_url="http://node", timeout=10,
                                 headers={"authorization": f"Bearer {served.token}"}) as http:
        answer = await http.post("/v1/tables", json={"game": "craps", "replicas": 1,
                                                     "shooter_timeout_s": seconds})
    assert answer.status_code == status
    if status == 400:
        assert "'shooter_timeout_s'" in answer.json()["error"]
    else:
        assert served.control.created_with["shooter_timeout_s"] == seconds


async def test_the_cli_sends_the_timeout_and_prints_a_refusal_as_one_line(
        served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    at = ["--data-dir", str(served.data_dir)]
    create = ["table", "create", "--game", "craps", "--replicas", "1", *at]
    with trio.fail_after(20):
        code = await trio.to_thread.run_sync(main, [*create, "--shooter-timeout-s", "45"])
    assert code == 0 and served.control.created_with["shooter_timeout_s"] == 45
    capsys.readouterr()
    with trio.fail_after(20):
        code = await trio.to_thread.run_sync(main, [*create, "--shooter-timeout-s", "90000"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("bitcraps: error: ") and err.count("\n") == 1
    assert "shooter_timeout_s" in err
