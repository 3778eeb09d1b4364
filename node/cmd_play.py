"""Playing craps from the command line, as the player this node is.

``bitcraps bet TABLE KIND AMOUNT [--number N]`` (and ``bet TABLE odds AMOUNT --on BET``),
``bitcraps roll TABLE`` (the shooter), ``bitcraps pass TABLE`` (the shooter declines the
dice: they go to the next seat, the point and bets stand), ``bitcraps roll verify TABLE_ID
ROLL`` (check a past roll's coin shares and proofs on this machine, against the dice key that
f+1 of the table's replicas signed; the whole table id, never a prefix), ``bitcraps cashout
TABLE [--amount N] [--leave-bets]`` (with a receipt signed by 2f+1 replicas, and what stays on
the table), ``bitcraps leave TABLE`` (cash out everything, with a receipt, and give up the
seat), ``bitcraps takedown|turn-off|turn-on TABLE BET_ID`` and ``bitcraps receipt verify
FILE``. An amount or a bet id that is not a whole number in range is one ``bitcraps: error:``
line (exit 2), like every other mistake.
``bitcraps table join`` and ``table show`` live with ``table create`` in `cmd_table`. TABLE
may be a unique prefix of the table id. Lean like ``cmd_control``: heavy modules are
imported only when a command runs.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bitcraps.node._cli_errors import CliError
from bitcraps.node._cli_input import ascii_int, parse_ascii_int, read_json_file, whole_number
from bitcraps.node.cmd_control import api_client, control_options, print_json
from bitcraps.node.cmd_request import post_action

if TYPE_CHECKING:
    from bitcraps.games._coin import Group
    from bitcraps.node.api_client import ApiClient
    from bitcraps.node.dice_key import VerifiedDiceKey

__all__ = ["add_parser", "describe_events", "still_on_table"]

BET_KINDS = ("pass", "dont_pass", "come", "dont_come", "field", "place", "buy", "lay", "big",
             "hardway", "any_seven", "any_craps", "aces", "ace_deuce", "yo", "boxcars", "horn",
             "c_and_e", "hop", "odds")
ROLL_TIMEOUT_S = 60.0
CHIPS = 1 << 62  # the most chips on a table at once
BET_IDS = (1 << 63) - 1
BET_ACTIONS = (
    ("takedown", "take_down",
     "take a bet down: it (and any odds behind it) comes back; not a pass or come bet once "
     "it has a point"),
    ("turn-off", "turn_off",
     "turn a place, buy, lay, big 6/8, hardway or odds bet off: it stays up, not decided"),
    ("turn-on", "turn_on",
     "turn such a bet on: it works on every roll, come-outs included"),
)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = control_options()
    bet = subparsers.add_parser("bet", parents=[common], help="place a bet at a craps table")
    bet.add_argument("table", help="table id (or a unique prefix)")
    bet.add_argument("kind", choices=BET_KINDS, metavar="KIND",
                     help="the bet: " + ", ".join(BET_KINDS))
    bet.add_argument("amount", help="chips")
    bet.add_argument("--number", type=ascii_int(0, 66), default=None,
                     help="the number a place/buy/lay/big/hardway bet is on; a hop bet's "
                          "two faces low first (23)")
    bet.add_argument("--on", type=ascii_int(1, (1 << 63) - 1), default=None, dest="bet_id",
                     help="odds: the id of your line bet they go behind")
    bet.set_defaults(run=_run_bet)

    roll = subparsers.add_parser(
        "roll", parents=[common], help="roll the dice as the shooter, or verify a past roll",
        usage="bitcraps roll TABLE | bitcraps roll verify TABLE_ID ROLL")
    roll.add_argument("words", nargs="+", metavar="TABLE | verify TABLE_ID ROLL")
    roll.set_defaults(run=_run_roll)

    pass_dice = subparsers.add_parser(
        "pass", parents=[common],
        help="as the shooter, decline the dice: they go to the next seat, bets stand")
    pass_dice.add_argument("table", help="table id (or a unique prefix)")
    pass_dice.set_defaults(run=_run_pass)

    cashout = subparsers.add_parser("cashout", parents=[common],
                                    help="cash out, with a receipt signed by 2f+1 replicas")
    cashout.add_argument("table", help="table id (or a unique prefix)")
    cashout.add_argument("--amount", default=None,
                         help="chips (default: all free; with no bet working you then leave "
                              "the seat)")
    cashout.add_argument("--leave-bets", action="store_true",
                         help="cash out all free chips even with bets working: they stay on "
                              "the table, at risk, and so does your seat (without it that is "
                              "refused)")
    cashout.add_argument("--receipt", type=Path, default=None,
                         help="where to write the receipt (default <data-dir>/receipts/)")
    cashout.set_defaults(run=_run_cashout)

    leave = subparsers.add_parser(
        "leave", parents=[common],
        help="cash out every chip (with a receipt) and give up your seat; only with no bets "
             "working")
    leave.add_argument("table", help="table id (or a unique prefix)")
    leave.add_argument("--receipt", type=Path, default=None,
                       help="where to write the receipt (default <data-dir>/receipts/)")
    leave.set_defaults(run=_run_leave)

    for name, action, what in BET_ACTIONS:
        by_id = subparsers.add_parser(name, parents=[common], help=what)
        by_id.add_argument("table", help="table id (or a unique prefix)")
        by_id.add_argument("bet_id", metavar="BET_ID",
                           help="your bet's id (bitcraps table show lists them)")
        by_id.set_defaults(run=_run_bet_action, bet_action=action)

    receipt = subparsers.add_parser("receipt", help="check a cash-out receipt offline")
    actions = receipt.add_subparsers(title="actions", metavar="<action>", dest="action")
    verify = actions.add_parser("verify", help="check a receipt's 2f+1 signatures")
    verify.add_argument("file", type=Path)
    verify.add_argument("--table", default=None, metavar="TABLE_ID",
                        help="the table id (32 hex digits) the receipt must be for; without "
                             "it, compare the printed table id with the one you trust")
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(run=_run_receipt_verify)
    def receipt_usage(args: argparse.Namespace) -> int:
        receipt.print_help()
        return 2

    receipt.set_defaults(run=receipt_usage)


def _run_bet(args: argparse.Namespace) -> int:
    amount = whole_number(args.amount, 1, CHIPS, "the amount (chips)")
    if args.kind == "odds":
        if args.bet_id is None:
            raise CliError("odds go behind one of your line bets: --on BET_ID")
        body: dict[str, Any] = {"action": "odds", "bet_id": args.bet_id, "amount": amount}
    else:
        body = {"action": "bet", "kind": args.kind, "amount": amount}
        if args.number is not None:
            body["number"] = args.number
    answer = post_action(args, args.table, body)
    if args.json:
        print_json(answer)
    else:
        print("\n".join(describe_events(answer["events"])))
    return 0


def _run_pass(args: argparse.Namespace) -> int:
    return _act(args, {"action": "pass"})


def _run_bet_action(args: argparse.Namespace) -> int:
    """takedown, turn-off, turn-on: one of your bets, by its id."""
    bet_id = whole_number(args.bet_id, 1, BET_IDS, "BET_ID")
    return _act(args, {"action": args.bet_action, "bet_id": bet_id})


def _act(args: argparse.Namespace, body: dict[str, Any]) -> int:
    answer = post_action(args, args.table, body)
    if args.json:
        print_json(answer)
    else:
        print("\n".join(describe_events(answer["events"])))
    return 0


def _run_roll(args: argparse.Namespace) -> int:
    words = args.words
    if words[0] == "verify":
        roll = parse_ascii_int(words[2], 0, (1 << 63) - 1) if len(words) == 3 else None
        if roll is None:
            raise CliError("usage: bitcraps roll verify TABLE_ID ROLL (the whole table id; "
                           "ROLL in digits 0-9)")
        return _verify_roll(args, words[1], roll)
    if len(words) != 1:
        raise CliError("usage: bitcraps roll TABLE | bitcraps roll verify TABLE_ID ROLL")
    rolled = api_client(args, ROLL_TIMEOUT_S).post(f"/v1/tables/{words[0]}/roll")
    if args.json:
        print_json(rolled)
    else:
        die1, die2 = rolled["dice"]
        print(f"roll {rolled['roll']}: {die1} + {die2} = {die1 + die2}")
        for line in describe_events(rolled["events"]):
            print(f"  {line}")
    return 0


def _verify_roll(args: argparse.Namespace, table: str, number: int) -> int:
    """Check a roll against the table's dice key as f+1 of its replicas signed it, never
    against a key the node asked merely asserts (`bitcraps.node.dice_key`)."""
    from bitcraps.accel._ed25519_group import SodiumEd25519Group
    from bitcraps.games import _coin as coin

    table_id = _full_table_id(table, "roll verify")
    assert table_id is not None
    client = api_client(args, ROLL_TIMEOUT_S)
    group = SodiumEd25519Group()
    proven = _proven_dice_key(client.get(f"/v1/tables/{table}/dice-key"), table_id, group)
    shown = client.get(f"/v1/tables/{table}/rolls/{number}")
    try:
        record_hex = shown["record"] if type(shown) is dict else None
        record = coin.decode_roll_record(bytes.fromhex(record_hex) if type(record_hex) is str
                                         else b"")
    except (coin.FairDiceError, ValueError):
        raise CliError(f"roll {number}: the daemon sent a record that does not "
                       "decode") from None
    verdict = coin.verify_roll(group, proven.key, number, record.shares, record.seed,
                               record.dice)
    shares_from = [share.replica for share in record.shares]
    answer = {"roll": number, "ok": verdict.ok, "dice": list(record.dice),
              "shares_from": shares_from, "table_id": table_id.hex(),
              "dice_key_signed_by": list(proven.signers),
              "failure": None if verdict.ok else str(verdict.detail)}
    if args.json:
        print_json(answer)
    elif verdict.ok:
        print(f"roll {number}: {record.dice[0]} + {record.dice[1]}: verified (coin shares of "
              f"replicas {', '.join(map(str, shares_from))}, DLEQ proofs, seed, dice; the "
              f"dice key as replicas {', '.join(map(str, proven.signers))} of "
              f"{proven.terms.n} signed it)")
    else:
        print(f"roll {number}: NOT verified: {verdict.detail}")
    return 0 if verdict.ok else 1


def _proven_dice_key(proof: object, table_id: bytes, group: Group) -> VerifiedDiceKey:
    """The table's dice key from f+1 of its replicas' signed statements, or `CliError`."""
    from bitcraps.node.dice_key import DiceKeyError, verify_dice_key

    try:
        return verify_dice_key(proof, table_id, group)
    except DiceKeyError as exc:
        raise CliError(f"table {table_id.hex()}: the dice key is not the table's: {exc}; "
                       "nothing verified") from None


def _run_cashout(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {}
    if args.amount is not None:
        body["amount"] = whole_number(args.amount, 1, CHIPS, "--amount (chips)")
    if args.leave_bets:
        body["leave_bets"] = True
    client = api_client(args, ROLL_TIMEOUT_S)
    return _cashed_out(args, client, client.post(f"/v1/tables/{args.table}/cashout", body))


def _run_leave(args: argparse.Namespace) -> int:
    """Every chip off the table, with its receipt, and the seat given up: a cash-out of all
    (the table seats no one with no chips and no bets), or the leave action with no chips."""
    client = api_client(args, ROLL_TIMEOUT_S)
    me = client.get("/v1/identity")["node_id"]
    shown = client.get(f"/v1/tables/{args.table}").get("craps") or {}
    balance = shown.get("balances", {}).get(me)
    if balance is None:
        raise CliError(f"you are not seated at table {args.table}")
    mine = [bet for bet in shown.get("bets", []) if bet.get("player") == me]
    if mine:
        listed = ", ".join(f"bet {bet['bet_id']} {bet['kind']}" for bet in mine[:8])
        raise CliError(f"you have {len(mine)} bet{'s' if len(mine) > 1 else ''} working "
                       f"({listed}): take them down (bitcraps takedown TABLE BET_ID) or let "
                       "them be decided, then leave")
    if balance == 0:
        return _act(args, {"action": "leave"})
    return _cashed_out(args, client, client.post(f"/v1/tables/{args.table}/cashout", {}))


def _cashed_out(args: argparse.Namespace, client: ApiClient, answer: dict[str, Any]) -> int:
    """Write a cash-out's receipt and say what happened and what stays on the table."""
    receipt = answer["receipt"]
    path = args.receipt
    if path is None:
        path = client.data_dir / "receipts" / f"{receipt['table_id']}-{time.time_ns()}.json"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(receipt, indent=2) + "\n")
    except OSError as exc:
        raise CliError(f"cashed out, but the receipt could not be written to {path}: {exc}; "
                       f"it is: {json.dumps(receipt)}") from None
    if args.json:
        print_json({**answer, "receipt_file": str(path)})
        return 0
    print("\n".join(describe_events(answer["events"])))
    print(f"receipt ({len(receipt['replies'])} replicas signed): {path}")
    print(still_on_table(answer))
    return 0


