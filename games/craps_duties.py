"""What one replica of a craps table must post to the log, and when.

The node asks `due()` after each step of its table and on each tick, and submits what it
returns through its own client. A replica posts its DKG messages as the DKG's phases open
(and its votes to close a phase once its own ticks say the phase has waited long enough),
and its coin share for a roll only once the log holds the shooter's `RollRequest`: betting
is closed before anyone can know the dice. Each operation is returned once; after a restart
the participant derives the same messages from its seed and the log, and a repeat is only
refused by the table, never harmful.
"""

from __future__ import annotations

from . import _coin as coin
from ._dkg_config import OPEN_PHASES
from ._table_ops import DKG, SHARE, encode_operation
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

    def tick(self) -> None:
        if not self.app.dice_ready:
            self.participant.tick(self.app.dkg)

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
        return due

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
