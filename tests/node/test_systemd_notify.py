"""sd_notify against a real datagram socket standing in for systemd's NOTIFY_SOCKET."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
import trio.testing

from bitcraps.node.systemd import Notifier, run_watchdog, watchdog_interval


@pytest.fixture
def notify_socket(data_dir: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(data_dir / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.setblocking(False)
    try:
        yield sock, path
    finally:
        sock.close()


def _received(sock: socket.socket) -> list[dict[str, str]]:
    messages = []
    while True:
        try:
            data = sock.recv(4096)
        except BlockingIOError:
            return messages
        messages.append(dict(line.split("=", 1) for line in data.decode().split("\n")))


def test_states_reach_the_socket(notify_socket: tuple[socket.socket, str]) -> None:
    sock, path = notify_socket
    notifier = Notifier.from_env({"NOTIFY_SOCKET": path})
    assert notifier.enabled
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert notifier.ready("serving on control.sock")
    assert notifier.reloading()
    assert notifier.ready()
    assert notifier.watchdog()
    assert notifier.status("2 tables,\n3 peers")
    assert notifier.stopping("draining")
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    messages = _received(sock)
    assert messages[0] == {"READY": "1", "STATUS": "serving on control.sock"}
    assert messages[1]["RELOADING"] == "1"
    assert before <= int(messages[1]["MONOTONIC_USEC"]) <= after
    assert messages[2:] == [{"READY": "1"}, {"WATCHDOG": "1"}, {"STATUS": "2 tables, 3 peers"},
                            {"STOPPING": "1", "STATUS": "draining"}]


def test_abstract_socket(data_dir: Path) -> None:
    name = f"bitcraps-test-{os.getpid()}-{data_dir.name}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.setblocking(False)
    try:
        assert Notifier.from_env({"NOTIFY_SOCKET": "@" + name}).ready()
        assert _received(sock) == [{"READY": "1"}]
    finally:
        sock.close()


def test_not_under_systemd_is_a_no_op() -> None:
    notifier = Notifier.from_env({})
    assert not notifier.enabled
    assert not notifier.ready()
    assert not notifier.stopping()
    assert not Notifier.from_env({"NOTIFY_SOCKET": ""}).enabled


def test_bad_fields_are_refused(notify_socket: tuple[socket.socket, str]) -> None:
    sock, path = notify_socket
    with pytest.raises(ValueError):
        Notifier(path).notify("READY=1\nSTOPPING=1")
    with pytest.raises(ValueError):
        Notifier(path).notify("READY")
    assert _received(sock) == []


def test_gone_systemd_socket_is_an_error(data_dir: Path) -> None:
    with pytest.raises(OSError):
        Notifier(str(data_dir / "missing")).ready()


@pytest.mark.parametrize(("env", "expected"), [
    ({}, None),
    ({"WATCHDOG_USEC": "30000000"}, 15.0),
    ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}, 15.0),
    ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),  # meant for another process
    ({"WATCHDOG_USEC": "0"}, None),
    ({"WATCHDOG_USEC": "soon"}, None),
])
def test_watchdog_interval(env: dict[str, str], expected: float | None) -> None:
    assert watchdog_interval(env) == expected


async def test_watchdog_pings_only_while_healthy(
        notify_socket: tuple[socket.socket, str], autojump_clock: trio.testing.MockClock) -> None:
    sock, path = notify_socket
    healthy = True
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_watchdog, Notifier(path), lambda: healthy, 10.0)
        await trio.sleep(35)  # virtual: pings at 0, 10, 20, 30
        assert len(_received(sock)) == 4
        healthy = False
        await trio.sleep(40)
        assert _received(sock) == []
        healthy = True
        await trio.sleep(10)
        assert _received(sock) == [{"WATCHDOG": "1"}]
        nursery.cancel_scope.cancel()


async def test_no_watchdog_configured_returns_at_once(
        notify_socket: tuple[socket.socket, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    with trio.fail_after(1):
        await run_watchdog(Notifier(notify_socket[1]), lambda: True, None)
        await run_watchdog(Notifier(None), lambda: True, 1.0)
    assert _received(notify_socket[0]) == []
