"""The craps demo on real processes: four daemons host a table, three players play it.

Four `bitcraps daemon`s on loopback know each other only as bootstrap peers. Node 0 forms a
craps table with `table create`; the four replicas generate the dice key over the log;
nodes 1-3 are the players: they buy in, bet across the whole layout and roll whenever the
dice come to them. Midway the primary (node 0) is killed with SIGKILL and later restarted:
the table plays on through the view change and node 0 catches up. The demo prints every
roll and settlement and ends with every replica's state digest, a conservation check of the
chips, and each player's cash-out receipt verified offline.
"""

from __future__ import annotations

import random
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from .api_client import ApiClient
from .cmd_play import describe_events
from .process_cluster import Daemon, make_cluster, stop_all, wait_until
from .receipts import ReceiptError, verify_receipt

Say = Callable[[str], None]
BUY_INS = (1_000, 800, 600)
DKG_TIMEOUT_S = 60.0
CONVERGE_TIMEOUT_S = 60.0
SCRIPT_SEED = 7
API_TIMEOUT = httpx.Timeout(60.0, connect=1.0)


class _Player:
    def __init__(self, name: str, daemon: Daemon, table_id: str) -> None:
        self.name = name
        self.daemon = daemon
        self.table_id = table_id

    @property
    def api(self) -> ApiClient:
        """A client that waits out a view change (a roll waits for the coin, too)."""
        return ApiClient(self.daemon.data_dir, timeout=API_TIMEOUT)

    def act(self, body: dict[str, Any]) -> list[dict[str, Any]] | str:
        """The action's events, or the table's reason for refusing it."""
        from ._cli_errors import CliError

        try:
            answer = self.api.post(f"/v1/tables/{self.table_id}/actions", body)
        except CliError as refusal:
            return str(refusal)
        events: list[dict[str, Any]] = answer["events"]
        return events


def _bets_for(game: dict[str, Any], me: str, rng: random.Random) -> list[dict[str, Any]]:
    """A varied, seeded choice of bets for one player before one roll."""
    come_out = game["point"] is None
    mine = [b for b in game["bets"] if b["player"] == me]
    line = "pass" if rng.random() < 0.7 else "dont_pass"
    choices: list[dict[str, Any]] = []
    if come_out and not any(b["kind"] in ("pass", "dont_pass") for b in mine):
        choices.append({"action": "bet", "kind": line, "amount": 10})
    if not come_out:
        choices.append({"action": "bet", "kind": rng.choice(["come", "dont_come"]),
                        "amount": 10})
        for bet in mine:
            if bet["kind"] in ("pass", "come", "dont_pass", "dont_come") and bet["number"] \
                    and not any(o.get("base") == bet["bet_id"] for o in mine):
                # 30: a multiple that odds and lay odds on every point are taken in
                choices.append({"action": "odds", "bet_id": bet["bet_id"], "amount": 30})
                break
    side = rng.choice([
        {"kind": "field", "amount": 5}, {"kind": "place", "amount": 12, "number": 6},
        {"kind": "place", "amount": 10, "number": 5}, {"kind": "buy", "amount": 20, "number": 4},
        {"kind": "lay", "amount": 40, "number": 10}, {"kind": "big", "amount": 6, "number": 8},
        {"kind": "hardway", "amount": 5, "number": 8}, {"kind": "any_seven", "amount": 5},
        {"kind": "any_craps", "amount": 5}, {"kind": "horn", "amount": 8},
        {"kind": "c_and_e", "amount": 6}, {"kind": "hop", "amount": 5, "number": 34},
        {"kind": "yo", "amount": 5}, {"kind": "aces", "amount": 5},
        {"kind": "boxcars", "amount": 5}, {"kind": "ace_deuce", "amount": 5},
    ])
    choices.append({"action": "bet", **side})
    return choices


def _game(daemon: Daemon, table_id: str) -> dict[str, Any]:
    shown: dict[str, Any] = daemon.api.get(f"/v1/tables/{table_id}")["craps"]
    return shown


def _start(daemons: list[Daemon], say: Say) -> str:
    for daemon in daemons:
        daemon.start()
        say(f"  node {daemon.index}: {daemon.node_id[:16]}, /ip4/127.0.0.1/tcp/{daemon.port}")
    table_id = daemons[0].create_table("--game", "craps", "--replicas", "4",
                                       "--min-bet", "5", "--max-bet", "500")
    for daemon in daemons:
        daemon.table_id = table_id
    say(f"node 0 formed craps table {table_id} with all four as replicas; generating the "
        f"dice key over the log (Joint-Feldman DKG)...")
    started = time.monotonic()
    wait_until("the dice key", lambda: all(_game(d, table_id)["dice"]["ready"] for d in daemons),
          DKG_TIMEOUT_S)
    say(f"  dice key ready in {time.monotonic() - started:.1f} s")
    return table_id


