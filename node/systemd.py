"""The systemd notify protocol (sd_notify(3)) without libsystemd: one datagram per state change.

Under a ``Type=notify`` unit systemd sets ``NOTIFY_SOCKET`` (a path, or ``@name`` for an
abstract socket) and, with ``WatchdogSec=``, ``WATCHDOG_USEC``/``WATCHDOG_PID``. Outside
systemd every call is a no-op, so the daemon calls them unconditionally::

    notifier = Notifier.from_env()
    ... serve the API ...
    notifier.ready()                          # READY=1 once the API listens
    nursery.start_soon(run_watchdog, notifier, node.is_making_progress)
    # SIGHUP:  notifier.reloading(); reload config; notifier.ready()
    # SIGTERM: notifier.stopping(); drain; exit 0
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Mapping

import trio

__all__ = ["Notifier", "run_watchdog", "watchdog_interval"]


class Notifier:
    """Sends notify messages to ``address`` (None: not under systemd, do nothing)."""

    def __init__(self, address: str | None) -> None:
        self.address = address or None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        env = os.environ if environ is None else environ
        return cls(env.get("NOTIFY_SOCKET"))

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, *fields: str) -> bool:
        """Send ``fields`` (``KEY=value`` each); True if sent, False when not under systemd."""
        if self.address is None:
            return False
        for item in fields:
            if "=" not in item or "\n" in item:
                raise ValueError(f"bad notify field {item!r}")
        address = self.address
        target = "\0" + address[1:] if address.startswith("@") else address
        message = "\n".join(fields).encode()
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.settimeout(1.0)
            sock.sendto(message, target)
        return True

    def ready(self, status: str | None = None) -> bool:
        return self.notify("READY=1", *_status(status))

    def reloading(self, status: str | None = None) -> bool:
        """``RELOADING=1`` with ``MONOTONIC_USEC`` (Type=notify-reload requires it); send
        `ready` when the reload is done."""
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.notify("RELOADING=1", f"MONOTONIC_USEC={usec}", *_status(status))

    def stopping(self, status: str | None = None) -> bool:
        return self.notify("STOPPING=1", *_status(status))

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def status(self, text: str) -> bool:
        return self.notify(*_status(text))


def _status(text: str | None) -> list[str]:
    if text is None:
        return []
    return [f"STATUS={' '.join(text.split())}"]


def watchdog_interval(environ: Mapping[str, str] | None = None) -> float | None:
    """Seconds between watchdog pings (half of ``WATCHDOG_USEC``), or None when systemd does
    not expect any from this process."""
    env = os.environ if environ is None else environ
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    if usec <= 0:
        return None
    pid = env.get("WATCHDOG_PID")
    if pid is not None and pid.strip() != str(os.getpid()):
        return None
    return usec / 2_000_000


async def run_watchdog(notifier: Notifier, healthy: Callable[[], bool],
                       interval_s: float | None = None) -> None:
    """Ping the watchdog every interval while ``healthy()`` is true; stop pinging (and let
    systemd restart the node) while it is false. Returns at once when there is no watchdog."""
    interval = interval_s if interval_s is not None else watchdog_interval()
    if interval is None or not notifier.enabled:
        return
    while True:
        if healthy():
            notifier.watchdog()
        await trio.sleep(interval)
