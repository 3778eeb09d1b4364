"""Forming a table with other nodes: pick replica-capable peers, agree on a charter, open it.

The creator asks peers, in a fixed order (connected peers first, then by key), whether they
will host the table (OFFER). A peer that agrees holds a slot (`OFFER_HOLD_S`) and answers
with the addresses it listens on. An offer is named by the salt the creator drew for the
table; with N-1 yeses the table id follows from the terms (game, the N replicas in order,
limits, seats, salt) and the creator signs a charter naming the replicas and their
addresses and sends it to each (CHARTER); each replica stores the charter and opens the
table, then the creator opens its own. Peers that said yes but were not needed
are told to forget the offer (RELEASE). A peer refuses when its config says it hosts no
tables, when it is full, or when it does not know the game: the creator then asks the next.
What one requester may hold (offers, tables), the smallest table hosted and the allowlist
are `host_policy`'s; a CHARTER is answered only after our own OFFER to that requester.

Only N replicas that store the charter form the table: the creator reports which did. A
replica that stored the charter reopens the table from it after every restart.

What the serving side decides is counted (`statistics()`, on /metrics as
`bitcraps_host_protocol_events_total{event, reason}`): offers and charters accepted and
refused by the rule that refused them, releases, formed tables closed (`formed_tables`), and
requests the transport refused or could not answer (`Libp2pRequests.statistics`).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import trio

from bitcraps.games.table_terms import SALT_BYTES, TableTerms
from bitcraps.transports._interface import TransportError
from bitcraps.transports.libp2p_requests import Libp2pRequests

from ._charter import (
    CHARTER,
    OFFER,
    RELEASE,
    Charter,
    CharterError,
    HostReply,
    HostRequest,
    decode_charter,
    decode_reply,
    decode_request,
    sign_charter,
)
from ._control import ControlError
from .host_policy import HostLimits, OfferBook, refuse_charter, refuse_offer

__all__ = ["CharterStore", "FormationPolicy", "TableFormation"]

CHARTER_SUFFIX = ".charter"


class CharterStore:
    """Charters of formed tables, one file each under `<data_dir>/charters/`."""

    def __init__(self, data_dir: Path) -> None:
        self.directory = data_dir / "charters"

    def save(self, charter: Charter) -> None:
        """Write atomically and durably: a crash leaves the old state or the new one."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        final = self.directory / (charter.table_id.hex() + CHARTER_SUFFIX)
        partial = final.with_suffix(".partial")
        with open(partial, "wb") as handle:
            handle.write(charter.encode())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, final)
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def delete(self, table_id: bytes) -> None:
        """Forget a closed table's charter (durably: it is not reopened after a restart)."""
        (self.directory / (table_id.hex() + CHARTER_SUFFIX)).unlink(missing_ok=True)
        if self.directory.is_dir():
            directory = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)

    def age_s(self, table_id: bytes) -> float:
        """Seconds since the charter was stored (0 if it is not, or the clock went back)."""
        try:
            stored = (self.directory / (table_id.hex() + CHARTER_SUFFIX)).stat().st_mtime
        except OSError:
            return 0.0
        return max(0.0, time.time() - stored)

    def load_all(self) -> tuple[list[Charter], list[str]]:
        """Every stored charter, and a line for each file that is not a valid charter."""
        charters: list[Charter] = []
        problems: list[str] = []
        if not self.directory.is_dir():
            return charters, problems
        for path in sorted(self.directory.glob("*" + CHARTER_SUFFIX)):
            try:
                charter = decode_charter(path.read_bytes())
                if path.stem != charter.table_id.hex():
                    raise CharterError("the file name is not the charter's table id")
            except (OSError, CharterError) as exc:
                problems.append(f"{path}: {exc}")
                continue
            charters.append(charter)
        return charters, problems


@dataclass(frozen=True)
class FormationPolicy:
    """What this node agrees to host (`host_policy` says how strangers are bounded)."""

    host_tables: bool
    max_hosted_tables: int
    games: tuple[str, ...]
    limits: HostLimits = HostLimits()