def _play(players: list[_Player], rolls: int, daemons: list[Daemon], say: Say) -> int:
    rng = random.Random(SCRIPT_SEED)
    by_key = {p.daemon.node_id: p for p in players}
    refused = 0
    primary = daemons[0]
    # Read the game from the node that made the last roll: its replica has executed it (its
    # roll waited for that), while another node's may still lag by a roll after a seven-out.
    source = players[0].daemon
    for number in range(rolls):
        if number == rolls // 3:
            say(f"-- kill -9 node 0 (the primary) before roll {number}; the other three "
                f"change view and play on --")
            primary.kill(signal.SIGKILL)
        if number == 2 * rolls // 3:
            say(f"-- restart node 0 from its own database before roll {number} --")
            primary.start()
        game = _game(source, players[0].table_id)
        for player in players:
            for bet in _bets_for(game, player.daemon.node_id, rng):
                outcome = player.act(bet)
                if isinstance(outcome, str):
                    refused += 1
        shooter = by_key[game["shooter"]]
        rolled = shooter.api.post(f"/v1/tables/{shooter.table_id}/roll")
        source = shooter.daemon
        die1, die2 = rolled["dice"]
        say(f"roll {rolled['roll']:>2} by {shooter.name}: {die1} + {die2} = {die1 + die2}")
        for line in describe_events(rolled["events"]):
            if not line.startswith("rolled"):
                say(f"    {_named(line, players)}")
    return refused


def _named(line: str, players: list[_Player]) -> str:
    for player in players:
        line = line.replace(player.daemon.node_id[:8], player.name)
    return line


def _finish(players: list[_Player], daemons: list[Daemon], table_id: str, say: Say) -> bool:
    say("cash out, each with a receipt signed by 2f+1 replicas:")
    receipts_ok = True
    for player in players:
        # The game ends mid-hand: bets still working stay on the table, said as such.
        answer = player.api.post(f"/v1/tables/{table_id}/cashout", {"leave_bets": True})
        try:
            verified = verify_receipt(answer["receipt"])
            signers = ", ".join(map(str, verified.signers))
            cashed = [e for e in answer["events"] if e["type"] == "CashedOut"]
            said = _named(describe_events(cashed)[0], players)
            say(f"  {said}; receipt verified, signed by replicas {signers}")
        except ReceiptError as exc:
            receipts_ok = False
            say(f"  {player.name}: receipt REJECTED: {exc}")
    wait_until("every replica to converge", lambda: len(
        {d.table()["state_digest"] for d in daemons}) == 1, CONVERGE_TIMEOUT_S)
    for daemon in daemons:
        table = daemon.table()
        say(f"  replica {daemon.index}: view {table['view']}, seq "
            f"{table['last_executed_seq']}, state digest {table['state_digest'][:16]}")
    bank = _game(daemons[0], table_id)["bank"]
    game = _game(daemons[0], table_id)
    held = sum(game["balances"].values()) + bank["escrowed"] + bank["bank"]
    conserved = held == bank["total_chips"] == (
        bank["bankroll"] + bank["bought_in"] - bank["cashed_out"])
    say(f"chips: bankroll {bank['bankroll']} + bought in {bank['bought_in']} - cashed out "
        f"{bank['cashed_out']} = {held} held by the bank, the players and open bets: "
        + ("conserved" if conserved else "NOT conserved"))
    return conserved and receipts_ok


def run_craps_demo(rolls: int = 50, say: Say = print) -> int:
    root = Path(tempfile.mkdtemp(prefix="bcdemo-", dir="/tmp"))
    daemons = make_cluster(4, root=root, shared_table=False)
    try:
        say(f"Four daemons on loopback, each with its own identity and SQLite logs under "
            f"{root}:")
        table_id = _start(daemons, say)
        players = [_Player(name, daemon, table_id)
                   for name, daemon in zip(("ann", "bo", "cy"), daemons[1:], strict=True)]
        for player, buy_in in zip(players, BUY_INS, strict=True):
            player.act({"action": "join", "buy_in": buy_in})
            say(f"  {player.name} (node {player.daemon.index}) buys in for {buy_in}")
        refused = _play(players, rolls, daemons, say)
        say(f"{rolls} rolls played; the table refused {refused} bets (wrong phase, limits), "
            f"each with its reason")
        ok = _finish(players, daemons, table_id, say)
        codes = [daemon.kill(signal.SIGTERM) for daemon in daemons]
        say(f"SIGTERM to all four: exit codes {codes}")
        return 0 if ok and not any(codes) else 1
    finally:
        stop_all(daemons)
        shutil.rmtree(root, ignore_errors=True)
