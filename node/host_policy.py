"""Who may make this node host a table, and how much of it one requester may take.

The host protocol (`table_formation`) answers strangers, so everything it holds for them is
bounded per requester:

- Held offers: a requester holds at most `MAX_OFFERS_PER_REQUESTER` at once, each for
  `OFFER_HOLD_S`; the book holds at most `MAX_HELD_OFFERS` (the oldest goes first). Toward
  "full" a requester's held offers count once, however many it holds: thirty offers from one
  peer no longer fill a node.
- Charters: a CHARTER is answered only after this node's own accepted OFFER for that table
  from that same requester; a requester may have at most `tables_per_requester` tables here
  at once; a table must have at least `min_replicas` replicas (`node.host_min_replicas`,
  default 4: a table of 1 to 3 replicas tolerates no faulty one, so hosting one is an explicit
  choice of the operator).
- `node.host_allowlist`: when not empty, only those keys may ask.
- Retired tables (`retired_tables`): a CHARTER for a table this node retired is refused
  (it is never opened again from scratch); once the retired list is full, offers and
  charters from others are refused (``retired_full``) until the operator acts.

A refusal carries a message for the requester and a short `reason` for the node's metrics
(`bitcraps_host_protocol_events_total{event="offer_refused",reason="full"}`).

Pure bookkeeping over plain values: the clock is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "MAX_HELD_OFFERS",
    "MAX_OFFERS_PER_REQUESTER",
    "OFFER_HOLD_S",
    "RETIRED_FULL",
    "HostLimits",
    "HeldOffer",
    "OfferBook",
    "Refusal",
    "refuse_charter",
    "refuse_offer",
]

OFFER_HOLD_S = 30.0
MAX_OFFERS_PER_REQUESTER = 2
MAX_HELD_OFFERS = 256


@dataclass(frozen=True)
class HostLimits:
    """The operator's limits on hosting for others (`[node]` in node.toml)."""

    allowlist: frozenset[bytes] = frozenset()
    min_replicas: int = 4
    tables_per_requester: int = 4


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused: `reason` names the rule (for metrics), `message` explains
    it to the requester."""

    reason: str
    message: str


@dataclass(frozen=True)
class HeldOffer:
    creator: bytes
    name: bytes  # what the creator calls the proposed table (its salt)
    game: str
    expires_at: float


@dataclass
class OfferBook:
    """Offers this node agreed to and holds, keyed by (requester, offer name)."""

    held: dict[tuple[bytes, bytes], HeldOffer] = field(default_factory=dict)

    def prune(self, now: float) -> None:
        self.held = {k: o for k, o in self.held.items() if o.expires_at > now}

    def held_by(self, requester: bytes) -> int:
        return sum(1 for creator, _ in self.held if creator == requester)

    def counted_toward_full(self) -> int:
        """Held offers as "full" counts them: one per requester that holds any."""
        return len({creator for creator, _ in self.held})

    def hold(self, requester: bytes, name: bytes, game: str, now: float) -> None:
        self.held.pop((requester, name), None)
        while len(self.held) >= MAX_HELD_OFFERS:
            del self.held[next(iter(self.held))]  # the oldest
        self.held[(requester, name)] = HeldOffer(requester, name, game, now + OFFER_HOLD_S)

    def take(self, requester: bytes, name: bytes) -> HeldOffer | None:
        """The requester's offer of that name, removed from the book (None: not held)."""
        return self.held.pop((requester, name), None)

    def __len__(self) -> int:
        return len(self.held)


RETIRED_FULL = Refusal("retired_full", "this node's list of retired tables is full: it "
                       "hosts no new tables for others until its operator clears it")


def refuse_asker(limits: HostLimits, host_tables: bool, caller: bytes) -> Refusal | None:
    if not host_tables:
        return Refusal("not_hosting", "this node does not host tables (node.host_tables)")
    if limits.allowlist and caller not in limits.allowlist:
        return Refusal("not_allowed",
                       "this node hosts tables only for the peers on its node.host_allowlist")
    return None


def refuse_offer(limits: HostLimits, *, host_tables: bool, max_tables: int, games: tuple[str, ...],
                 caller: bytes, game: str, book: OfferBook, hosted: int,
                 hosted_for_caller: int, retired_full: bool = False) -> Refusal | None:
    """Why this node refuses an OFFER, or None to accept it (`book` already pruned)."""
    refused = refuse_asker(limits, host_tables, caller)
    if refused is not None:
        return refused
    if retired_full:
        return RETIRED_FULL
    if game not in games:
        return Refusal("unknown_game", f"unknown game (this node plays: {', '.join(games)})")
    if book.held_by(caller) >= MAX_OFFERS_PER_REQUESTER:
        return Refusal("offers_held",
                       f"you hold {MAX_OFFERS_PER_REQUESTER} open offers here already")
    if hosted_for_caller >= limits.tables_per_requester:
        return Refusal("tables_per_peer", f"this node hosts {limits.tables_per_requester} "
                       "tables of yours already (node.host_tables_per_peer)")
    counted = book.counted_toward_full() + (0 if book.held_by(caller) else 1)
    if hosted + counted > max_tables:
        return Refusal("full", f"full: hosts {max_tables} tables")
    return None


def refuse_charter(limits: HostLimits, *, host_tables: bool, max_tables: int,
                   caller: bytes, public_key: bytes, replicas: tuple[bytes, ...],
                   creator: bytes, game: str, offer: HeldOffer | None, hosted: int,
                   hosted_for_caller: int, already_hosted: bool, retired: bool = False,
                   retired_full: bool = False) -> Refusal | None:
    """Why this node refuses a CHARTER (its signature already checked), or None."""
    if offer is None or creator != caller:
        return Refusal("no_offer", "no open offer from this creator for that table")
    if public_key not in replicas or game != offer.game:
        return Refusal("not_the_offer", "the charter does not match the offer")
    refused = refuse_asker(limits, host_tables, caller)
    if refused is not None:
        return refused
    if retired:
        return Refusal("retired", "this node retired that table: it never started here, and "
                       "a table is never opened again from scratch")
    if retired_full:
        return RETIRED_FULL
    if len(replicas) < limits.min_replicas:
        return Refusal("too_few_replicas", f"this node hosts tables of at least "
                       f"{limits.min_replicas} replicas (node.host_min_replicas); this one "
                       f"has {len(replicas)}")
    if already_hosted:
        return Refusal("already_hosted", "this node hosts that table already")
    if hosted_for_caller >= limits.tables_per_requester:
        return Refusal("tables_per_peer",
                       f"this node hosts {limits.tables_per_requester} tables of yours already")
    if hosted >= max_tables:
        return Refusal("full", f"full: hosts {max_tables} tables")
    return None
