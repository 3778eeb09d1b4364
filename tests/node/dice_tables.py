"""Craps tables in lockstep for the dice-key tests: real `CrapsApp`s over one ordered log,
real DKGs, real replica keys signing real consensus `Reply` envelopes.

`DiceTable(terms, b"real")` is the table; `DiceTable(terms, b"fake")` is what a fake node
can build on its own for the very same table id and replica keys: another DKG, whose key and
rolls verify against each other, but which no real replica ever stated.
"""

from __future__ import annotations

import hashlib

from nacl.signing import SigningKey

from bitcraps.accel._ed25519_group import SodiumEd25519Group
from bitcraps.consensus import Envelope, ExecutionContext, Reply, signing_bytes
from bitcraps.games import _coin as coin
from bitcraps.games._table_ops import ACT, KEY, encode_operation
from bitcraps.games.craps import Action, Join, RollRequest, TableConfig
from bitcraps.games.craps_app import CrapsApp
from bitcraps.games.craps_duties import CrapsDuties
from bitcraps.games.table_terms import TableTerms

GROUP = SodiumEd25519Group()
REPLICA_KEYS = [SigningKey(bytes([10 + i]) * 32) for i in range(4)]
PLAYER = SigningKey(bytes([50]) * 32)
PLAYER_KEY = bytes(PLAYER.verify_key)
TERMS = TableTerms("craps", tuple(bytes(k.verify_key) for k in REPLICA_KEYS), 5, 500, 8,
                   bytes(range(16)))
ASK_KEY = encode_operation(KEY, b"")


class DiceTable:
    """Four replicas' apps executing one log; `seed` labels the replicas' DKG secrets."""

    def __init__(self, terms: TableTerms, seed: bytes) -> None:
        self.terms = terms
        self.apps = [CrapsApp(terms.table_id, terms.replicas, TableConfig(min_bet=5, max_bet=500),
                              GROUP) for _ in terms.replicas]
        self.duties = [CrapsDuties(app, i, hashlib.sha256(seed + b"%d" % i).digest(),
                                   phase_timeout_ticks=3) for i, app in enumerate(self.apps)]
        self.seq = 0

    def execute(self, client: bytes, operation: bytes) -> bytes:
        self.seq += 1
        context = ExecutionContext(self.seq, client, self.seq)
        results = {app.execute(operation, context) for app in self.apps}
        assert len(results) == 1, "replicas disagree"
        return results.pop()

    def run_duties(self, rounds: int = 50) -> None:
        for _ in range(rounds):
            posted = False
            for i, duties in enumerate(self.duties):
                for operation in duties.due():
                    self.execute(self.terms.replicas[i], operation)
                    posted = True
            if not posted:
                for duties in self.duties:
                    duties.tick()

    def act(self, action: Action) -> bytes:
        return self.execute(PLAYER_KEY, encode_operation(ACT, self.apps[0].game.encode_action(
            action)))

    def ready(self) -> DiceTable:
        self.run_duties()
        assert all(app.dice_ready for app in self.apps)
        self.act(Join(PLAYER_KEY, 1_000))
        return self

    def roll(self) -> coin.RollRecord:
        number = self.apps[0].state.roll_number
        self.act(RollRequest(PLAYER_KEY, number))
        self.run_duties()
        return self.apps[0].rolls[number].record

    @property
    def key(self) -> coin.ThresholdKey:
        return self.apps[0].dkg.key


def signed_reply(table_id: bytes, key: SigningKey, result: bytes,
                 client: bytes = PLAYER_KEY, timestamp: int = 7) -> Envelope[Reply]:
    """`key`'s signed consensus reply carrying `result`, as a replica sends it."""
    sender = bytes(key.verify_key)
    message = Reply(0, client, timestamp, result)
    signature = key.sign(signing_bytes(table_id, sender, message)).signature
    return Envelope(table_id, sender, message, signature)
