"""One replica's private side of the DKG: it posts its key, its dealing and its complaints,
decrypts and checks the shares dealt to it, and ends with its secret key share x_i.

It is a function of its seed and the public `DkgState`: `outbox(state)` is everything this
replica should have in the log by now and has not, so after a crash the node replays the
log into a fresh state and the same seed gives the same messages again. The node submits
each distinct message once (the messages are deterministic, so their bytes identify them).
"""

from __future__ import annotations

from ._coin_errors import DkgNotComplete, SecretShareUnavailable
from ._coin_group import ORDER, Group
from ._dkg_checks import share_matches
from ._dkg_config import OPEN_PHASES, DkgConfig, Phase
from ._dkg_crypto import deal, decrypt_share, derive_secrets, make_complaint, make_key
from ._dkg_messages import Complaint, DkgClose, DkgComplaints, DkgDealing, DkgKey, DkgMessage
from ._dkg_state import DkgState

DEFAULT_PHASE_TIMEOUT_TICKS = 200


class DkgParticipant:
    def __init__(self, group: Group, config: DkgConfig, replica: int, seed: bytes,
                 phase_timeout_ticks: int = DEFAULT_PHASE_TIMEOUT_TICKS) -> None:
        if not 0 <= replica < config.replicas:
            raise ValueError(f"replica {replica} is not one of the {config.replicas} replicas")
        if phase_timeout_ticks < 1:
            raise ValueError("phase_timeout_ticks must be at least 1")
        self.group = group
        self.config = config
        self.replica = replica
        self.phase_timeout_ticks = phase_timeout_ticks
        self._secrets = derive_secrets(config, replica, seed)
        self._public_key = group.base_mul(self._secrets.key)
        self._dealing: DkgDealing | None = None
        self._shares: dict[int, int | None] = {}
        self._phase = Phase.KEYS
        self._ticks_in_phase = 0

    def tick(self, state: DkgState) -> None:
        """One unit of local time. After `phase_timeout_ticks` in one phase it votes to close."""
        if state.phase is not self._phase:
            self._phase, self._ticks_in_phase = state.phase, 0
        self._ticks_in_phase += 1

    def outbox(self, state: DkgState) -> tuple[DkgMessage, ...]:
        out: list[DkgMessage] = []
        me, phase = self.replica, state.phase
        if phase is Phase.KEYS and me not in state.keys:
            out.append(self.key_message())
        elif phase is Phase.DEALINGS and me in state.holders and me not in state.dealings:
            out.append(self.dealing(state))
        elif phase is Phase.COMPLAINTS and me in state.holders and me not in state.complainers:
            out.append(self.complaints(state))
        if (phase in OPEN_PHASES and phase is self._phase
                and self._ticks_in_phase >= self.phase_timeout_ticks
                and me not in state.votes(phase)):
            out.append(DkgClose(me, phase))
        return tuple(out)

    # --- the messages --------------------------------------------------------------------

    def key_message(self) -> DkgKey:
        return make_key(self.group, self.config, self.replica, self._secrets.key)

    def dealing(self, state: DkgState) -> DkgDealing:
        if self._dealing is None:
            holder_keys = {holder: state.keys[holder] for holder in state.holders}
            self._dealing = deal(self.group, self.config, self.replica,
                                 self._secrets.coefficients, self._secrets.ephemeral, holder_keys)
        return self._dealing

    def complaints(self, state: DkgState) -> DkgComplaints:
        """A complaint against each dealing in the log whose share for this replica is bad."""
        found: list[Complaint] = []
        for dealer, dealing in sorted(state.dealings.items()):
            if self.share_from(state, dealer) is None:
                found.append(make_complaint(self.group, self.config, self.replica,
                                            self._secrets.key, dealing))
        return DkgComplaints(self.replica, tuple(found))

    # --- the shares ------------------------------------------------------------------------

    def share_from(self, state: DkgState, dealer: int) -> int | None:
        """The valid share `dealer` dealt this replica, or None if it is bad."""
        if dealer not in self._shares:
            dealing = state.dealings[dealer]
            position = state.holders.index(self.replica)
            shared = self.group.mul(self._secrets.key, dealing.ephemeral)
            share = decrypt_share(self.config, dealing, self.replica, position,
                                  self._public_key, shared)
            if share is not None and not share_matches(self.group, dealing, self.replica, share):
                share = None
            self._shares[dealer] = share
        return self._shares[dealer]

    def secret_share(self, state: DkgState) -> int:
        """x_i = the sum of the qualified dealers' shares; it matches the public key share."""
        if state.phase is not Phase.COMPLETE:
            raise DkgNotComplete(state.failure or f"the DKG is in phase {state.phase.name}")
        key = state.key
        public = key.public_shares[self.replica]
        if public is None:
            raise SecretShareUnavailable(
                f"replica {self.replica}'s DKG key was not in when the keys phase closed")
        total = 0
        for dealer in key.dealers:
            share = self.share_from(state, dealer)
            if share is None:
                raise SecretShareUnavailable(
                    f"dealer {dealer} dealt replica {self.replica} a bad share and the "
                    "complaint was not in before the complaints phase closed")
            total += share
        secret = total % ORDER
        if self.group.base_mul(secret) != public:
            raise SecretShareUnavailable(f"replica {self.replica}'s shares do not add up to "
                                         "its public key share")
        return secret
