"""`bitcraps daemon`: run the node in the foreground until SIGTERM.

Every problem that stops the start (configuration, identity, a data dir another daemon holds,
a full disk, a port in use, no accelerator where one was forced) is one ``bitcraps: error:``
line and exit status 2, which the systemd unit lists in ``RestartPreventExitStatus=``: only
the operator can fix it, and a node that cannot start is not restarted in a loop. A node that
fails once it served (READY=1 sent) exits 1, so that systemd restarts it; should the cause
persist (a disk still full), the next start refuses with 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bitcraps.node._cli_errors import CliError

if TYPE_CHECKING:
    from bitcraps.node.config import NodeConfig
    from bitcraps.node.daemon import Node
    from bitcraps.node.identity import NodeIdentity

EXIT_CONFIG = 2  # CliError's status: the unit's RestartPreventExitStatus
EXIT_FAILED = 1  # a running node failed: restartable


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "daemon", help="run the node in the foreground until SIGTERM",
        description="Run the node: its tables, the libp2p transport and the control API. "
                    "Logs are JSON lines on stdout. SIGHUP reloads node.toml; SIGTERM drains "
                    "and exits 0.")
    parser.add_argument("--config", type=Path, default=None,
                        help="node.toml (default: <data dir>/node.toml)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="where the node keeps its state, unless node.toml sets "
                             "node.data_dir (default: $BITCRAPS_DATA_DIR, else "
                             "$STATE_DIRECTORY, else ~/.local/share/bitcraps)")
    parser.add_argument("--init", action="store_true",
                        help="first start: create the data dir and this node's identity if "
                             "they are missing (never replacing one), and run on the "
                             "built-in defaults if the config file does not exist")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from bitcraps.node._cookie import DATA_DIR_ENV
    from bitcraps.node.config import CONFIG_FILE, default_data_dir
    from bitcraps.node.daemon import Node
    from bitcraps.node.logs import configure_logging

    if args.data_dir is not None:  # read by the config's default data dir, on SIGHUP too
        os.environ[DATA_DIR_ENV] = str(args.data_dir.expanduser().absolute())
    path: Path = args.config or default_data_dir() / CONFIG_FILE
    config, created = _prepare(path, args.init)
    identity = _identity(config)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)  # journald sees each line as it happens
    configure_logging(config.node.log_level, identity.node_id)
    _log_start_notes(config, path, created)
    node = Node(config, identity, config_path=path)
    _run_node(node)
    return 0


def _prepare(path: Path, init: bool) -> tuple[NodeConfig, bool]:
    """The configuration, and whether `--init` created this node's identity."""
    from bitcraps.node.config import ConfigError, load_config, parse_config
    from bitcraps.node.identity import IdentityError, create_identity

    try:
        if path.exists():
            config = load_config(path)
        elif init:
            config = parse_config("", name=str(path))
        else:
            raise CliError(f"no configuration at {path} (create one with `bitcraps init`, "
                           "or start with `bitcraps daemon --init` to run on the defaults)")
        if not init or config.identity_path.exists() or config.identity_path.is_symlink():
            return config, False
        config.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        create_identity(config.identity_path)
    except (ConfigError, IdentityError) as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot create the data dir: {exc.strerror or exc}") from None
    return config, True


def _identity(config: NodeConfig) -> NodeIdentity:
    from bitcraps.node.identity import IdentityError, load_identity

    try:
        return load_identity(config.identity_path)
    except IdentityError as exc:
        raise CliError(str(exc)) from None


def _log_start_notes(config: NodeConfig, path: Path, created: bool) -> None:
    from bitcraps.node.logs import get_logger

    log = get_logger("bitcraps.node")
    if not path.exists():
        log.warning("no configuration file: running on the built-in defaults", config=str(path))
    if created:
        log.info("identity created", identity=str(config.identity_path))
    network, node = config.network, config.node
    if network.mdns and node.host_tables and not node.host_allowlist \
            and not network.mdns_hosting:
        log.warning("mDNS is on and this node hosts tables for any peer: anyone on this LAN "
                    "can find it and enlist it as a replica of their tables; set "
                    "network.mdns_hosting = true to accept that, or set node.host_allowlist, "
                    "node.host_tables = false or network.mdns = false")


def _run_node(node: Node) -> None:
    """Run the node; every failure the operator can fix becomes one CliError line."""
    import trio

    from bitcraps.node.accel_setup import AccelUnavailable
    from bitcraps.node.api_server import ApiServerError
    from bitcraps.node.data_dir_lock import DataDirLocked
    from bitcraps.node.disk_check import DiskUnusable
    from bitcraps.node.storage import StorageError
    from bitcraps.transports.libp2p_transport import ListenError

    try:
        trio.run(node.run)
    except* DataDirLocked as group:
        raise CliError(f"node not started: {_first_cause(group)}") from None
    except* DiskUnusable as group:
        raise CliError(f"node not started: {_first_cause(group)}") from None
    except* (ListenError, ApiServerError) as group:
        raise CliError(f"node not started: {_first_cause(group)}") from None
    except* StorageError as group:
        raise CliError(f"storage failed, node stopped: {_first_cause(group)}",
                       _stopped_status(node)) from None
    except* AccelUnavailable as group:
        raise CliError(f"node not started: {_first_cause(group)}") from None
    except* OSError as group:
        raise CliError(f"node stopped: {_first_cause(group)}", _stopped_status(node)) from None


def _stopped_status(node: Node) -> int:
    """2 when the node never served (the start failed: the operator's to fix), else 1."""
    return EXIT_FAILED if node.serving else EXIT_CONFIG


def _first_cause(error: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups, for a one-line message."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error
