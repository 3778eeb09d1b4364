"""Valid host-protocol and lobby messages to mutate: a real signed charter for a table whose
id its terms derive, the host requests and replies around it, and signed announcements."""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Any

from bitcraps.accel._ed25519_cpu import Ed25519Signer
from bitcraps.games.table_terms import TableTerms
from bitcraps.node._charter import (
    CHARTER,
    OFFER,
    RELEASE,
    Charter,
    HostReply,
    HostRequest,
    sign_charter,
)

SIGNERS = [Ed25519Signer(hashlib.sha256(b"bitcraps/fuzz/host%d" % i).digest()) for i in range(4)]
SALT = b"fuzz-salt-00001!"


@cache
def fuzz_terms() -> TableTerms:
    """The fuzz table's terms: four replicas (the `SIGNERS`), craps."""
    replicas = tuple(signer.public_key for signer in SIGNERS)
    return TableTerms("craps", replicas, 1, 100, 8, SALT)


@cache
def _charter() -> Charter:
    terms = fuzz_terms()
    addresses = tuple((f"/ip4/127.0.0.1/tcp/{4000 + i}",) for i in range(len(SIGNERS)))
    charter = Charter(terms.table_id, terms.game, terms.replicas, addresses, terms.min_bet,
                      terms.max_bet, terms.seats, terms.salt, terms.replicas[0])
    return sign_charter(charter, SIGNERS[0].sign)


def charters() -> tuple[bytes, ...]:
    """A charter without parameters (version 2) and one with (version 3)."""
    plain = _charter()
    params = (("shooter_timeout_ticks", 600),)
    timed = TableTerms(plain.game, plain.replicas, plain.min_bet, plain.max_bet, plain.seats,
                       plain.salt, params)
    with_params = Charter(timed.table_id, timed.game, timed.replicas, plain.addresses,
                          timed.min_bet, timed.max_bet, timed.seats, timed.salt, plain.creator,
                          params=params)
    return plain.encode(), sign_charter(with_params, SIGNERS[0].sign).encode()


def host_requests() -> tuple[bytes, ...]:
    charter = _charter()
    return (
        HostRequest(OFFER, SALT, "craps").encode(),
        HostRequest(CHARTER, charter.table_id, charter.game, charter).encode(),
        HostRequest(RELEASE, SALT).encode(),
    )


def host_replies() -> tuple[bytes, ...]:
    return (
        HostReply(True, "", ("/ip4/127.0.0.1/tcp/4000", "/ip4/10.0.0.2/udp/4001/quic-v1")).encode(),
        HostReply(False, "full", ()).encode(),
    )


def announcements() -> tuple[bytes, ...]:
    from bitcraps.transports.lobby import ANNOUNCE, WITHDRAW, Announcement, sign_announcement

    terms = fuzz_terms()
    made: list[Any] = []
    for kind, signer in ((ANNOUNCE, SIGNERS[0]), (WITHDRAW, SIGNERS[1])):
        announcement = Announcement(kind, terms.table_id, terms, 3, signer.public_key, 9)
        made.append(sign_announcement(announcement, signer.sign).encode())
    return tuple(made)
