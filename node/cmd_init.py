"""``bitcraps init``: create a node's data dir, its Ed25519 identity and a commented node.toml."""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path
from typing import Any

from bitcraps.node._cli_errors import CliError
from bitcraps.node._node_toml import TEMPLATE
from bitcraps.node.config import CONFIG_FILE, ConfigError, default_data_dir, load_config
from bitcraps.node.identity import IDENTITY_FILE, IdentityError, create_identity

__all__ = ["add_parser", "init_node", "render_config"]

_DATA_DIR_LINE = re.compile(r"^# data_dir = .*$", re.MULTILINE)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "init", help="create this node's identity and node.toml",
        description="Create the data dir (mode 0700), the node's Ed25519 identity "
                    f"({IDENTITY_FILE}, mode 0600) and a commented {CONFIG_FILE}. "
                    "An existing identity is never overwritten.",
    )
    parser.add_argument(
        "--data-dir", type=Path, default=None,
        help="where the node keeps its state (default: $BITCRAPS_DATA_DIR, else "
             "$STATE_DIRECTORY, else $XDG_DATA_HOME/bitcraps, else ~/.local/share/bitcraps)",
    )
    parser.add_argument("--force-config", action="store_true",
                        help=f"replace an existing {CONFIG_FILE} with a fresh one")
    parser.set_defaults(run=run)


def render_config(data_dir: Path) -> str:
    """The template with ``node.data_dir`` set to ``data_dir``."""
    value = json.dumps(str(data_dir), ensure_ascii=False)  # a JSON string is a TOML string
    return _DATA_DIR_LINE.sub(lambda _: f"data_dir = {value}", TEMPLATE, count=1)


def init_node(data_dir: Path, force_config: bool = False) -> dict[str, Any]:
    """Create the node's files in ``data_dir``; CliError on any problem. Returns what it did."""
    data_dir = data_dir.expanduser().absolute()
    identity_path = data_dir / IDENTITY_FILE
    config_path = data_dir / CONFIG_FILE
    if identity_path.exists() or identity_path.is_symlink():
        raise CliError(f"an identity already exists at {identity_path}; refusing to overwrite "
                       "it (move it away first if you really mean to replace this node's key)")
    if config_path.exists() and not force_config:
        config_note = "kept (already there; --force-config replaces it)"
    else:
        config_note = "written"
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot create the data dir {data_dir}: {exc.strerror or exc}") from None
    if not data_dir.is_dir():
        raise CliError(f"the data dir {data_dir} is not a directory")
    try:
        identity = create_identity(identity_path)
    except IdentityError as exc:
        raise CliError(str(exc)) from None
    if config_note == "written":
        _write_config(config_path, render_config(data_dir))
    try:
        config = load_config(config_path, env={})
    except ConfigError as exc:
        raise CliError(f"the node's identity was created, but {config_path} is invalid: "
                       f"{exc}") from None
    peer_id = _peer_id(identity.public_key)
    return {"node_id": identity.node_id, "peer_id": peer_id,
            "bootstrap": [f"{address}/p2p/{peer_id}" for address in config.network.listen_addrs],
            "data_dir": str(data_dir), "identity": str(identity_path),
            "config": str(config_path), "config_note": config_note}


def _peer_id(public_key: bytes) -> str:
    from bitcraps.transports.libp2p_transport import peer_id_for  # py-libp2p: only here

    return peer_id_for(public_key)


def _write_config(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None


def run(args: argparse.Namespace) -> int:
    data_dir: Path = args.data_dir if args.data_dir is not None else default_data_dir()
    done = init_node(data_dir, force_config=args.force_config)
    print(f"node id:   {done['node_id']}")
    print(f"peer id:   {done['peer_id']}")
    for address in done["bootstrap"]:
        print(f"bootstrap: {address}")
    print(f"data dir:  {done['data_dir']}")
    print(f"identity:  {done['identity']}")
    print(f"config:    {done['config']} ({done['config_note']})")
    print("Other nodes list a bootstrap line above in their network.bootstrap; where it "
          "shows 127.0.0.1 or 0.0.0.0, put an address of this host that they can reach "
          "(and listen on it: network.listen_addrs).")
    return 0
