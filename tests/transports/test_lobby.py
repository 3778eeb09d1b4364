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

from bitcraps.games.table_terms import TableTerms
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
from bitcraps.transports.lobby import LOBBY_TOPIC, Lobby, LobbyTable, TableListing

KEY = SigningKey(bytes(range(32)))
PK = bytes(KEY.verify_key)
TERMS = TableTerms("kv", (PK, b"\x01" * 32), 1, 100, 8, bytes(range(16)))
TABLE = TERMS.table_id
BOUND_S = 15


def sign(data: bytes) -> bytes:
    return KEY.sign(data).signature


def good(kind: int = ANNOUNCE, seq: int = 7) -> Announcement:
    unsigned = Announcement(kind, TABLE, TERMS, 3, PK, seq)
    return sign_announcement(unsigned, sign)


def new_table(*replicas: bytes, min_bet: int = 1, max_bet: int = 2) -> TableTerms:
    """A fresh table's terms (a random salt): its id is `.table_id`."""
    return TableTerms("kv", replicas, min_bet, max_bet, 8, os.urandom(16))


def test_round_trip_is_canonical_and_signed() -> None:
    a = good()
    data = a.encode()
    assert decode_announcement(data) == a
    assert a.encode() == data
    fields = msgpack.unpackb(data)
    assert fields[0] == 2 and fields[1] == ANNOUNCE and fields[2] == TABLE
    assert fields[3] == TERMS.to_wire() and fields[4] == 3 and len(fields[7]) == 64
    unsigned = msgpack.packb(fields[:7], use_bin_type=True)
    KEY.verify_key.verify(SIGNING_DOMAIN + unsigned, fields[7])
    assert decode_announcement(good(WITHDRAW).encode()).kind == WITHDRAW


def test_forged_announcements_are_rejected() -> None:
    fields = msgpack.unpackb(good().encode())
    fields[4] = 99  # more free seats than signed
    with pytest.raises(LobbyDecodeError, match="signature"):
        decode_announcement(msgpack.packb(fields, use_bin_type=True))
    other = SigningKey(bytes(32))
    forged = sign_announcement(Announcement(ANNOUNCE, TABLE, TERMS, 1, PK, 1),
                               lambda d: other.sign(d).signature)
    with pytest.raises(LobbyDecodeError, match="signature"):
        decode_announcement(forged.encode())


def test_a_real_table_id_with_other_replicas_or_a_stranger_announcing_is_dropped() -> None:
    """The attack that listed fake tables on every node: a real table id, the attacker's
    own replicas (its own key signing); and a stranger announcing a real table."""
    stranger = SigningKey(bytes([7]) * 32)
    mine = bytes(stranger.verify_key)
    hijack = TableTerms("kv", (mine,), 1, 10**9, 8, TERMS.salt)
    fields = [2, ANNOUNCE, TABLE, hijack.to_wire(), 99, mine, 1]
    signature = stranger.sign(SIGNING_DOMAIN + msgpack.packb(fields)).signature
    with pytest.raises(LobbyDecodeError) as caught:
        decode_announcement(msgpack.packb([*fields, signature]))
    assert caught.value.reason == "wrong_terms"
    fields = [2, ANNOUNCE, TABLE, TERMS.to_wire(), 99, mine, 1]
    signature = stranger.sign(SIGNING_DOMAIN + msgpack.packb(fields)).signature
    with pytest.raises(LobbyDecodeError) as caught:
        decode_announcement(msgpack.packb([*fields, signature]))
    assert caught.value.reason == "not_a_replica"


