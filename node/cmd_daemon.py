"""`bitcraps daemon`: run the node in the foreground until SIGTERM."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bitcraps.node._cli_errors import CliError


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "daemon", help="run the node in the foreground until SIGTERM",
        description="Run the node: its tables, the libp2p transport and the control API. "
                    "Logs are JSON lines on stdout. SIGHUP reloads node.toml; SIGTERM drains "
                    "and exits 0.")
    parser.add_argument("--config", type=Path, default=None,
                        help="node.toml (default: <data dir>/node.toml)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import trio

    from bitcraps.node.accel_setup import AccelUnavailable
    from bitcraps.node.config import CONFIG_FILE, ConfigError, default_data_dir, load_config
    from bitcraps.node.daemon import Node
    from bitcraps.node.identity import IdentityError, load_identity
    from bitcraps.node.logs import configure_logging
    from bitcraps.node.storage import StorageError

    path: Path = args.config or default_data_dir() / CONFIG_FILE
    if not path.exists():
        raise CliError(f"no configuration at {path} (create one with `bitcraps init`)")
    try:
        config = load_config(path)
        identity = load_identity(config.identity_path)
    except (ConfigError, IdentityError) as exc:
        raise CliError(str(exc)) from None
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)  # journald sees each line as it happens
    configure_logging(config.node.log_level, identity.node_id)
    node = Node(config, identity, config_path=path)
    try:
        trio.run(node.run)
    except* StorageError as group:
        raise CliError(f"storage failed, node stopped: {_first_cause(group)}") from None
    except* AccelUnavailable as group:
        raise CliError(f"node not started: {_first_cause(group)}") from None
    except* OSError as group:
        raise CliError(f"node stopped: {_first_cause(group)}") from None
    return 0


def _first_cause(error: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups, for a one-line message."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error
