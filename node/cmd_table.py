"""``bitcraps table create``: form a table with replica-capable peers and announce it.

The daemon picks the peers (see `table_formation`), so this command only asks it and prints
the new table, with a warning when it tolerates no faulty replica (fewer than 4 replicas:
`fault_tolerance`). A number out of range (``--seats 0``, a buy-in of 0) is one ``bitcraps:
error:`` line, exit 2. Lean like ``cmd_control``: nothing heavy is imported at module level.
"""

from __future__ import annotations

import argparse
import sys

from bitcraps.node._cli_input import whole_number
from bitcraps.node.cmd_control import api_client, control_options, print_fields, print_json

__all__ = ["add_parser"]

CREATE_TIMEOUT_S = 60.0
CHIPS = 1 << 62  # the most chips on a table at once


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    table = subparsers.add_parser("table", help="form and play at tables")
    actions = table.add_subparsers(title="actions", metavar="<action>", dest="action")

    def usage(args: argparse.Namespace) -> int:
        table.print_help(sys.stderr)
        return 2

    table.set_defaults(run=usage)
    create = actions.add_parser(
        "create", parents=[control_options()],
        help="form a table: this node and N-1 replica-capable peers run it; announce it")
    create.add_argument("--game", required=True, choices=("craps", "kv"),
                        help="the game the table plays: craps, or kv (a replicated "
                             "key-value store, for tests and benchmarks)")
    create.add_argument("--replicas", default="4",
                        help="replicas, this node included, 1 to 64 (default 4: tolerates 1 "
                             "faulty replica; 1 to 3 tolerate none, 7 tolerate 2: n = 3f+1)")
    create.add_argument("--min-bet", default="1", help="table minimum (default 1)")
    create.add_argument("--max-bet", default="1000", help="table maximum (default 1000)")
    create.add_argument("--seats", default="8",
                        help="player seats, at least 1 (default 8; a craps table seats 64 "
                             "at most)")
    create.add_argument("--shooter-timeout-s", default=None, metavar="S",
                        help="craps: seconds a shooter has to roll before the table passes "
                             "the dice on (1 to 86400; the daemon's consensus tick turns it "
                             "into ticks in the table's terms; default 60 s at a 50 ms tick)")
    create.set_defaults(run=_run_create)
    join = actions.add_parser("join", parents=[control_options()],
                              help="sit at a craps table this node hosts, buying chips")
    join.add_argument("table", help="table id (or a unique prefix)")
    join.add_argument("--buy-in", required=True, help="chips to buy")
    join.set_defaults(run=_run_join)
    show = actions.add_parser("show", parents=[control_options()],
                              help="the table: point, shooter, bets, balances, last rolls")
    show.add_argument("table", help="table id (or a unique prefix)")
    show.set_defaults(run=_run_show)


def _run_create(args: argparse.Namespace) -> int:
    body = {"game": args.game, "replicas": whole_number(args.replicas, 1, 64, "--replicas"),
            "min_bet": whole_number(args.min_bet, 0, CHIPS, "--min-bet"),
            "max_bet": whole_number(args.max_bet, 0, CHIPS, "--max-bet"),
            "seats": whole_number(args.seats, 1, 1024, "--seats")}
    if args.shooter_timeout_s is not None:
        body["shooter_timeout_s"] = whole_number(args.shooter_timeout_s, 1, CHIPS,
                                                 "--shooter-timeout-s")
    table = api_client(args, CREATE_TIMEOUT_S).post("/v1/tables", body)
    if args.json:
        print_json(table)
        return 0
    print_fields({"table_id": table.get("table_id"), "game": table.get("game"),
                  "replicas": table.get("replicas"), "primary": table.get("primary"),
                  "tolerates_faulty_replicas": table.get("tolerates_faulty_replicas")})
    if table.get("warning"):
        print(f"warning: {table['warning']}")
    return 0


def _run_join(args: argparse.Namespace) -> int:
    from bitcraps.node.cmd_play import describe_events
    from bitcraps.node.cmd_request import post_action

    buy_in = whole_number(args.buy_in, 1, CHIPS, "--buy-in")
    answer = post_action(args, args.table, {"action": "join", "buy_in": buy_in})
    if args.json:
        print_json(answer)
    else:
        print("\n".join(describe_events(answer["events"])))
    return 0


def _run_show(args: argparse.Namespace) -> int:
    table = api_client(args).get(f"/v1/tables/{args.table}")
    if args.json:
        print_json(table)
        return 0
    craps = table.get("craps")
    print_fields({"table_id": table["table_id"], "game": table["game"],
                  "replicas": len(table["replicas"]), "view": table["view"],
                  "state_digest": table["state_digest"]})
    if craps is None:
        return 0
    dice = craps["dice"]
    print_fields({"point": craps["point"] or "off (come-out)", "shooter": craps["shooter"],
                  "roll_number": craps["roll_number"],
                  "dice": "ready" if dice["ready"] else f"key generation ({dice['dkg_phase']})",
                  "bank": craps["bank"]["bank"]})
    print("balances:" if craps["balances"] else "balances: none")
    for player, balance in craps["balances"].items():
        print(f"  {player[:16]}…  {balance}")
    print("bets:" if craps["bets"] else "bets: none")
    for bet in craps["bets"]:
        number = f" {bet['number']}" if bet.get("number") is not None else ""
        print(f"  {bet['bet_id']:>4}  {bet['player'][:16]}…  {bet['kind']}{number}  "
              f"{bet['amount']}  ({bet['working']})")
    print("last rolls:" if craps["last_rolls"] else "last rolls: none")
    for rolled in craps["last_rolls"]:
        print(f"  {rolled['roll']:>4}: {rolled['dice'][0]} + {rolled['dice'][1]}")
    return 0
