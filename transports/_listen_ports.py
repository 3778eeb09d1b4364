"""A node owns its libp2p listen ports, or refuses to start.

py-libp2p 0.8 binds its TCP listeners (and its QUIC UDP sockets) with ``SO_REUSEPORT``, for
hole punching that dials out from the listen port. On Linux two sockets that both set it
share a port: a second node on the same port starts without a word and the kernel splits
incoming connections between the two. Its swarm also swallows a failed listen (logged at
debug) and runs on, listening nowhere. So:

- `own_listen_ports()` makes py-libp2p bind without ``SO_REUSEPORT`` (TCP keeps
  ``SO_REUSEADDR``, which only lets a restart reuse a port in TIME_WAIT; UDP sets neither).
  A second process then cannot bind the port, and neither can we when it holds it. We use
  no hole punching (no DCUtR), the only thing that needs the shared port.
- `probe_listen_addrs(addrs)` binds each fixed port once, as py-libp2p will, before the host
  starts: a port in use is a `ListenError` naming the address and the reason.
- `check_listening(listening, addrs)` after the start: any address py-libp2p failed to
  listen on (between the probe and the bind) is a `ListenError` too.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Collection, Sequence
from typing import Any

from multiaddr import Multiaddr

__all__ = ["ListenError", "check_listening", "own_listen_ports", "probe_listen_addrs"]


class ListenError(OSError):
    """A listen address cannot be bound (in use, not on this host, not permitted)."""


def own_listen_ports() -> None:
    """Patch py-libp2p's listeners so they never share a port (idempotent)."""
    from libp2p.transport.quic import listener as quic_listener
    from libp2p.transport.tcp import tcp

    if getattr(tcp, "_set_reuse_flags", None) is not _reuse_address_only:
        tcp._set_reuse_flags = _reuse_address_only
    listener_class: Any = quic_listener.QUICListener
    if listener_class._create_socket is not _unshared_udp_socket:
        listener_class._create_socket = _unshared_udp_socket


def _reuse_address_only(sock: Any) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    except OSError:
        pass


async def _unshared_udp_socket(self: Any, host: str, port: int) -> Any:
    """QUICListener._create_socket without SO_REUSEADDR and SO_REUSEPORT."""
    import trio
    from libp2p.transport.quic.exceptions import QUICListenError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = trio.socket.socket(family=family, type=socket.SOCK_DGRAM)
    try:
        await sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise QUICListenError(f"Failed to create socket: {exc}") from exc
    return sock


def _bind_target(address: Multiaddr) -> tuple[int, int, str, int] | None:
    """(family, socket type, host, port) a listen address binds; None for port 0 or a
    multiaddr that names no IP (DNS names are not listened on)."""
    protocols = {p.name for p in address.protocols()}
    if "tcp" in protocols:
        kind, port_text = socket.SOCK_STREAM, address.value_for_protocol("tcp")
    elif "udp" in protocols:
        kind, port_text = socket.SOCK_DGRAM, address.value_for_protocol("udp")
    else:
        return None
    if "ip4" in protocols:
        family, host = socket.AF_INET, address.value_for_protocol("ip4")
    elif "ip6" in protocols:
        family, host = socket.AF_INET6, address.value_for_protocol("ip6")
    else:
        return None
    port = int(port_text or 0)
    return None if port == 0 else (family, kind, str(host), port)


def probe_listen_addrs(addresses: Sequence[Multiaddr]) -> None:
    """Bind (then release) every fixed port of ``addresses`` as py-libp2p will bind it;
    `ListenError` for the first one that cannot be bound."""
    for address in addresses:
        target = _bind_target(address)
        if target is None:
            continue
        family, kind, host, port = target
        with socket.socket(family, kind) as probe:
            if kind == socket.SOCK_STREAM:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as exc:
                raise ListenError(_refusal(address, exc)) from None


def check_listening(listening: Collection[str], addresses: Sequence[Multiaddr]) -> None:
    """`ListenError` unless py-libp2p listens on every one of ``addresses`` (``listening``:
    the swarm's listener keys, the addresses as given)."""
    for address in addresses:
        if str(address) not in listening:
            raise ListenError(f"cannot listen on {address} (is another process using that "
                              "port?): choose another in network.listen_addrs")


_HINTS = {errno.EADDRINUSE: "another process owns that port",
          errno.EADDRNOTAVAIL: "that address is not one of this host's",
          errno.EACCES: "ports below 1024 need privileges"}


def _refusal(address: Multiaddr, exc: OSError) -> str:
    reason = (exc.strerror or str(exc)).lower()
    hint = _HINTS.get(exc.errno or 0, "the address cannot be bound here")
    return f"cannot listen on {address}: {reason} ({hint}); change network.listen_addrs"
