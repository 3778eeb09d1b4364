"""``bitcraps request TABLE REQUEST_ID``: what became of a request this node sent; and
`post_action`, how the play commands send a player's action.

An action goes out with a fresh idempotency key and a read timeout longer than the daemon's
own wait for a quorum, so the daemon answers first. When it answers "outcome unknown" (the
request was sent and is still retransmitted: it may yet execute), the command waits a while
longer itself on the request's lookup, then reports the final outcome, or says "outcome
unknown, still trying: check with `bitcraps request TABLE ID`" and exits 75 (EX_TEMPFAIL);
never "failed" for a request that may still commit.

``bitcraps request`` prints the request's status (pending, executed, not executed, lost);
for a craps action, its events. Exit status: 0 executed, 1 not executed or lost, 75 still
pending. Lean like ``cmd_control``: httpx comes in only when a command runs.
"""

from __future__ import annotations

import argparse
import secrets
from typing import TYPE_CHECKING, Any

from bitcraps.node._cli_errors import CliError
from bitcraps.node._cli_input import ascii_int
from bitcraps.node.cmd_control import api_client, control_options, print_json

if TYPE_CHECKING:
    from bitcraps.node.api_client import ApiClient

__all__ = ["ACT_TIMEOUT_S", "WAIT_MORE_S", "add_parser", "post_action"]

ACT_TIMEOUT_S = 45.0  # above the daemon's own 30 s wait for a quorum
WAIT_MORE_S = 30  # how long an action waits itself once the daemon said "outcome unknown"
MAX_WAIT_S = 60  # the API's bound on one lookup's wait
_HEX = frozenset("0123456789abcdefABCDEF")
EXIT_NOT_EXECUTED = 1


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    request = subparsers.add_parser(
        "request", parents=[control_options()],
        help="what became of a request this node sent (an 'outcome unknown' answer names it)",
        description="Look up a request by the id the daemon gave when its outcome was "
                    "unknown: pending (still retransmitted), executed (with its result or "
                    "events), not executed (never will be), or lost. Exit status 0 executed, "
                    "1 not executed or lost, 75 still pending.")
    request.add_argument("table", help="table id (or a unique prefix)")
    request.add_argument("request_id", metavar="REQUEST_ID", help="32 hex digits")
    request.add_argument("--wait", type=ascii_int(0, MAX_WAIT_S), default=0, metavar="S",
                         help=f"wait up to S seconds (at most {MAX_WAIT_S}) while it is pending")
    request.set_defaults(run=_run_request)


def _run_request(args: argparse.Namespace) -> int:
    if len(args.request_id) != 32 or not _HEX.issuperset(args.request_id):
        raise CliError("a request id is 32 hex digits (as an 'outcome unknown' answer gave it)")
    client = api_client(args, args.wait + 10.0)
    shown = _lookup(client, args.table, args.request_id.lower(), args.wait)
    if args.json:
        print_json(shown)
    else:
        for line in _describe(shown):
            print(line)
    status = shown.get("status")
    if status == "executed":
        return 0
    if status == "pending":
        from bitcraps.node.api_client import EXIT_OUTCOME_UNKNOWN

        return EXIT_OUTCOME_UNKNOWN
    return EXIT_NOT_EXECUTED


def _lookup(client: ApiClient, table: str, request_id: str, wait_s: int) -> dict[str, Any]:
    shown: dict[str, Any] = client.get(
        f"/v1/tables/{table}/requests/{request_id}?wait_s={wait_s}")
    return shown


def _describe(shown: dict[str, Any]) -> list[str]:
    from bitcraps.node.api_client import _one_line
    from bitcraps.node.cmd_play import describe_events

    status = shown.get("status")
    head = f"request {shown.get('request_id', '-')}"
    if status == "executed":
        lines = [f"{head}: executed at seq {shown.get('seq', '-')}"]
        if isinstance(shown.get("events"), list):
            lines += [f"  {line}" for line in describe_events(shown["events"])]
        elif "refused" in shown:
            lines.append(f"  the table refused it: {_one_line(str(shown['refused']))}")
        else:
            lines.append(f"  result {_one_line(str(shown.get('result', '')))}")
        return lines
    reason = _one_line(str(shown.get("error", "")))
    if status == "pending":
        return [f"{head}: outcome unknown, still trying: {reason}"]
    if status == "not_executed":
        return [f"{head}: not executed: {reason}"]
    return [f"{head}: {_one_line(str(status))}: {reason}"]


def post_action(args: argparse.Namespace, table: str, body: dict[str, Any]) -> dict[str, Any]:
    """Send one action of this node's player: its answer ({"events"}), once the table
    executed it. `OutcomeUnknownError` (exit 75) if it is still pending after the daemon's
    wait and `WAIT_MORE_S` more; `CliError` if it was refused or not executed."""
    from bitcraps.node.api_client import OutcomeUnknownError, _one_line

    client = api_client(args, ACT_TIMEOUT_S)
    try:
        answer: dict[str, Any] = client.post(f"/v1/tables/{table}/actions", body,
                                             headers={"idempotency-key": secrets.token_hex(16)})
    except OutcomeUnknownError as unknown:
        shown = _lookup(client, table, unknown.request_id, WAIT_MORE_S)
        if shown.get("status") == "pending":
            raise
        if shown.get("status") != "executed":
            raise CliError(" ".join(_describe(shown))) from None
        if "refused" in shown:
            raise CliError(f"the table refused it: {_one_line(str(shown['refused']))}") \
                from None
        return {"events": shown.get("events", []), "request_id": unknown.request_id}
    return answer
