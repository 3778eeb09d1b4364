"""Where the control socket and cookie live, and the cookie itself (stdlib only, for the CLI).

The cookie is bitcoind-style: a random bearer token in a file only the node's user can read
(mode 0600), rewritten at every daemon start. Whoever can read the file may control the node.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path

__all__ = [
    "COOKIE_NAME",
    "DATA_DIR_ENV",
    "SOCKET_NAME",
    "cookie_path",
    "default_data_dir",
    "read_cookie",
    "socket_path",
    "write_cookie",
]

DATA_DIR_ENV = "BITCRAPS_DATA_DIR"
SOCKET_NAME = "control.sock"
COOKIE_NAME = "control.cookie"


def default_data_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$BITCRAPS_DATA_DIR``, else ``$STATE_DIRECTORY`` (systemd), else
    ``$XDG_DATA_HOME/bitcraps``, else ``~/.local/share/bitcraps``. It lives here, in a module
    without heavy imports, because the CLI needs it and must start fast."""
    env = os.environ if env is None else env
    if env.get(DATA_DIR_ENV):
        return Path(env[DATA_DIR_ENV]).expanduser()
    if env.get("STATE_DIRECTORY"):
        return Path(env["STATE_DIRECTORY"].split(":")[0])
    if env.get("XDG_DATA_HOME"):
        return Path(env["XDG_DATA_HOME"]) / "bitcraps"
    return Path.home() / ".local" / "share" / "bitcraps"


def socket_path(data_dir: Path) -> Path:
    return data_dir / SOCKET_NAME


def cookie_path(data_dir: Path) -> Path:
    return data_dir / COOKIE_NAME


def write_cookie(path: Path) -> str:
    """Write a fresh token to ``path`` atomically with mode 0600 and return it."""
    token = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".cookie-", dir=path.parent)  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write(token + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return token


def read_cookie(path: Path) -> str:
    """The token in ``path`` (OSError if unreadable, ValueError if empty)."""
    token = path.read_text(encoding="ascii").strip()
    if not token:
        raise ValueError(f"cookie file {path} is empty")
    return token
