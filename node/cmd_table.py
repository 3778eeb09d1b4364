"""``bitcraps table create``: form a table with replica-capable peers and announce it.

The daemon picks the peers (see `table_formation`), so this command only asks it and prints
the new table. Lean like ``cmd_control``: nothing heavy is imported at module level.
"""

from __future__ import annotations

import argparse
import sys

from bitcraps.node.cmd_control import api_client, control_options, print_fields, print_json

__all__ = ["add_parser"]

CREATE_TIMEOUT_S = 60.0


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
    create.add_argument("--game", required=True, help="the game the table plays (kv)")
    create.add_argument("--replicas", type=int, default=4,
                        help="replicas, this node included (default 4: tolerates 1 fault)")
    create.add_argument("--min-bet", type=int, default=1, help="table minimum (default 1)")
    create.add_argument("--max-bet", type=int, default=1000,
                        help="table maximum (default 1000)")
    create.add_argument("--seats", type=int, default=8, help="player seats (default 8)")
    create.set_defaults(run=_run_create)


def _run_create(args: argparse.Namespace) -> int:
    body = {"game": args.game, "replicas": args.replicas, "min_bet": args.min_bet,
            "max_bet": args.max_bet, "seats": args.seats}
    table = api_client(args, CREATE_TIMEOUT_S).post("/v1/tables", body)
    if args.json:
        print_json(table)
    else:
        print_fields({"table_id": table.get("table_id"), "game": table.get("game"),
                      "replicas": table.get("replicas"), "primary": table.get("primary")})
    return 0