def still_on_table(answer: dict[str, Any]) -> str:
    """A cash-out answer's bets still working and seat, as one line."""
    bets = answer.get("bets_working") or []
    if bets:
        listed = ", ".join(f"bet {bet['bet_id']} {bet['kind']}"
                           + (f" {bet['number']}" if bet.get("number") else "")
                           + f" {bet['amount']}" for bet in bets)
        return (f"still on the table, at risk: {len(bets)} bet{'s' if len(bets) > 1 else ''} "
                f"working, {answer.get('chips_on_bets')} chips ({listed}); you keep your seat")
    if answer.get("seated") is False:
        return "nothing left on the table; you left your seat"
    return "no bets working; you keep your seat"


def _run_receipt_verify(args: argparse.Namespace) -> int:
    receipt = read_json_file(args.file, "a receipt")  # bounded: CliError on anything else
    from bitcraps.node.receipts import ReceiptError, verify_receipt

    try:
        verified = verify_receipt(receipt, _full_table_id(args.table, "--table"))
    except OSError as exc:
        raise CliError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    except ValueError as exc:  # ReceiptError, or JSON that does not parse
        kind = "receipt rejected" if isinstance(exc, ReceiptError) else "not JSON"
        raise CliError(f"{args.file}: {kind}: {exc}") from None
    player = verified.client.hex()
    answer = {"ok": True, "table_id": verified.table_id.hex(), "player": player,
              "amount": verified.amount, "balance": verified.balance,
              "timestamp": verified.timestamp, "signed_by": list(verified.signers),
              "result": verified.result.hex()}
    if args.json:
        print_json(answer)
    else:
        print(f"receipt verified: player {player} cashed out {verified.amount} chips from "
              f"table {verified.table_id.hex()} (signed by replicas "
              f"{', '.join(map(str, verified.signers))} of {verified.terms.n})")
    return 0


