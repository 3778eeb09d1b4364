"""What applying one ordered DKG message did, in the past tense, for logs and results."""

from __future__ import annotations

from dataclasses import dataclass

from ._coin_key import ThresholdKey
from ._dkg_config import Phase


@dataclass(frozen=True, slots=True)
class MessageAccepted:
    replica: int
    kind: str


@dataclass(frozen=True, slots=True)
class MessageRejected:
    """The message changed nothing. Out of phase, repeated, or malformed by its sender."""

    replica: int
    kind: str
    reason: str


@dataclass(frozen=True, slots=True)
class DealerDisqualified:
    """A complaint proved the dealer sent `complainer` a bad share: its dealing is out of QUAL."""

    dealer: int
    complainer: int
    reason: str


@dataclass(frozen=True, slots=True)
class ComplaintDismissed:
    """The complaint proved nothing against the dealer (a false or malformed complaint)."""

    complainer: int
    dealer: int
    reason: str


@dataclass(frozen=True, slots=True)
class PhaseClosed:
    closed: Phase
    opened: Phase


@dataclass(frozen=True, slots=True)
class DkgCompleted:
    key: ThresholdKey


@dataclass(frozen=True, slots=True)
class DkgFailed:
    reason: str


DkgEvent = (MessageAccepted | MessageRejected | DealerDisqualified | ComplaintDismissed
            | PhaseClosed | DkgCompleted | DkgFailed)
