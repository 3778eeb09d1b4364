"""A libp2p transport owns its listen ports: a TCP or QUIC (UDP) port another socket holds is
a `ListenError` at start, never shared through py-libp2p's SO_REUSEPORT, and nobody can join
a port it holds."""

from __future__ import annotations

import os
import socket

import pytest
import trio
from multiaddr import Multiaddr

from bitcraps.transports._listen_ports import check_listening
from bitcraps.transports.libp2p_transport import Libp2pTransport, ListenError

# SO_REUSEPORT on both sockets is how py-libp2p would have shared a port.
KINDS = [("tcp", socket.SOCK_STREAM, "/ip4/127.0.0.1/tcp/{port}"),
         ("quic", socket.SOCK_DGRAM, "/ip4/127.0.0.1/udp/{port}/quic-v1")]


def _sharing_socket(kind: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    return sock


@pytest.mark.parametrize(("name", "kind", "template"), KINDS)
async def test_a_port_in_use_is_refused(name: str, kind: int, template: str) -> None:
    with _sharing_socket(kind) as other:
        other.bind(("127.0.0.1", 0))
        if kind == socket.SOCK_STREAM:
            other.listen()
        address = template.format(port=other.getsockname()[1])
        transport = Libp2pTransport(os.urandom(32), listen_addrs=[address])
        with pytest.raises(BaseExceptionGroup) as refused, trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                await nursery.start(transport.run)
        matched, _ = refused.value.split(ListenError)
        assert matched is not None
        [error] = _leaves(matched)
        assert f"cannot listen on {address}" in str(error) and "in use" in str(error)


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


@pytest.mark.parametrize(("name", "kind", "template"), KINDS)
async def test_nobody_joins_a_port_the_node_holds(name: str, kind: int, template: str) -> None:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    transport = Libp2pTransport(os.urandom(32), listen_addrs=[template.format(port=port)])
    async with trio.open_nursery() as nursery:
        with trio.fail_after(30):
            await nursery.start(transport.run)
        with _sharing_socket(kind) as intruder, pytest.raises(OSError):
            intruder.bind(("127.0.0.1", port))  # before the fix: bound, and traffic split
        await transport.aclose()


def test_an_address_libp2p_did_not_listen_on_is_an_error() -> None:
    wanted = [Multiaddr("/ip4/127.0.0.1/tcp/7420"), Multiaddr("/ip4/127.0.0.1/tcp/7421")]
    check_listening({"/ip4/127.0.0.1/tcp/7420", "/ip4/127.0.0.1/tcp/7421"}, wanted)
    with pytest.raises(ListenError, match="tcp/7421"):
        check_listening({"/ip4/127.0.0.1/tcp/7420"}, wanted)
