"""Private hosts for tests: network namespaces joined by a bridge in a namespace of its own.

    switch namespace:  br0 ── p0 ── p1 ── ... (veth ends, no addresses)
    host namespace i:  lo, eth0 = 10.77.0.(10+i)/24 (the other end of p<i>)

Nothing is created on the host's own interfaces and the subnet exists only inside the
namespaces, so no traffic leaves them. A host is partitioned by taking its switch port
down (a pulled cable: its eth0 loses carrier) and healed by bringing it up. `close` kills
nothing but deletes every namespace it made; callers stop their processes first.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

SUBNET = "10.77.0"


class NamespacesRefused(Exception):
    """The kernel (or our privileges) refuses to create a network namespace."""


def _ip(*args: str, netns: str | None = None) -> None:
    command = ["ip", *(("-n", netns) if netns else ()), *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=10)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {result.stderr.strip()}")


def namespaces() -> list[str]:
    result = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                            timeout=10, check=True)
    return [line.split()[0] for line in result.stdout.splitlines() if line.strip()]


@dataclass
class Network:
    prefix: str
    switch: str = ""
    hosts: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)

    def add_namespace(self, name: str) -> None:
        result = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True,
                                timeout=10)
        if result.returncode != 0:
            raise NamespacesRefused(f"`ip netns add` failed: {result.stderr.strip()}")
        self.created.append(name)
        _ip("link", "set", "lo", "up", netns=name)

    def build(self, count: int) -> None:
        self.switch = f"{self.prefix}-sw"
        self.add_namespace(self.switch)
        _ip("link", "add", "br0", "type", "bridge", netns=self.switch)
        _ip("link", "set", "br0", "up", netns=self.switch)
        for i in range(count):
            host = f"{self.prefix}-h{i}"
            self.add_namespace(host)
            port = f"p{i}"
            # Created straight into the two namespaces: the host's own links are untouched.
            _ip("link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", host,
                netns=self.switch)
            _ip("link", "set", port, "master", "br0", netns=self.switch)
            _ip("link", "set", port, "up", netns=self.switch)
            address = f"{SUBNET}.{10 + i}"
            _ip("addr", "add", f"{address}/24", "dev", "eth0", netns=host)
            _ip("link", "set", "eth0", "up", netns=host)
            self.hosts.append(host)
            self.addresses.append(address)

    def exec_prefix(self, i: int) -> list[str]:
        return ["ip", "netns", "exec", self.hosts[i]]

    def partition(self, i: int) -> None:
        _ip("link", "set", f"p{i}", "down", netns=self.switch)

    def heal(self, i: int) -> None:
        _ip("link", "set", f"p{i}", "up", netns=self.switch)

    def close(self) -> None:
        """Delete every namespace made (their veths and the bridge go with them)."""
        errors = []
        for name in reversed(self.created):
            result = subprocess.run(["ip", "netns", "delete", name], capture_output=True,
                                    text=True, timeout=10)
            if result.returncode != 0:
                errors.append(f"{name}: {result.stderr.strip()}")
        self.created.clear()
        if errors:
            raise RuntimeError("namespaces not deleted: " + "; ".join(errors))


@contextmanager
def veth_network(count: int) -> Iterator[Network]:
    """`count` hosts on one bridge; skips the test where namespaces are refused."""
    if shutil.which("ip") is None:
        pytest.skip("iproute2 (`ip`) is not installed")
    network = Network(prefix=f"bc{os.getpid()}")
    try:
        try:
            network.build(count)
        except NamespacesRefused as exc:
            pytest.skip(f"network namespaces refused here ({exc})")
        yield network
    finally:
        network.close()
