"""Craps across four real daemons: a table formed with `table create --game craps`, its dice
key generated over the log, players betting and rolling through the CLI, a replica killed -9
mid-game, rolls checked offline, and a cash-out receipt signed by 2f+1 replicas."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bitcraps.node.process_cluster import BITCRAPS, Daemon, make_cluster, stop_all, wait_until


@pytest.fixture
def table() -> Iterator[tuple[list[Daemon], str]]:
    daemons = make_cluster(4, shared_table=False)
    try:
        for daemon in daemons:
            daemon.start()
        table_id = daemons[0].create_table("--game", "craps", "--replicas", "4", "--min-bet", "5",
                                           "--max-bet", "500")
        for daemon in daemons:
            daemon.table_id = table_id
        wait_until("the dice key", lambda: all(
            d.api.get(f"/v1/tables/{table_id}")["craps"]["dice"]["ready"] for d in daemons))
        yield daemons, table_id
    finally:
        stop_all(daemons)


def cli(daemon: Daemon | None, *args: str) -> subprocess.CompletedProcess[str]:
    where = [] if daemon is None else ["--data-dir", str(daemon.data_dir)]
    return subprocess.run([BITCRAPS, *args, *where], capture_output=True, text=True,
                          timeout=120)


def ok(daemon: Daemon | None, *args: str) -> dict:  # type: ignore[type-arg]
    done = cli(daemon, *args, "--json")
    assert done.returncode == 0, f"{args}: {done.stderr}"
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def refused(daemon: Daemon, *args: str) -> str:
    done = cli(daemon, *args)
    assert done.returncode == 2, (args, done.stdout)
    assert "Traceback" not in done.stderr
    return done.stderr


def game(daemon: Daemon, table_id: str) -> dict:  # type: ignore[type-arg]
    return daemon.api.get(f"/v1/tables/{table_id}")["craps"]  # type: ignore[no-any-return]


def test_players_bet_roll_verify_and_cash_out_through_a_kill_9(
        table: tuple[list[Daemon], str]) -> None:
    daemons, table_id = table
    short = table_id[:8]
    alice, bob = daemons[1], daemons[2]
    ok(alice, "table", "join", short, "--buy-in", "1000")
    ok(bob, "table", "join", short, "--buy-in", "500")
    assert game(alice, table_id)["shooter"] == alice.node_id

    pass_bet = ok(alice, "bet", short, "pass", "10")["events"][0]
    ok(alice, "bet", short, "field", "5")
    ok(bob, "bet", short, "dont_pass", "10")
    ok(bob, "bet", short, "hop", "5", "--number", "34")
    for _ in range(2):
        ok(bob, "bet", short, "any_seven", "200")
    before = game(alice, table_id)
    assert "(not_shooter)" in refused(bob, "roll", short)
    assert "invalid choice: 'parlay'" in refused(alice, "bet", short, "parlay", "5")
    assert "amount" in refused(alice, "bet", short, "field", "0")
    assert "(under_minimum)" in refused(alice, "bet", short, "field", "1")
    assert "(over_limit)" in refused(bob, "bet", short, "field", "5000")
    assert "(insufficient_chips)" in refused(bob, "bet", short, "field", "200")
    assert game(alice, table_id) == before  # refused actions change nothing
    ok(bob, "table", "join", short, "--buy-in", "400")  # buys more chips

    def roll() -> dict:  # type: ignore[type-arg]
        """As whoever holds the dice now (a seven-out passes them on)."""
        shooter = game(alice, table_id)["shooter"]
        return ok(next(p for p in (alice, bob) if p.node_id == shooter), "roll", short)

    rolls = [roll() for _ in range(3)]
    assert [r["roll"] for r in rolls] == [0, 1, 2]
    assert any(e["type"] == "Rolled" for e in rolls[0]["events"])
    open_bets = {bet["bet_id"] for bet in game(alice, table_id)["bets"]}
    if pass_bet["bet_id"] in open_bets:  # the pass bet stands on a point: odds behind it
        ok(alice, "bet", short, "odds", "20", "--on", str(pass_bet["bet_id"]))
    else:
        assert "(no_such_bet)" in refused(alice, "bet", short, "odds", "20", "--on",
                                          str(pass_bet["bet_id"]))

    # A replica dies mid-game; the table rolls on with three, and it catches up.
    victim = daemons[3]
    assert victim.kill(signal.SIGKILL) == -signal.SIGKILL
    rolls += [roll() for _ in range(3)]
    victim.start()
    rolls.append(roll())
    wait_until("the restarted replica to converge", lambda: len(
        {d.table()["state_digest"] for d in daemons}) == 1)

    # The dice physics ran in every replica's execution: its final-state hash is part of
    # the agreed state, and a replay of the throw from the seed lands on the same state.
    assert all(len(bytes.fromhex(r["final_state_hash"])) == 32 for r in rolls)
    replayed = bob.api.get(f"/v1/tables/{table_id}/rolls/{rolls[-1]['roll']}/animation")
    assert replayed["matches_executed_roll"] and replayed["shown_values"] == rolls[-1]["dice"]
    assert bob.api.get("/v1/status")["accel"]["physics"]["backend"]

    for rolled in rolls:  # every roll checks out, from any node, against the table's key
        verified = ok(bob, "roll", "verify", table_id, str(rolled["roll"]))
        assert verified["ok"] and verified["dice"] == rolled["dice"]
        assert len(verified["dice_key_signed_by"]) >= 2  # f+1 replicas stated the key
    assert "the whole table id" in refused(bob, "roll", "verify", short, "0")

    shown = game(bob, table_id)
    bank = shown["bank"]
    assert bank["total_chips"] == bank["bankroll"] + bank["bought_in"] - bank["cashed_out"]
    assert sum(shown["balances"].values()) + bank["escrowed"] + bank["bank"] == \
        bank["total_chips"]

    # Bob's don't pass may still stand: cashing out all chips with bets working is refused
    # unless asked, and the answer says what stays on the table.
    if any(bet["player"] == bob.node_id for bet in game(bob, table_id)["bets"]):
        assert "--leave-bets" in refused(bob, "cashout", short)
    cashed = ok(bob, "cashout", short, "--leave-bets")
    assert cashed["chips_on_bets"] == sum(bet["escrow"] for bet in cashed["bets_working"])
    receipt_file = Path(cashed["receipt_file"])
    assert len(json.loads(receipt_file.read_text())["replies"]) >= 3
    verified = ok(None, "receipt", "verify", str(receipt_file))
    assert verified["player"] == bob.node_id and len(verified["signed_by"]) >= 3

    forged = json.loads(receipt_file.read_text())
    forged["replies"] = forged["replies"][:2]
    receipt_file.write_text(json.dumps(forged))
    rejected = cli(None, "receipt", "verify", str(receipt_file))
    assert rejected.returncode == 2 and "2f+1" in rejected.stderr
