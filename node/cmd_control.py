"""``bitcraps id|status|peers [connect]|tables|stop|config``: ask the running daemon over its
control API.

The daemon is found through its data dir (``--data-dir``, else ``$BITCRAPS_DATA_DIR``, else
``~/.local/share/bitcraps``): the socket ``control.sock`` and the cookie ``control.cookie``
live there; ``--socket`` names another socket. ``--json`` prints the API's JSON unchanged.

This module is imported for every ``bitcraps`` invocation, so it imports nothing heavy at
module level: httpx comes in only when a command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bitcraps.node._cli_errors import CliError
from bitcraps.node._cookie import default_data_dir

if TYPE_CHECKING:
    from bitcraps.node.api_client import ApiClient

__all__ = ["add_parser", "api_client", "control_options", "print_fields", "print_json"]


def control_options(*, nested: bool = False) -> argparse.ArgumentParser:
    """The options every command that talks to the daemon takes (a parent parser).
    ``nested``: for an action under a command that takes them too (`peers connect`): no
    defaults of its own, so `peers --json connect ADDR` keeps the command's value."""
    default = argparse.SUPPRESS if nested else None
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", type=Path, default=default,
                        help="the daemon's data dir (default $BITCRAPS_DATA_DIR or "
                             "~/.local/share/bitcraps)")
    common.add_argument("--socket", type=Path, default=default,
                        help="control socket (default <data-dir>/control.sock)")
    common.add_argument("--json", action="store_true",
                        default=argparse.SUPPRESS if nested else False,
                        help="print the API's JSON")
    return common


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = control_options()

    for name, help_text, run in [
        ("id", "print this node's identity", _run_id),
        ("status", "print the daemon's status", _run_status),
        ("tables", "list the tables this node hosts and those the lobby knows", _run_tables),
        ("stop", "ask the daemon to shut down cleanly", _run_stop),
    ]:
        parser = subparsers.add_parser(name, help=help_text, parents=[common])
        parser.set_defaults(run=run)

    peers = subparsers.add_parser("peers", help="list known peers, or connect to one",
                                  parents=[common])
    peers.set_defaults(run=_run_peers)
    peer_actions = peers.add_subparsers(title="actions", metavar="<action>", dest="action")
    connect = peer_actions.add_parser(
        "connect", help="dial a peer now and keep its address for this run",
        description="Dial MULTIADDR (/ip4/<addr>/tcp/<port>/p2p/<peer id>, as `bitcraps init` "
                    "prints a node's) now; the daemon keeps the address until it stops (list "
                    "it in network.bootstrap to keep it across restarts).",
        parents=[control_options(nested=True)])
    connect.add_argument("address", metavar="MULTIADDR")
    connect.set_defaults(run=_run_peers_connect)

    config = subparsers.add_parser("config", help="show or change the daemon's configuration")
    actions = config.add_subparsers(title="actions", metavar="<action>", dest="action")
    config.set_defaults(run=_config_usage(config))
    show = actions.add_parser("show", help="print the effective configuration",
                              parents=[common])
    show.set_defaults(run=_run_config_show)
    get = actions.add_parser("get", help="print one setting", parents=[common])
    get.add_argument("key", help="setting name, dotted for nested sections (api.tcp_port)")
    get.set_defaults(run=_run_config_get)
    set_ = actions.add_parser("set", help="change a setting at run time", parents=[common])
    set_.add_argument("key")
    set_.add_argument("value")
    set_.set_defaults(run=_run_config_set)


def _config_usage(parser: argparse.ArgumentParser) -> Any:
    def run(args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return 2

    return run


def api_client(args: argparse.Namespace, timeout_s: float | None = None) -> ApiClient:
    """A client of the daemon that `args` name; `timeout_s` for requests that take long."""
    import httpx

    from bitcraps.node.api_client import TIMEOUT, ApiClient

    data_dir = args.data_dir if args.data_dir is not None else default_data_dir()
    timeout = TIMEOUT if timeout_s is None else httpx.Timeout(timeout_s, connect=1.0)
    return ApiClient(data_dir, args.socket, timeout)


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=True))


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_text(item) for item in value) or "-"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def print_fields(fields: dict[str, Any]) -> None:
    width = max((len(key) for key in fields), default=0)
    for key, value in fields.items():
        print(f"{key + ':':<{width + 1}} {_text(value)}")


