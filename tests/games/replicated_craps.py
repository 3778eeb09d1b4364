"""Four replicas' craps apps in lockstep over one shared, totally ordered log (what PBFT
gives them), each replica's duties deciding what it posts: the harness the replicated-table
tests drive. Seeds are fixed labels, so any failure replays."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from bitcraps.accel._ed25519_group import SodiumEd25519Group
from bitcraps.consensus import ExecutionContext
from bitcraps.games import _coin as coin
from bitcraps.games._table_ops import ACT, decode_result, encode_operation
from bitcraps.games.craps import Join, RollRequest, TableConfig
from bitcraps.games.craps_app import CrapsApp
from bitcraps.games.craps_duties import CrapsDuties

GROUP = SodiumEd25519Group()
TABLE = bytes(range(16))
REPLICAS = tuple(hashlib.sha256(b"replica %d" % i).digest() for i in range(4))
ALICE, BOB = b"A" * 32, b"B" * 32
CONFIG = TableConfig(min_bet=5, max_bet=500, bankroll=100_000)


class Table:
    """n apps in lockstep over one log; `silent` replicas post nothing."""

    def __init__(self, silent: frozenset[int] = frozenset(),
                 tamper: Callable[[int, bytes], bytes] | None = None,
                 config: TableConfig = CONFIG) -> None:
        self.apps = [CrapsApp(TABLE, REPLICAS, config, GROUP) for _ in REPLICAS]
        self.duties = [CrapsDuties(app, i, hashlib.sha256(b"dkg seed %d" % i).digest(),
                                   phase_timeout_ticks=3) for i, app in enumerate(self.apps)]
        self.silent = silent
        self.tamper = tamper
        self.seq = 0

    def execute(self, client: bytes, operation: bytes) -> list[bytes]:
        self.seq += 1
        context = ExecutionContext(self.seq, client, self.seq)
        return [app.execute(operation, context) for app in self.apps]

    def run_duties(self, rounds: int = 50) -> None:
        for _ in range(rounds):
            posted = False
            for i, duties in enumerate(self.duties):
                for operation in duties.due():
                    if i in self.silent:
                        continue
                    if self.tamper is not None:
                        operation = self.tamper(i, operation)
                    results = self.execute(REPLICAS[i], operation)
                    assert len(set(results)) == 1
                    posted = True
            if not posted:
                for duties in self.duties:
                    duties.tick()

    def act(self, client: bytes, action: object) -> bytes:
        results = self.execute(client, encode_operation(ACT, self.apps[0].game.encode_action(
            action)))  # type: ignore[arg-type]
        assert len(set(results)) == 1, "replicas disagree"
        return results[0]

    def digests(self) -> set[bytes]:
        return {app.digest() for app in self.apps}


def ok(result: bytes) -> None:
    decoded = decode_result(result)
    assert decoded.ok, decoded


def rejected(result: bytes, code: str) -> str:
    decoded = decode_result(result)
    assert not decoded.ok and decoded.code == code, decoded
    return decoded.reason


def ready_table(**options: object) -> Table:
    table = Table(**options)  # type: ignore[arg-type]
    table.run_duties()
    assert all(app.dice_ready for app in table.apps)
    ok(table.act(ALICE, Join(ALICE, 1_000)))
    ok(table.act(BOB, Join(BOB, 1_000)))
    return table


def roll(table: Table) -> coin.RollRecord:
    app = table.apps[0]
    number = app.state.roll_number
    ok(table.act(app.state.shooter, RollRequest(app.state.shooter, number)))
    assert app.pending_roll == number
    table.run_duties()
    assert app.pending_roll is None
    return app.rolls[number].record
