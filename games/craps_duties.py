"""What one replica of a craps table must post to the log, and when.

The node asks `due()` after each step of its table and on each tick, and submits what it
returns through its own client. A replica posts its DKG messages as the DKG's phases open
(and its votes to close a phase once its own ticks say the phase has waited long enough),
and its coin share for a roll only once the log holds the shooter's `RollRequest`: betting
is closed before anyone can know the dice. Each operation is returned once; after a restart
the participant derives the same messages from its seed and the log, and a repeat is only
refused by the table, never harmful.

It also watches the shooter: while one turn lasts (`CrapsState.turn`: the same shooter, roll
number and hand, and no roll asked for) it counts this replica's ticks, and once they reach
the table's `shooter_timeout_ticks` it votes, once per turn, that the shooter has not rolled in
time. Ticks are local and a restart starts the count again; the table passes the dice only
on f+1 replicas' votes for the same turn.
"""

from __future__ import annotations

from . import _coin as coin
from ._dkg_config import OPEN_PHASES
from ._shooter_timeout import TimeoutVote, encode_timeout_vote
from ._table_ops import DKG, SHARE, TIMEOUT, encode_operation
from .craps_app import CrapsApp

__all__ = ["CrapsDuties"]


class CrapsDuties:
    def __init__(self, app: CrapsApp, replica: int, dkg_seed: bytes, *,
                 phase_timeout_ticks: int = 200,
                 participant: coin.DkgParticipant | None = None) -> None:
        """`participant` replaces the DKG participant built from `dkg_seed` (the simulator
        passes a `ByzantineDkgParticipant` this way)."""
        if participant is not None and participant.replica != replica:
            raise ValueError(f"the participant is replica {participant.replica}'s, not {replica}'s")
        self.app = app
        self.replica = replica
        self.participant = participant or coin.DkgParticipant(
            app.group, app.dkg_config, replica, dkg_seed, phase_timeout_ticks)
        self._posted_dkg: set[bytes] = set()
        self._shared_roll: int | None = None
        self._secret: int | None = None
        self.unavailable_reason = ""
        self._turn: TimeoutVote | None = None
        self.turn_ticks = 0
        """This replica's ticks since it first saw the turn in progress."""
        self._voted: TimeoutVote | None = None

    def tick(self) -> None:
        if not self.app.dice_ready:
            self.participant.tick(self.app.dkg)
        turn = self._current_turn()
        if turn != self._turn:
            self._turn, self.turn_ticks = turn, 0
        elif turn is not None:
            self.turn_ticks += 1

    def _current_turn(self) -> TimeoutVote | None:
        return TimeoutVote.of(self.app.state) if self.app.dice_ready else None

    def due(self) -> list[bytes]:
        """Operations to submit now, each returned once."""
        due: list[bytes] = []
        if self.app.dkg.phase in OPEN_PHASES:
            for message in self.participant.outbox(self.app.dkg):
                operation = encode_operation(DKG, coin.encode_dkg_message(message))
                if operation not in self._posted_dkg:
                    self._posted_dkg.add(operation)
                    due.append(operation)
        roll = self.app.pending_roll
        if roll is not None and roll != self._shared_roll:
            share = self._coin_share(roll)
            if share is not None:
                self._shared_roll = roll
                due.append(encode_operation(SHARE, coin.encode_coin_share(share)))
        vote = self._timeout_vote()
        if vote is not None:
            due.append(encode_operation(TIMEOUT, encode_timeout_vote(vote)))
        return due

    def _timeout_vote(self) -> TimeoutVote | None:
        """A vote against the turn in progress once it has lasted the table's timeout here
        (once per turn: turns never repeat)."""
        turn = self._turn
        if (turn is None or turn == self._voted or turn != self._current_turn()
                or self.turn_ticks < self.app.config.shooter_timeout_ticks):
            return None
        self._voted = turn
        return turn

    def _coin_share(self, roll: int) -> coin.CoinShare | None:
        if self._secret is None and not self.unavailable_reason:
            try:
                self._secret = self.participant.secret_share(self.app.dkg)
            except coin.SecretShareUnavailable as exc:
                self.unavailable_reason = str(exc)
        if self._secret is None:
            return None
        return coin.make_coin_share(self.app.group, self.app.dkg.key, roll, self.replica,
                                    self._secret)