def _short(hex_id: Any) -> str:
    text = str(hex_id)
    return text if len(text) <= 16 else text[:16] + "…"


def _run_id(args: argparse.Namespace) -> int:
    identity = api_client(args).get("/v1/identity")
    if args.json:
        print_json(identity)
    else:
        print_fields(identity)
    return 0


def _run_status(args: argparse.Namespace) -> int:
    status = api_client(args).get("/v1/status")
    if args.json:
        print_json(status)
    else:
        print_fields(status)
    return 0


def _run_peers(args: argparse.Namespace) -> int:
    peers = api_client(args).get("/v1/peers").get("peers", [])
    if args.json:
        print_json(peers)
        return 0
    if not peers:
        print("no peers")
    for peer in peers:
        state = "connected" if peer.get("connected") else "disconnected"
        print(f"{_short(peer.get('peer'))}  {state:<12}  {peer.get('transport', '-'):<8}  "
              f"{_text(peer.get('addresses', []))}")
    return 0


def _run_peers_connect(args: argparse.Namespace) -> int:
    answer = api_client(args).post("/v1/peers", {"address": args.address})
    if args.json:
        print_json(answer)
    else:
        print(f"connected to {answer.get('peer_id', '-')} ({_short(answer.get('peer'))})")
    return 0


def _run_tables(args: argparse.Namespace) -> int:
    client = api_client(args)
    tables = client.get("/v1/tables").get("tables", [])
    lobby = client.get("/v1/lobby").get("tables", [])
    if args.json:
        print_json({"hosted": tables, "lobby": lobby})
        return 0
    print("hosted:" if tables else "hosted: none")
    for table in tables:
        print(f"  {_short(table.get('table_id'))}  {table.get('game', '-'):<8}  "
              f"view {table.get('view', '-')}  seq {table.get('last_executed_seq', '-')}  "
              f"{len(table.get('replicas', []))} replicas")
    print("lobby:" if lobby else "lobby: none")
    for entry in lobby:
        limits = entry.get("limits", {})
        print(f"  {_short(entry.get('table_id'))}  {entry.get('game', '-'):<8}  "
              f"bets {limits.get('min_bet', '-')}-{limits.get('max_bet', '-')}  "
              f"{entry.get('free_seats', '-')} free seats  "
              f"{len(entry.get('replicas', []))} replicas  by {_short(entry.get('announcer'))}")
    return 0


def _run_stop(args: argparse.Namespace) -> int:
    answer = api_client(args).post("/v1/stop")
    if args.json:
        print_json(answer)
    else:
        print("the daemon is shutting down")
    return 0


def _flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def _run_config_show(args: argparse.Namespace) -> int:
    config = api_client(args).get("/v1/config")
    if args.json:
        print_json(config)
    else:
        for key, value in _flatten(config).items():
            print(f"{key} = {json.dumps(value)}")
    return 0


def _lookup(config: dict[str, Any], key: str) -> Any:
    if key in config:
        return config[key]
    node: Any = config
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise CliError(f"unknown setting {key!r} (see `bitcraps config show`)")
        node = node[part]
    return node


def _run_config_get(args: argparse.Namespace) -> int:
    value = _lookup(api_client(args).get("/v1/config"), args.key)
    if args.json:
        print_json(value)
    elif isinstance(value, str):
        print(value)
    else:
        print(json.dumps(value))
    return 0


def _run_config_set(args: argparse.Namespace) -> int:
    answer = api_client(args).post("/v1/config", {"key": args.key, "value": args.value})
    if args.json:
        print_json(answer)
    else:
        shown = answer.get("value", args.value) if isinstance(answer, dict) else args.value
        print(f"{args.key} = {json.dumps(shown)}")
    return 0
