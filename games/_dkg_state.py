"""The DKG's public state machine: every replica applies the same ordered messages and so
reaches the same key holders, the same qualified dealers and the same threshold key.

It holds nothing secret. A message that is out of phase, repeated or malformed is rejected
and changes nothing, so the accepted messages alone (`transcript`) replay to the same state.
"""

from __future__ import annotations

from collections.abc import Mapping

from ._coin_errors import DkgNotComplete
from ._coin_group import Group, sum_points
from ._coin_key import ThresholdKey
from ._coin_shamir import evaluate_in_exponent, share_point
from ._dkg_checks import dealing_fault, judge_complaint
from ._dkg_config import OPEN_PHASES, DkgConfig, Phase
from ._dkg_crypto import key_proof_valid
from ._dkg_events import (
    ComplaintDismissed,
    DealerDisqualified,
    DkgCompleted,
    DkgEvent,
    DkgFailed,
    MessageAccepted,
    MessageRejected,
    PhaseClosed,
)
from ._dkg_messages import DkgClose, DkgComplaints, DkgDealing, DkgKey, DkgMessage


class _Rejected(Exception):
    """Internal: the message is rejected for this reason."""


class DkgState:
    def __init__(self, group: Group, config: DkgConfig) -> None:
        self.group = group
        self.config = config
        self.phase = Phase.KEYS
        self.failure: str | None = None
        self._keys: dict[int, bytes] = {}
        self._holders: tuple[int, ...] = ()
        self._dealings: dict[int, DkgDealing] = {}
        self._disqualified: dict[int, str] = {}
        self._complainers: set[int] = set()
        self._votes: dict[Phase, set[int]] = {phase: set() for phase in OPEN_PHASES}
        self._transcript: list[tuple[int, DkgMessage]] = []
        self._key: ThresholdKey | None = None

    # --- what every replica knows ------------------------------------------------------

    @property
    def keys(self) -> Mapping[int, bytes]:
        """Each registered replica's DKG encryption key."""
        return dict(self._keys)

    @property
    def holders(self) -> tuple[int, ...]:
        """The key holders: replicas whose key was in when KEYS closed, ascending."""
        return self._holders

    @property
    def dealings(self) -> Mapping[int, DkgDealing]:
        return dict(self._dealings)

    @property
    def disqualified(self) -> Mapping[int, str]:
        """Dealers a valid complaint proved faulty, with the reason."""
        return dict(self._disqualified)

    @property
    def complainers(self) -> frozenset[int]:
        """Key holders whose DkgComplaints message is in."""
        return frozenset(self._complainers)

    def votes(self, phase: Phase) -> frozenset[int]:
        return frozenset(self._votes.get(phase, ()))

    @property
    def transcript(self) -> tuple[tuple[int, DkgMessage], ...]:
        """Every accepted message with its sender, in log order."""
        return tuple(self._transcript)

    @property
    def key(self) -> ThresholdKey:
        if self._key is None:
            raise DkgNotComplete(self.failure or f"the DKG is in phase {self.phase.name}")
        return self._key

    # --- applying the log ---------------------------------------------------------------

    def apply(self, sender: int, message: DkgMessage) -> tuple[DkgEvent, ...]:
        """Apply the next ordered message; `sender` is the replica that signed it."""
        kind = type(message).__name__
        try:
            if not isinstance(message, (DkgKey, DkgDealing, DkgComplaints, DkgClose)):
                raise _Rejected("not a DKG message")
            if type(sender) is not int or not 0 <= sender < self.config.replicas:
                raise _Rejected(f"sender {sender!r} is not a replica of this table")
            if message.replica != sender:
                raise _Rejected(f"posted by replica {sender} in the name of {message.replica}")
            if self.phase not in OPEN_PHASES:
                raise _Rejected(f"the DKG is over ({self.phase.name})")
            events = self._handle(sender, message)
        except _Rejected as exc:
            return (MessageRejected(sender, kind, str(exc)),)
        self._transcript.append((sender, message))
        return (MessageAccepted(sender, kind), *events, *self._advance())

    def _handle(self, sender: int, message: DkgMessage) -> list[DkgEvent]:
        if isinstance(message, DkgKey):
            self._take_key(message)
            return []
        if isinstance(message, DkgDealing):
            self._take_dealing(message)
            return []
        if isinstance(message, DkgComplaints):
            return self._take_complaints(message)
        self._take_vote(message)
        return []

    def _expect_phase(self, phase: Phase) -> None:
        if self.phase is not phase:
            raise _Rejected(f"phase {phase.name} is not open (now {self.phase.name})")

    def _expect_holder(self, replica: int) -> None:
        if replica not in self._holders:
            raise _Rejected(f"replica {replica} is not a key holder")

    def _take_key(self, message: DkgKey) -> None:
        self._expect_phase(Phase.KEYS)
        if message.replica in self._keys:
            raise _Rejected(f"replica {message.replica} already registered its key")
        if not self.group.is_valid_point(message.public_key):
            raise _Rejected("the key is not a valid point")
        if not key_proof_valid(self.group, self.config, message):
            raise _Rejected("the key's proof of knowledge does not verify")
        self._keys[message.replica] = message.public_key

    def _take_dealing(self, message: DkgDealing) -> None:
        self._expect_phase(Phase.DEALINGS)
        self._expect_holder(message.replica)
        if message.replica in self._dealings:
            raise _Rejected(f"dealer {message.replica} already dealt")
        fault = dealing_fault(self.group, self.config, message, self._holders)
        if fault is not None:
            raise _Rejected(f"malformed dealing: {fault}")
        self._dealings[message.replica] = message

    def _take_complaints(self, message: DkgComplaints) -> list[DkgEvent]:
        self._expect_phase(Phase.COMPLAINTS)
        self._expect_holder(message.replica)
        if message.replica in self._complainers:
            raise _Rejected(f"replica {message.replica} already posted its complaints")
        accused = [complaint.dealer for complaint in message.complaints]
        if len(set(accused)) != len(accused):
            raise _Rejected("two complaints against one dealer")
        if any(dealer not in self._dealings for dealer in accused):
            raise _Rejected("a complaint against a dealer whose dealing is not in")
        self._complainers.add(message.replica)
        events: list[DkgEvent] = []
        for complaint in message.complaints:
            if complaint.dealer in self._disqualified:
                continue
            ruling = judge_complaint(self.group, self.config, message.replica, self._keys,
                                     self._holders, self._dealings[complaint.dealer], complaint)
            if ruling.dealer_at_fault:
                self._disqualified[complaint.dealer] = ruling.reason
                events.append(DealerDisqualified(complaint.dealer, message.replica, ruling.reason))
            else:
                events.append(ComplaintDismissed(message.replica, complaint.dealer, ruling.reason))
        return events

    def _take_vote(self, message: DkgClose) -> None:
        self._expect_phase(message.phase)
        if message.replica in self._votes[message.phase]:
            raise _Rejected(
                f"replica {message.replica} already voted to close {message.phase.name}")
        self._votes[message.phase].add(message.replica)

    # --- phases ---------------------------------------------------------------------------

    def _may_close(self) -> bool:
        config, voted = self.config, len(self._votes[self.phase]) >= self.config.close_votes
        if self.phase is Phase.KEYS:
            count, everyone, enough = len(self._keys), config.replicas, config.min_key_holders
        elif self.phase is Phase.DEALINGS:
            count, everyone, enough = len(self._dealings), len(self._holders), config.min_dealings
        else:
            holders = len(self._holders)
            count, everyone, enough = len(self._complainers), holders, config.min_complainers(
                holders)
        return count == everyone or (voted and count >= enough)

    def _advance(self) -> list[DkgEvent]:
        if self.phase not in OPEN_PHASES or not self._may_close():
            return []
        closed = self.phase
        if closed is Phase.KEYS:
            self._holders = tuple(sorted(self._keys))
            self.phase = Phase.DEALINGS
        elif closed is Phase.DEALINGS:
            self.phase = Phase.COMPLAINTS
        else:
            return [PhaseClosed(closed, Phase.COMPLETE), self._finish()]
        return [PhaseClosed(closed, self.phase)]

    def _finish(self) -> DkgEvent:
        qualified = tuple(sorted(d for d in self._dealings if d not in self._disqualified))
        if not qualified:
            self.phase = Phase.FAILED
            self.failure = "every dealing was disqualified: more than f replicas are faulty"
            return DkgFailed(self.failure)
        aggregate = [
            sum_points(self.group, [self._dealings[d].commitments[k] for d in qualified])
            for k in range(self.config.threshold)
        ]
        public_shares = tuple(
            evaluate_in_exponent(self.group, aggregate, share_point(i))
            if i in self._holders else None
            for i in range(self.config.replicas)
        )
        self._key = ThresholdKey(self.config.table_id, self.config.threshold, qualified,
                                 aggregate[0], public_shares)
        self.phase = Phase.COMPLETE
        return DkgCompleted(self._key)
