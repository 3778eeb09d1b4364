"""The lobby: strict decoding and signatures of announcements, and real gossipsub between
libp2p transports on loopback (announce, withdraw, late joiners, bursts above 10/s)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgpack
import pytest
import trio
from nacl.signing import SigningKey

from bitcraps.transports._lobby_messages import (
    ANNOUNCE,
    SIGNING_DOMAIN,
    WITHDRAW,
    Announcement,
    LobbyDecodeError,
    decode_announcement,
    sign_announcement,
)
from bitcraps.transports.libp2p_transport import Libp2pTransport
from bitcraps.transports.lobby import LOBBY_TOPIC, Lobby

KEY = SigningKey(bytes(range(32)))
PK = bytes(KEY.verify_key)
TABLE = bytes(range(16))
BOUND_S = 15


def sign(data: bytes) -> bytes:
    return KEY.sign(data).signature


def good(kind: int = ANNOUNCE, seq: int = 7) -> Announcement:
    unsigned = Announcement(kind, TABLE, b"kv", (PK, b"\x01" * 32), 1, 100, 3, PK, seq)
    return sign_announcement(unsigned, sign)


def test_round_trip_is_canonical_and_signed() -> None:
    a = good()
    data = a.encode()
    assert decode_announcement(data) == a
    assert a.encode() == data
    fields = msgpack.unpackb(data)
    assert fields[0] == 1 and fields[1] == ANNOUNCE and fields[2] == TABLE
    assert fields[5] == [1, 100] and len(fields[9]) == 64
    unsigned = msgpack.packb(fields[:9], use_bin_type=True)
    KEY.verify_key.verify(SIGNING_DOMAIN + unsigned, fields[9])
    assert decode_announcement(good(WITHDRAW).encode()).kind == WITHDRAW


def test_forged_announcements_are_rejected() -> None:
    fields = msgpack.unpackb(good().encode())
    fields[6] = 99  # more free seats than signed
    with pytest.raises(LobbyDecodeError, match="signature"):
        decode_announcement(msgpack.packb(fields, use_bin_type=True))
    other = SigningKey(bytes(32))
    forged = sign_announcement(Announcement(ANNOUNCE, TABLE, b"kv", (PK,), 1, 2, 1, PK, 1),
                               lambda d: other.sign(d).signature)
    with pytest.raises(LobbyDecodeError, match="signature"):
        decode_announcement(forged.encode())


@pytest.mark.parametrize("mutate", [
    lambda f: f[:9],                      # missing field
    lambda f: [*f, 0],                    # extra field
    lambda f: [2, *f[1:]],                # unknown version
    lambda f: [f[0], 2, *f[2:]],          # unknown kind
    lambda f: [*f[:2], f[2][:15], *f[3:]],  # short table id
    lambda f: [*f[:3], "kv", *f[4:]],     # str, not bytes
    lambda f: [*f[:4], [b"x"], *f[5:]],   # short replica key
    lambda f: [*f[:5], [5, 1], *f[6:]],   # min above max
    lambda f: [*f[:6], -1, *f[7:]],       # negative seats
    lambda f: [*f[:6], True, *f[7:]],     # bool, not int
    lambda f: [*f[:9], f[9][:63]],        # short signature
    lambda f: {"a": 1},                   # not an array
])
def test_malformed_announcements_are_rejected(mutate: object) -> None:
    fields = msgpack.unpackb(good().encode())
    data = msgpack.packb(mutate(fields), use_bin_type=True)  # type: ignore[operator]
    with pytest.raises(LobbyDecodeError):
        decode_announcement(data)


@pytest.mark.parametrize("data", [b"", b"\xc1", b"\xdd\xff\xff\xff\xff", b"\x00" * 5000,
                                  os.urandom(200), good().encode() + b"\x00"])
def test_garbage_is_a_decode_error(data: bytes) -> None:
    with pytest.raises(LobbyDecodeError):
        decode_announcement(data)


def test_non_canonical_encoding_is_rejected() -> None:
    fields = msgpack.unpackb(good().encode())
    # free_seats as a uint16 where the canonical form is a positive fixint
    head = msgpack.packb(fields[:6], use_bin_type=True)[1:]
    tail = msgpack.packb(fields[7:], use_bin_type=True)[1:]
    data = b"\x9a" + head + b"\xcd\x00\x03" + tail
    with pytest.raises(LobbyDecodeError):
        decode_announcement(data)


# --- real gossipsub over loopback --------------------------------------------------------


class _Peer:
    def __init__(self, transport: Libp2pTransport, lobby: Lobby, key: SigningKey) -> None:
        self.transport, self.lobby, self.key = transport, lobby, key


@asynccontextmanager
async def peers(n: int, **options: object) -> AsyncIterator[list[_Peer]]:
    async with trio.open_nursery() as nursery:
        out = []
        for _ in range(n):
            seed = os.urandom(32)
            key = SigningKey(seed)
            transport = Libp2pTransport(seed)
            await nursery.start(transport.run)
            lobby = Lobby(transport.host, public_key=bytes(key.verify_key),
                          sign=lambda d, k=key: k.sign(d).signature, **options)  # type: ignore[arg-type]
            await nursery.start(lobby.run)
            out.append(_Peer(transport, lobby, key))
        try:
            yield out
        finally:
            for p in out:
                await p.transport.aclose()
            nursery.cancel_scope.cancel()


async def connect(a: _Peer, b: _Peer) -> None:
    a.transport.add_peer_address(b.transport.local_peer, b.transport.listen_multiaddrs[0])
    await a.transport.connect(b.transport.local_peer)


def tables(lobby: Lobby) -> set[bytes]:
    return {t.announcement.table_id for t in lobby.known_tables()}


async def test_three_nodes_see_announcements_and_withdrawals() -> None:
    async with peers(3) as (a, b, c):
        await connect(a, b)
        await connect(b, c)
        t1, t2 = os.urandom(16), os.urandom(16)
        with trio.fail_after(BOUND_S):
            await trio.sleep(1.5)
            # announce once the mesh had a heartbeat or two; late joiners are re-served
            await a.lobby.announce(t1, game=b"kv", replicas=[a.transport.local_peer],
                                   min_bet=1, max_bet=10, free_seats=4)
            await c.lobby.announce(t2, game=b"kv", replicas=[c.transport.local_peer],
                                   min_bet=5, max_bet=50, free_seats=2)
            for p in (a, b, c):
                await p.lobby.wait_until(lambda lobby: tables(lobby) == {t1, t2})
            seen = {t.announcement.table_id: t.announcement for t in b.lobby.known_tables()}
            assert seen[t2].free_seats == 2 and seen[t2].max_bet == 50
            assert seen[t1].announcer == a.transport.local_peer
            await a.lobby.withdraw(t1)
            for p in (a, b, c):
                await p.lobby.wait_until(lambda lobby: tables(lobby) == {t2})
        for p in (a, b, c):
            assert p.lobby.statistics()["invalid"] == 0


async def test_late_joiner_sees_existing_tables() -> None:
    async with peers(2, republish_s=30.0) as (a, b):
        t1 = os.urandom(16)
        await a.lobby.announce(t1, game=b"kv", replicas=[], min_bet=1, max_bet=2, free_seats=1)
        await connect(b, a)
        with trio.fail_after(BOUND_S):
            await b.lobby.wait_until(lambda lobby: tables(lobby) == {t1})


async def test_expired_entries_disappear() -> None:
    async with peers(2, ttl_s=0.5, republish_s=60.0) as (a, b):
        await connect(a, b)
        t1 = os.urandom(16)
        with trio.fail_after(BOUND_S):
            await trio.sleep(1.5)
            await a.lobby.announce(t1, game=b"kv", replicas=[], min_bet=1, max_bet=2,
                                   free_seats=1)
            await b.lobby.wait_until(lambda lobby: tables(lobby) == {t1})
            await b.lobby.wait_until(lambda lobby: tables(lobby) == set())


async def test_burst_above_ten_per_second_is_delivered_or_counted() -> None:
    dropped: list[str] = []
    async with peers(2) as (a, b):
        b.lobby._on_drop = dropped.append
        await connect(a, b)
        ids = [os.urandom(16) for _ in range(200)]
        with trio.fail_after(BOUND_S):
            await trio.sleep(1.5)  # a heartbeat or two: the mesh is grafted
            for table_id in ids:
                await a.lobby.announce(table_id, game=b"kv", replicas=[], min_bet=1,
                                       max_bet=2, free_seats=1)

            def done(lobby: Lobby) -> bool:
                s = lobby.statistics()
                lost = sum(s[r] for r in ("inbox_full", "rate_limited", "outbound_queue_full"))
                return len(tables(lobby)) + lost >= len(ids)

            await b.lobby.wait_until(done)
        # with the limits raised, nothing is lost at all
        assert tables(b.lobby) == set(ids)
        assert a.lobby.statistics()["published"] >= len(ids)
        assert dropped == []


async def test_garbage_on_the_topic_is_counted_and_dropped() -> None:
    dropped: list[str] = []
    async with peers(2) as (a, b):
        b.lobby._on_drop = dropped.append
        await connect(a, b)
        with trio.fail_after(BOUND_S):
            await trio.sleep(1.5)
            await a.lobby._pubsub.publish(LOBBY_TOPIC, b"not an announcement")
            forged = msgpack.unpackb(good().encode())
            forged[6] = 50
            await a.lobby._pubsub.publish(LOBBY_TOPIC, msgpack.packb(forged, use_bin_type=True))
            await b.lobby.wait_until(lambda lobby: lobby.statistics()["invalid"] == 2)
        assert dropped == ["invalid", "invalid"]
        assert tables(b.lobby) == set()


async def test_with_py_libp2p_default_limits_every_drop_is_counted() -> None:
    dropped: list[str] = []
    async with peers(2, rate_limit_per_s=10.0, outbound_queue_size=32) as (a, b):
        a.lobby._on_drop = dropped.append
        await connect(a, b)
        ids = [os.urandom(16) for _ in range(100)]
        with trio.fail_after(BOUND_S):
            await trio.sleep(1.5)
            for table_id in ids:
                await a.lobby.announce(table_id, game=b"kv", replicas=[], min_bet=1,
                                       max_bet=2, free_seats=1)
            await b.lobby.wait_until(
                lambda lobby: len(tables(lobby)) + len(dropped) >= len(ids))
        assert 0 < len(tables(b.lobby)) < len(ids)
        assert set(dropped) == {"rate_limited"}
        assert len(tables(b.lobby)) + len(dropped) == len(ids)


async def test_the_lobby_is_bounded_and_counts_what_does_not_fit() -> None:
    dropped: list[str] = []
    async with peers(2, max_tables=5) as (a, b):
        b.lobby._on_drop = dropped.append
        await connect(a, b)
        ids = [os.urandom(16) for _ in range(8)]
        with trio.fail_after(BOUND_S):
            await trio.sleep(1.5)
            for table_id in ids:
                await a.lobby.announce(table_id, game=b"kv", replicas=[], min_bet=1,
                                       max_bet=2, free_seats=1)
            await b.lobby.wait_until(lambda lobby: len(dropped) == 3)
        assert tables(b.lobby) == set(ids[:5]) and set(dropped) == {"lobby_full"}