@dataclass
class TableFormation:
    """The host protocol's both sides, for one node."""

    requests: Libp2pRequests
    public_key: bytes
    sign: Callable[[bytes], bytes]
    policy: Callable[[], FormationPolicy]
    hosted_count: Callable[[], int]
    listen_addresses: Callable[[], Sequence[str]]
    candidate_peers: Callable[[], Sequence[bytes]]
    open_charter: Callable[[Charter], Awaitable[None]]
    offers: OfferBook = field(default_factory=OfferBook)
    hosted_for: Callable[[bytes], int] = lambda creator: 0  # tables formed by `creator`
    is_hosted: Callable[[bytes], bool] = lambda table_id: False
    is_retired: Callable[[bytes], bool] = lambda table_id: False  # `retired_tables`
    retired_full: Callable[[], bool] = lambda: False
    events: Counter[str] = field(default_factory=Counter)
    """Host-protocol events, "event" or "event:reason" (`count`)."""

    def count(self, event: str, reason: str = "") -> None:
        self.events[f"{event}:{reason}" if reason else event] += 1

    def statistics(self) -> dict[str, int]:
        """Events so far: "offer_accepted", "offer_refused:full", "charter_refused:no_offer",
        "table_closed:idle", "request_refused:peer_limit", "request_failed:timed_out", ..."""
        counts = dict(self.events)
        served = self.requests.statistics()
        for limit in ("peer_limit", "total_limit"):
            counts[f"request_refused:{limit}"] = served[f"refused_{limit}"]
        for outcome in ("timed_out", "too_large", "failed"):
            counts[f"request_failed:{outcome}"] = served[outcome]
        return counts

    # --- the peer's side -------------------------------------------------------------------

    def serve(self) -> None:
        self.requests.serve(self._answer)

    async def _answer(self, caller: bytes, data: bytes) -> bytes:
        try:
            request = decode_request(data)
        except CharterError as exc:
            self.count("request_refused", "malformed")
            return HostReply(False, f"malformed request: {exc}").encode()
        if request.kind == OFFER:
            return self._answer_offer(caller, request).encode()
        if request.kind == RELEASE:
            self.offers.take(caller, request.table_id)  # only the caller's own offer
            self.count("release")
            return HostReply(True).encode()
        assert request.charter is not None
        return (await self._answer_charter(caller, request.charter)).encode()

    def _answer_offer(self, caller: bytes, request: HostRequest) -> HostReply:
        policy = self.policy()
        now = trio.current_time()
        self.offers.prune(now)
        refused = refuse_offer(
            policy.limits, host_tables=policy.host_tables, max_tables=policy.max_hosted_tables,
            games=policy.games, caller=caller, game=request.game, book=self.offers,
            hosted=self.hosted_count(), hosted_for_caller=self.hosted_for(caller),
            retired_full=self.retired_full())
        if refused is not None:
            self.count("offer_refused", refused.reason)
            return HostReply(False, refused.message)
        self.offers.hold(caller, request.table_id, request.game, now)
        self.count("offer_accepted")
        return HostReply(True, addresses=tuple(self.listen_addresses()))

    async def _answer_charter(self, caller: bytes, charter: Charter) -> HostReply:
        policy = self.policy()
        self.offers.prune(trio.current_time())
        offer = self.offers.take(caller, charter.salt)  # offers are named by the table's salt
        refused = refuse_charter(
            policy.limits, host_tables=policy.host_tables, max_tables=policy.max_hosted_tables,
            caller=caller, public_key=self.public_key, replicas=charter.replicas,
            creator=charter.creator, game=charter.game, offer=offer,
            hosted=self.hosted_count(), hosted_for_caller=self.hosted_for(caller),
            already_hosted=self.is_hosted(charter.table_id),
            retired=self.is_retired(charter.table_id), retired_full=self.retired_full())
        if refused is not None:
            self.count("charter_refused", refused.reason)
            return HostReply(False, refused.message)
        try:
            await self.open_charter(charter)
        except Exception as exc:  # storage full, bad address, ...: the creator hears why
            self.count("charter_refused", "open_failed")
            return HostReply(False, f"could not open the table: {exc}")
        self.count("charter_accepted")
        return HostReply(True)

    # --- the creator's side ----------------------------------------------------------------

    async def create(self, game: str, replicas: int, *, min_bet: int, max_bet: int,
                     seats: int, params: tuple[tuple[str, int], ...] = ()) -> Charter:
        """Form a table of `replicas` nodes, this one first; the opened table's charter."""
        policy = self.policy()
        if game not in policy.games:
            raise ControlError(f"unknown game {game!r} (this node plays: "
                               f"{', '.join(policy.games)})")
        if not 1 <= replicas <= 64:
            raise ControlError("--replicas is between 1 and 64 (3f+1 tolerates f faults)")
        if not min_bet <= max_bet:
            raise ControlError(f"min_bet ({min_bet}) is above max_bet ({max_bet})")
        salt = os.urandom(SALT_BYTES)  # names the offer; the table id derives from the terms
        members, refusals = await self._gather(salt, game, replicas - 1)
        if len(members) < replicas - 1:
            await self._release(salt, list(members))
            found = len(members) + 1
            detail = "; ".join(refusals) or "no peers known (bootstrap, mDNS)"
            raise ControlError(f"found {found} of {replicas} replicas: {detail}", 503)
        keys = (self.public_key, *members)
        addresses = (tuple(self.listen_addresses()), *members.values())
        table_id = TableTerms(game, keys, min_bet, max_bet, seats, salt, params).table_id
        charter = sign_charter(Charter(table_id, game, keys, addresses, min_bet, max_bet,
                                       seats, salt, self.public_key, params=params), self.sign)
        failed = await self._send_charter(charter, list(members))
        if failed:
            raise ControlError("table not formed: " + "; ".join(failed), 503)
        await self.open_charter(charter)
        return charter

    async def _gather(self, salt: bytes, game: str,
                      wanted: int) -> tuple[dict[bytes, tuple[str, ...]], list[str]]:
        members: dict[bytes, tuple[str, ...]] = {}
        refusals: list[str] = []
        candidates = [p for p in self.candidate_peers() if p != self.public_key]
        offer = HostRequest(OFFER, salt, game).encode()
        while len(members) < wanted and candidates:
            missing = wanted - len(members)
            batch, candidates = candidates[:missing], candidates[missing:]
            async with trio.open_nursery() as nursery:
                for peer in batch:
                    nursery.start_soon(self._ask, peer, offer, members, refusals)
        return members, refusals

    async def _ask(self, peer: bytes, offer: bytes, members: dict[bytes, tuple[str, ...]],
                   refusals: list[str]) -> None:
        reply = await self._request(peer, offer)
        if reply.ok:
            members[peer] = reply.addresses
        else:
            refusals.append(f"{peer.hex()[:16]}: {reply.reason}")

    async def _send_charter(self, charter: Charter, members: list[bytes]) -> list[str]:
        failed: list[str] = []
        request = HostRequest(CHARTER, charter.table_id, charter=charter).encode()

        async def send(peer: bytes) -> None:
            reply = await self._request(peer, request)
            if not reply.ok:
                failed.append(f"{peer.hex()[:16]}: {reply.reason}")

        async with trio.open_nursery() as nursery:
            for peer in members:
                nursery.start_soon(send, peer)
        return failed

    async def _release(self, salt: bytes, members: list[bytes]) -> None:
        request = HostRequest(RELEASE, salt).encode()
        async with trio.open_nursery() as nursery:
            for peer in members:
                nursery.start_soon(self._request, peer, request)

    async def _request(self, peer: bytes, data: bytes) -> HostReply:
        try:
            return decode_reply(await self.requests.request(peer, data))
        except (TransportError, CharterError) as exc:
            return HostReply(False, str(exc))