@pytest.mark.parametrize("mutate", [
    lambda f: f[:7],                      # missing field
    lambda f: [*f, 0],                    # extra field
    lambda f: [1, *f[1:]],                # unknown version
    lambda f: [f[0], 2, *f[2:]],          # unknown kind
    lambda f: [*f[:2], f[2][:15], *f[3:]],  # short table id
    lambda f: [*f[:3], [1, "kv", *f[3][2:]], *f[4:]],  # str game, not bytes
    lambda f: [*f[:3], [*f[3][:2], [b"x"], *f[3][3:]], *f[4:]],  # short replica key
    lambda f: [*f[:3], [*f[3][:3], 500, *f[3][4:]], *f[4:]],  # min above max
    lambda f: [*f[:3], b"terms", *f[4:]],  # terms not an array
    lambda f: [*f[:4], -1, *f[5:]],       # negative seats
    lambda f: [*f[:4], True, *f[5:]],     # bool, not int
    lambda f: [*f[:7], f[7][:63]],        # short signature
    lambda f: [*f[:3], [[[[[]]]]], *f[4:]],  # nested junk as terms
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
    head = msgpack.packb(fields[:4], use_bin_type=True)[1:]
    tail = msgpack.packb(fields[5:], use_bin_type=True)[1:]
    data = b"\x98" + head + b"\xcd\x00\x03" + tail
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


async def grafted(*pairs: tuple[_Peer, _Peer]) -> None:
    """Wait until each pair has the other in its lobby topic's gossipsub mesh, so that what
    either publishes reaches the other (a condition, not a guess at a heartbeat or two)."""

    def meshed(a: _Peer, b: _Peer) -> bool:
        return b.transport.host.get_id() in a.lobby._router.mesh.get(LOBBY_TOPIC, set())

    while not all(meshed(a, b) and meshed(b, a) for a, b in pairs):
        await trio.sleep(0.02)


async def test_three_nodes_see_announcements_and_withdrawals() -> None:
    async with peers(3) as (a, b, c):
        await connect(a, b)
        await connect(b, c)
        terms1 = new_table(a.transport.local_peer, max_bet=10)
        terms2 = new_table(c.transport.local_peer, min_bet=5, max_bet=50)
        t1, t2 = terms1.table_id, terms2.table_id
        with trio.fail_after(BOUND_S):
            await grafted((a, b), (b, c))
            await a.lobby.announce(terms1, free_seats=4)
            await c.lobby.announce(terms2, free_seats=2)
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
        terms = new_table(a.transport.local_peer)
        t1 = terms.table_id
        await a.lobby.announce(terms, free_seats=1)
        await connect(b, a)
        with trio.fail_after(BOUND_S):
            await b.lobby.wait_until(lambda lobby: tables(lobby) == {t1})


async def test_expired_entries_disappear() -> None:
    async with peers(2, ttl_s=0.5, republish_s=60.0) as (a, b):
        await connect(a, b)
        terms = new_table(a.transport.local_peer)
        t1 = terms.table_id
        with trio.fail_after(BOUND_S):
            await grafted((a, b))
            await a.lobby.announce(terms, free_seats=1)
            await b.lobby.wait_until(lambda lobby: tables(lobby) == {t1})
            await b.lobby.wait_until(lambda lobby: tables(lobby) == set())


async def test_burst_above_ten_per_second_is_delivered_or_counted() -> None:
    dropped: list[str] = []
    async with peers(2) as (a, b):
        b.lobby._on_drop = dropped.append
        await connect(a, b)
        all_terms = [new_table(a.transport.local_peer) for _ in range(200)]
        ids = [terms.table_id for terms in all_terms]
        with trio.fail_after(BOUND_S):
            await grafted((a, b))
            for terms in all_terms:
                await a.lobby.announce(terms, free_seats=1)

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
            await grafted((a, b))
            await a.lobby._pubsub.publish(LOBBY_TOPIC, b"not an announcement")
            forged = msgpack.unpackb(good().encode())
            forged[4] = 50
            await a.lobby._pubsub.publish(LOBBY_TOPIC, msgpack.packb(forged, use_bin_type=True))
            await b.lobby.wait_until(lambda lobby: lobby.statistics()["invalid"] == 2)
        assert dropped == ["invalid", "invalid"]
        assert tables(b.lobby) == set()


async def test_with_py_libp2p_default_limits_every_drop_is_counted() -> None:
    dropped: list[str] = []
    async with peers(2, rate_limit_per_s=10.0, outbound_queue_size=32) as (a, b):
        a.lobby._on_drop = dropped.append
        await connect(a, b)
        all_terms = [new_table(a.transport.local_peer) for _ in range(100)]
        ids = [terms.table_id for terms in all_terms]
        with trio.fail_after(BOUND_S):
            await grafted((a, b))
            for terms in all_terms:
                await a.lobby.announce(terms, free_seats=1)
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
        all_terms = [new_table(a.transport.local_peer) for _ in range(8)]
        ids = [terms.table_id for terms in all_terms]
        with trio.fail_after(BOUND_S):
            await grafted((a, b))
            for terms in all_terms:
                await a.lobby.announce(terms, free_seats=1)
            await b.lobby.wait_until(lambda lobby: len(dropped) == 3)
        assert tables(b.lobby) == set(ids[:5]) and set(dropped) == {"lobby_full"}


async def test_a_hijacked_table_on_the_topic_is_dropped_and_counted() -> None:
    """A peer announces a real table id with itself as the only replica, and a real table
    it is no replica of: neither is listed, each drop is counted with its reason."""
    dropped: list[str] = []
    async with peers(2) as (a, b):
        b.lobby._on_drop = dropped.append
        await connect(a, b)
        me = a.transport.local_peer
        real = new_table(bytes(b.transport.local_peer), b"\x05" * 32)
        hijack = TableTerms("kv", (me,), 1, 10**9, 8, real.salt)
        with trio.fail_after(BOUND_S):
            await grafted((a, b))
            for terms in (hijack, real):
                fields = [2, ANNOUNCE, real.table_id, terms.to_wire(), 99, me, 1]
                signature = a.key.sign(SIGNING_DOMAIN + msgpack.packb(fields)).signature
                await a.lobby._pubsub.publish(LOBBY_TOPIC, msgpack.packb([*fields, signature]))
            await b.lobby.wait_until(lambda lobby: len(dropped) == 2)
        assert dropped == ["wrong_terms", "not_a_replica"] and tables(b.lobby) == set()


async def test_a_flood_is_delivered_or_counted_message_by_message() -> None:
    """Messages published far faster than py-libp2p's per-peer writer drains: each one is
    delivered to the other lobby or counted as a drop on one side (here, mostly the
    sender's outbound queue); none vanishes uncounted."""
    sent = 3000
    async with peers(2) as (a, b):
        await connect(a, b)
        with trio.fail_after(60):
            await grafted((a, b))
            for i in range(sent):
                await a.lobby._pubsub.publish(LOBBY_TOPIC, b"junk" + i.to_bytes(4, "big"))

            def accounted() -> int:
                """Delivered to b, refused by b's pubsub, or dropped by a's router. (b's
                inbox_full and invalid are among what it received; its rate_limited counts
                messages it delivered but did not relay.)"""
                sa, sb = a.lobby.statistics(), b.lobby.statistics()
                lost = sa["outbound_queue_full"] + sa["oversized"] + sa["rate_limited"]
                return sb["received"] + sb["pubsub_rejected"] + lost

            while accounted() < sent:
                await b.lobby.wait_until(lambda _lobby: True)
                await trio.sleep(0.1)
        sa, sb = a.lobby.statistics(), b.lobby.statistics()
        assert sa["received"] == 0  # our own publishes are not handed back to us
        assert sb["invalid"] + sb["inbox_full"] == sb["received"]
        assert accounted() == sent, (sa, sb)


# --- one listing per table -----------------------------------------------------------------


def _listing(terms: TableTerms, announcer: bytes, free_seats: int, at: float) -> TableListing:
    return TableListing(Announcement(ANNOUNCE, terms.table_id, terms, free_seats, announcer, 1),
                        at, at + 60)


def test_a_tables_announcements_merge_into_one_listing_with_the_median_seats() -> None:
    keys = [bytes([i]) * 32 for i in range(1, 5)]
    terms = TableTerms("craps", tuple(keys), 1, 100, 8, bytes(16))
    listings = [_listing(terms, key, seats, at)
                for key, seats, at in zip(keys, (5, 5, 8, 0), (4.0, 3.0, 2.0, 1.0), strict=True)]
    merged = LobbyTable(tuple(listings))
    assert merged.table_id == terms.table_id and merged.announcers == tuple(keys)
    assert merged.free_seats == 5  # one stale replica (8) and one liar (0) move nothing
    shown = merged.to_json()
    assert shown["free_seats"] == 5 and shown["announcer"] == keys[0].hex()
    assert shown["announcers"] == [key.hex() for key in keys]
    assert LobbyTable(tuple(listings[2:])).free_seats == 0  # two say 8 and 0: the lower


async def test_a_table_announced_by_each_of_its_replicas_is_listed_once() -> None:
    async with peers(3) as (a, b, c):
        await connect(a, c)
        await connect(b, c)
        terms = new_table(a.transport.local_peer, b.transport.local_peer)
        with trio.fail_after(BOUND_S):
            await grafted((a, c), (b, c))
            await a.lobby.announce(terms, free_seats=8)
            await b.lobby.announce(terms, free_seats=8)
            await c.lobby.wait_until(lambda lobby: len(lobby.known_tables()) == 2)
            [listed] = c.lobby.tables()
            assert set(listed.announcers) == {a.transport.local_peer, b.transport.local_peer}
            assert listed.free_seats == 8
            # Both replicas re-announce when a player sits down: the listing follows.
            await a.lobby.announce(terms, free_seats=7)
            await b.lobby.announce(terms, free_seats=7)
            await c.lobby.wait_until(lambda lobby: [t.free_seats for t in lobby.tables()] == [7])
            assert a.lobby.is_announced(terms.table_id)
            await a.lobby.withdraw(terms.table_id)
            assert not a.lobby.is_announced(terms.table_id)
            await c.lobby.wait_until(
                lambda lobby: [t.announcers for t in lobby.tables()]
                == [(b.transport.local_peer,)])
