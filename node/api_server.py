"""Serve the control API (`api.build_app`) with hypercorn's trio worker.

The daemon runs, inside its nursery::

    token = write_cookie(cookie_path(data_dir))
    app = build_app(control, token)
    stop_api = trio.Event()
    await nursery.start(partial(serve_api, app, unix_socket=socket_path(data_dir),
                                tcp=("127.0.0.1", 8420), shutdown=stop_api))
    # ... READY=1 now: every listener accepts connections
    stop_api.set()   # graceful: in-flight requests get `graceful_timeout_s` to finish

The Unix socket is created with mode 0600 (under umask 0177) so only the node's user can
connect; a stale socket file left by a crashed daemon is removed, but a socket someone still
listens on is an error (another daemon owns this data dir).
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio
from hypercorn.config import Config, Sockets
from hypercorn.trio.run import worker_serve
from hypercorn.utils import wrap_app

from bitcraps.node._cookie import read_cookie, write_cookie

if TYPE_CHECKING:
    from trio_typing import TaskStatus

__all__ = ["ApiServerError", "read_cookie", "serve_api", "write_cookie"]

# sun_path is 108 bytes on Linux, including the terminating NUL.
_MAX_UNIX_PATH = 107


class ApiServerError(Exception):
    """The API cannot listen (socket path in use or too long, port taken)."""


def _unix_listener(path: Path) -> socket.socket:
    raw = os.fsencode(path)
    if len(raw) > _MAX_UNIX_PATH:
        raise ApiServerError(f"control socket path is too long for AF_UNIX: {path}")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISSOCK(mode):
            raise ApiServerError(f"{path} exists and is not a socket")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(raw)
        except (ConnectionRefusedError, FileNotFoundError):
            os.unlink(path)  # stale: its daemon is gone
        else:
            raise ApiServerError(f"another process is already serving on {path}")
        finally:
            probe.close()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        sock.bind(raw)
    except BaseException:
        sock.close()
        raise
    finally:
        os.umask(old_umask)
    os.chmod(path, 0o600)
    return sock


def _tcp_listener(host: str, port: int) -> socket.socket:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ApiServerError(f"TCP address {host}:{port} is already in use") from None
        raise
    return sock


async def serve_api(
    app: Any,
    *,
    unix_socket: Path | None,
    tcp: tuple[str, int] | None = None,
    shutdown: trio.Event | None = None,
    graceful_timeout_s: float = 3.0,
    task_status: TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` until ``shutdown`` is set (or the task is cancelled).

    ``task_status.started(binds)`` is called once every listener is listening; ``binds`` are
    hypercorn's descriptions (``http://unix:/path``, ``http://127.0.0.1:8420``). With
    ``tcp=(host, 0)`` the kernel picks a port: read it from ``binds``. On return the socket
    file is removed.
    """
    if unix_socket is None and tcp is None:
        raise ValueError("serve_api needs a unix socket, a TCP address or both")
    config = Config()
    config.errorlog = logging.getLogger("hypercorn.error")
    config.accesslog = None
    config.graceful_timeout = graceful_timeout_s
    config.include_server_header = False

    listeners: list[socket.socket] = []
    try:
        if unix_socket is not None:
            listeners.append(_unix_listener(unix_socket))
        if tcp is not None:
            listeners.append(_tcp_listener(*tcp))
        for sock in listeners:
            sock.setblocking(False)
            sock.listen(config.backlog)
        trigger = shutdown.wait if shutdown is not None else None
        await worker_serve(
            wrap_app(app, config.wsgi_max_body_size, "asgi"),
            config,
            sockets=Sockets(secure_sockets=[], insecure_sockets=listeners, quic_sockets=[]),
            shutdown_trigger=trigger,
            task_status=task_status,
        )
    finally:
        for sock in listeners:
            sock.close()
        if unix_socket is not None and listeners:
            try:
                os.unlink(unix_socket)
            except FileNotFoundError:
                pass
