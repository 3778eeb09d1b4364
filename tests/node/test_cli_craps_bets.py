"""The CLI's bet commands and cash-outs against one real node in process (real libp2p,
SQLite, replica, craps table and API socket): `takedown`, `turn-off` and `turn-on` by bet
id; `cashout` says what stays on the table and refuses to leave bets behind unless asked
(`--leave-bets`); `leave` cashes out with a receipt and gives up the seat; a cash-out of
every chip with no bet left walks away; a bad amount is one error line, exit 2."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio

from bitcraps.node.cli import main
from bitcraps.node.config import load_config
from bitcraps.node.daemon import Node, open_node
from bitcraps.node.identity import IDENTITY_FILE, load_identity
from bitcraps.node.process_cluster import make_cluster

Capture = pytest.CaptureFixture[str]
LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[")  # the node's own log, same stdout


def _without_logs(out: str) -> str:
    return "".join(line for line in out.splitlines(keepends=True) if not LOG_LINE.match(line))


class Player:
    """The node's own player, driving it through `bitcraps` as a user would."""

    def __init__(self, node: Node, data_dir: str, capsys: Capture) -> None:
        self.node, self.data_dir, self.capsys = node, data_dir, capsys
        self.me = node.node_identity.public_key.hex()

    async def run(self, *argv: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        with trio.fail_after(30):
            code = await trio.to_thread.run_sync(main, [*argv, "--data-dir", self.data_dir])
        out, err = self.capsys.readouterr()
        return code, _without_logs(out), err

    async def ok(self, *argv: str) -> str:
        code, out, err = await self.run(*argv)
        assert code == 0, err
        return out

    async def refused(self, *argv: str) -> str:
        code, out, err = await self.run(*argv)
        assert code == 2 and out == "" and err.startswith("bitcraps: error: ")
        assert err.count("\n") == 1 and "internal error" not in err
        return err

    async def bet(self, table: str, *words: str) -> int:
        answer = json.loads(await self.ok("bet", table, *words, "--json"))
        bet_id: int = answer["events"][0]["bet_id"]
        return bet_id

    def game(self, table: str) -> dict[str, Any]:
        shown: dict[str, Any] = self.node.table_game(table)["craps"]
        return shown


@asynccontextmanager
async def seated(capsys: Capture, buy_in: int = 100) -> AsyncIterator[tuple[Player, str]]:
    """A one-replica craps table with this node's player seated."""
    [daemon] = make_cluster(1, shared_table=False)
    try:
        config = load_config(daemon.data_dir / "node.toml")
        identity = load_identity(daemon.data_dir / IDENTITY_FILE)
        async with open_node(config, identity) as node:
            with trio.fail_after(30):
                table_id = (await node.create_table("craps", 1))["table_id"]
                await node.table_act(table_id, {"action": "join", "buy_in": buy_in})
            yield Player(node, str(daemon.data_dir), capsys), table_id
    finally:
        shutil.rmtree(daemon.data_dir.parent, ignore_errors=True)


async def test_takedown_and_turn_off_and_on_by_bet_id(capsys: Capture) -> None:
    async with seated(capsys) as (player, table):
        place = await player.bet(table, "place", "12", "--number", "6")
        assert await player.ok("turn-off", table[:10], str(place)) == f"bet {place} is off\n"
        assert player.game(table)["bets"][0]["working"] == "off"
        assert await player.ok("turn-on", table[:10], str(place)) == f"bet {place} is on\n"
        assert player.game(table)["bets"][0]["working"] == "on"
        out = await player.ok("takedown", table[:10], str(place))
        assert out.startswith(f"bet {place} (") and "returned, +0" in out
        assert player.game(table)["bets"] == []
        assert player.game(table)["balances"][player.me] == 100
        line = await player.bet(table, "pass", "10")
        assert "(cannot_turn_off)" in await player.refused("turn-off", table, str(line))
        assert "(no_such_bet)" in await player.refused("takedown", table, "999")
        assert "BET_ID" in await player.refused("takedown", table, "x")


async def test_cashout_with_bets_working_is_refused_unless_asked(capsys: Capture) -> None:
    async with seated(capsys) as (player, table):
        line = await player.bet(table, "pass", "10")
        place = await player.bet(table, "place", "12", "--number", "8")
        err = await player.refused("cashout", table)
        assert "2 bets working (22 chips" in err and "--leave-bets" in err
        assert f"bet {line} pass 10" in err and f"bet {place} place 8 12" in err
        assert player.game(table)["balances"][player.me] == 78  # nothing changed

        out = (await player.ok("cashout", table, "--leave-bets")).splitlines()
        assert out[0] == f"{player.me[:8]} cashed out 78: balance 0"
        assert out[-1] == (f"still on the table, at risk: 2 bets working, 22 chips (bet "
                           f"{line} pass 10, bet {place} place 8 12); you keep your seat")
        shown = player.game(table)
        assert player.me in shown["seats"] and len(shown["bets"]) == 2


async def test_a_partial_cashout_says_what_stays_as_json(capsys: Capture) -> None:
    async with seated(capsys) as (player, table):
        line = await player.bet(table, "pass", "10")
        answer = json.loads(await player.ok("cashout", table, "--amount", "50", "--json"))
        assert answer["bets_working"] == [{"bet_id": line, "kind": "pass", "number": None,
                                           "amount": 10, "escrow": 10}]
        assert answer["chips_on_bets"] == 10 and answer["seated"] is True
        assert len(answer["receipt"]["replies"]) == 1


async def test_cashing_out_everything_with_no_bets_leaves_the_seat(capsys: Capture) -> None:
    async with seated(capsys) as (player, table):
        out = (await player.ok("cashout", table)).splitlines()
        who = player.me[:8]
        assert out[:3] == [f"{who} cashed out 100: balance 0", f"{who} left the table",
                           "the dice pass to nobody"]
        assert out[-1] == "nothing left on the table; you left your seat"
        shown = player.game(table)
        assert shown["seats"] == [] and shown["shooter"] is None


async def test_leave_takes_every_chip_with_a_receipt(capsys: Capture) -> None:
    async with seated(capsys) as (player, table):
        bet = await player.bet(table, "field", "5")
        err = await player.refused("leave", table)
        assert f"1 bet working (bet {bet} field)" in err and "bitcraps takedown" in err
        await player.ok("takedown", table, str(bet))
        receipt = player.data_dir + "/leave-receipt.json"
        out = (await player.ok("leave", table, "--receipt", receipt)).splitlines()
        assert out[0] == f"{player.me[:8]} cashed out 100: balance 0"
        assert f"{player.me[:8]} left the table" in out
        assert json.loads(open(receipt).read())["replies"]
        assert player.game(table)["seats"] == []
        assert "not seated" in await player.refused("leave", table)


async def test_leave_with_no_chips_left_gives_up_the_seat(capsys: Capture) -> None:
    """All in on the field until it loses (5 of 9 rolls lose it; 40 tries all winning
    would be a (4/9)**40 < 1e-14 event): then there is nothing to cash out, and leave
    gives up the seat by the table's leave action."""
    async with seated(capsys, buy_in=5) as (player, table):
        with trio.fail_after(120):
            await player.node.lobby.wait_until(  # the dice key: generated once, at the start
                lambda _: player.game(table)["dice"]["ready"])
            for _ in range(40):
                balance = player.game(table)["balances"][player.me]
                if balance == 0:
                    break
                await player.bet(table, "field", str(balance))
                await player.node.table_roll(table)
        assert player.game(table)["balances"][player.me] == 0
        assert "(nothing_to_cash_out)" in await player.refused("cashout", table)
        out = await player.ok("leave", table)
        assert out.splitlines()[0] == f"{player.me[:8]} left the table"
        assert player.game(table)["seats"] == []


@pytest.mark.parametrize("argv", [
    ["cashout", "abcd", "--amount", "0"],
    ["cashout", "abcd", "--amount", "-5"],
    ["cashout", "abcd", "--amount", "lots"],
    ["bet", "abcd", "field", "0"],
    ["table", "join", "abcd", "--buy-in", "0"],
    ["table", "create", "--game", "craps", "--seats", "0"],
    ["turn-on", "abcd", "0"],
])
def test_a_bad_number_is_one_error_line(argv: list[str], capsys: Capture) -> None:
    assert main([*argv, "--data-dir", "/nonexistent"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("bitcraps: error: ") and err.count("\n") == 1
    assert "expected an integer from" in err
