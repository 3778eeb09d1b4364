"""Byzantine DKG replicas for the tests and the simulator: each breaks the protocol one way.

| behaviour                | what it does                                 | what follows          |
|--------------------------|----------------------------------------------|-----------------------|
| silent                   | posts nothing                                | phases close by vote  |
| bad-share                | deals the victim a share off by one          | victim complains: out |
| inconsistent-commitments | commits to another polynomial than it shares | complaints: out       |
| wrong-commitment-count   | one commitment too many                      | dealing rejected      |
| garbage-ciphertext       | the victim's ciphertext is random bytes      | victim complains: out |
| false-complaint          | deals honestly, complains about every dealer | complaints dismissed  |
| forged-complaint         | complains with a wrong DH value and proof    | complaints dismissed  |
"""

from __future__ import annotations

import dataclasses

from ._coin_group import ORDER, Group
from ._coin_hash import SIMULATION, tagged_hash
from ._coin_shamir import evaluate, share_point
from ._dkg_config import DkgConfig
from ._dkg_crypto import encrypt_share, make_complaint
from ._dkg_messages import Complaint, DkgComplaints, DkgDealing, DkgMessage
from ._dkg_participant import DEFAULT_PHASE_TIMEOUT_TICKS, DkgParticipant
from ._dkg_state import DkgState

DEALER_BEHAVIOURS = ("bad-share", "inconsistent-commitments", "wrong-commitment-count",
                     "garbage-ciphertext")
COMPLAINER_BEHAVIOURS = ("false-complaint", "forged-complaint")
BEHAVIOURS = ("silent", *DEALER_BEHAVIOURS, *COMPLAINER_BEHAVIOURS)


class ByzantineDkgParticipant(DkgParticipant):
    def __init__(self, group: Group, config: DkgConfig, replica: int, seed: bytes,
                 behaviour: str, victim: int | None = None,
                 phase_timeout_ticks: int = DEFAULT_PHASE_TIMEOUT_TICKS) -> None:
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown DKG behaviour {behaviour!r}; one of {', '.join(BEHAVIOURS)}")
        super().__init__(group, config, replica, seed, phase_timeout_ticks)
        self.behaviour = behaviour
        self._victim = victim
        self._bad_dealing: DkgDealing | None = None

    def outbox(self, state: DkgState) -> tuple[DkgMessage, ...]:
        return () if self.behaviour == "silent" else super().outbox(state)

    def victim(self, state: DkgState) -> int:
        """Whom a bad share goes to: the given victim, else the first other key holder."""
        if self._victim is not None:
            return self._victim
        return next(h for h in state.holders if h != self.replica)

    def dealing(self, state: DkgState) -> DkgDealing:
        honest = super().dealing(state)
        if self.behaviour not in DEALER_BEHAVIOURS:
            return honest
        if self._bad_dealing is None:
            self._bad_dealing = self._corrupt(state, honest)
        return self._bad_dealing

    def _corrupt(self, state: DkgState, honest: DkgDealing) -> DkgDealing:
        secrets = self._secrets
        victim = self.victim(state)
        position = state.holders.index(victim)
        ciphertexts = list(honest.ciphertexts)
        if self.behaviour == "bad-share":
            victim_key = state.keys[victim]
            wrong = (evaluate(secrets.coefficients, share_point(victim)) + 1) % ORDER
            ciphertexts[position] = encrypt_share(
                self.config, self.replica, victim, honest.ephemeral, victim_key,
                self.group.mul(secrets.ephemeral, victim_key), wrong)
            return dataclasses.replace(honest, ciphertexts=tuple(ciphertexts))
        if self.behaviour == "garbage-ciphertext":
            ciphertexts[position] = tagged_hash(SIMULATION, honest.ephemeral, b"garbage")[:32]
            return dataclasses.replace(honest, ciphertexts=tuple(ciphertexts))
        if self.behaviour == "inconsistent-commitments":
            other = [*secrets.coefficients[:-1], (secrets.coefficients[-1] + 1) % ORDER]
            commitments = tuple(self.group.base_mul(a) for a in other)
            return dataclasses.replace(honest, commitments=commitments)
        extra = self.group.base_mul(len(honest.commitments) + 1)
        return dataclasses.replace(honest, commitments=(*honest.commitments, extra))

    def complaints(self, state: DkgState) -> DkgComplaints:
        if self.behaviour not in COMPLAINER_BEHAVIOURS:
            return super().complaints(state)
        found: list[Complaint] = []
        for dealer, dealing in sorted(state.dealings.items()):
            if dealer == self.replica:
                continue
            complaint = make_complaint(self.group, self.config, self.replica,
                                       self._secrets.key, dealing)
            if self.behaviour == "forged-complaint":
                complaint = dataclasses.replace(
                    complaint, revealed=self.group.add(complaint.revealed, dealing.ephemeral))
            found.append(complaint)
        return DkgComplaints(self.replica, tuple(found))