def _full_table_id(text: str | None, what: str) -> bytes | None:
    """A whole table id from the command line: what a check is pinned to (never a prefix,
    which would let the node answering choose the table)."""
    if text is None:
        return None
    if len(text) != 32 or not all(c in "0123456789abcdefABCDEF" for c in text):
        raise CliError(f"{what} needs the whole table id: 32 hex digits")
    return bytes.fromhex(text)


def describe_events(events: list[dict[str, Any]]) -> list[str]:
    """One line per game event, for people."""
    return [_describe(event) for event in events] or ["(nothing happened)"]


def _describe(event: dict[str, Any]) -> str:
    kind = event.get("type")
    who = str(event.get("player") or event.get("shooter") or "")[:8]
    if kind == "Settled":
        spot = event["kind"] + (f" {event['number']}" if event.get("number") else "")
        gain = event["paid"] - (event["amount"] - event["returned"])
        return (f"bet {event['bet_id']} ({who} {spot} {event['amount']}): {event['outcome']}, "
                f"{gain:+d}" + (f", commission {event['commission']}"
                                if event.get("commission") else ""))
    if kind == "BetPlaced":
        spot = event["kind"] + (f" {event['number']}" if event.get("number") else "")
        return f"bet {event['bet_id']} placed: {who} {spot} {event['amount']}"
    if kind == "Rolled":
        point = f", point {event['point']}" if event.get("point") else ""
        return (f"rolled {event['die1']} + {event['die2']}: {event['call']}{point}")
    if kind == "Joined":
        return f"{who} bought in {event['amount']}: balance {event['balance']}"
    if kind == "DicePassed":
        shooter = str(event.get("shooter") or "")[:8]
        if event.get("timed_out"):
            return f"shooter {shooter} lost the dice by timeout"
        return f"shooter {shooter} passed the dice"
    if kind == "ShooterChanged":
        return f"the dice pass to {str(event.get('shooter') or 'nobody')[:8]}"
    if kind == "BetTravelled":
        return f"bet {event['bet_id']} travels to {event['number']}"
    if kind == "CashedOut":
        return f"{who} cashed out {event['amount']}: balance {event['balance']}"
    if kind == "Left":
        return f"{who} left the table"
    if kind == "BetSwitched":
        return f"bet {event['bet_id']} is {event['working']}"
    fields = ", ".join(f"{k} {v}" for k, v in event.items() if k != "type")
    return f"{kind}: {fields}"
