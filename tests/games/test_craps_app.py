"""The replicated craps table: DKG, bets, rolls from the threshold coin, snapshots.

Four replicas' apps execute one shared, totally ordered log (what PBFT gives them); each
replica's duties decide what it posts. Seeds are fixed labels, so any failure replays.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest

from bitcraps.accel._ed25519_group import SodiumEd25519Group
from bitcraps.consensus import ExecutionContext
from bitcraps.games import _coin as coin
from bitcraps.games._table_ops import ACT, SHARE, decode_result, encode_operation
from bitcraps.games.craps import BetKind, CashOut, Join, PlaceBet, Roll, RollRequest, TableConfig
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
                 tamper: Callable[[int, bytes], bytes] | None = None) -> None:
        self.apps = [CrapsApp(TABLE, REPLICAS, CONFIG, GROUP) for _ in REPLICAS]
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


def test_dice_come_from_the_coin_and_every_replica_agrees() -> None:
    table = ready_table()
    ok(table.act(ALICE, PlaceBet(ALICE, BetKind.PASS, 10)))
    ok(table.act(BOB, PlaceBet(BOB, BetKind.FIELD, 5)))
    records = [roll(table) for _ in range(20)]
    app = table.apps[0]
    key = app.dkg.key
    for record in records:
        verdict = coin.verify_roll(GROUP, key, record.roll, record.shares, record.seed,
                                   record.dice)
        assert verdict.ok, verdict
    assert len(table.digests()) == 1
    assert [r.roll for r in records] == list(range(records[0].roll, records[0].roll + 20))


def test_a_replica_that_withholds_its_shares_cannot_stop_the_roll() -> None:
    table = ready_table(silent=frozenset({3}))
    for _ in range(5):
        record = roll(table)
        assert 3 not in {share.replica for share in record.shares}
    assert len(table.digests()) == 1


def test_a_bad_coin_share_is_rejected_and_named_and_the_roll_still_happens() -> None:
    def corrupt(replica: int, operation: bytes) -> bytes:
        if replica != 1 or not operation.startswith(encode_operation(SHARE, b"")[:6]):
            return operation
        return operation[:-1] + bytes([operation[-1] ^ 1])

    table = ready_table(tamper=corrupt)
    record = roll(table)
    assert 1 not in {share.replica for share in record.shares}
    assert len(table.digests()) == 1


def test_nobody_submits_dice_or_acts_for_another_player() -> None:
    table = ready_table()
    app = table.apps[0]
    before = table.digests()
    rejected(table.act(ALICE, Roll(ALICE, app.state.roll_number, 6, 6)), "dice_from_coin")
    rejected(table.act(BOB, PlaceBet(ALICE, BetKind.PASS, 10)), "not_your_seat")
    rejected(table.execute(ALICE, encode_operation(SHARE, b"junk"))[0], "not_a_replica")
    rejected(table.execute(ALICE, b"\xc1garbage")[0], "malformed")
    rejected(table.act(ALICE, PlaceBet(ALICE, BetKind.PASS, 1)), "under_minimum")
    assert table.digests() == before


def test_rolls_wait_for_the_dice_key() -> None:
    table = Table()
    ok(table.act(ALICE, Join(ALICE, 100)))
    reason = rejected(table.act(ALICE, RollRequest(ALICE, 0)), "dice_not_ready")
    assert "being generated" in reason


def test_a_snapshot_restores_to_the_same_digest_mid_roll() -> None:
    table = ready_table()
    roll(table)
    app = table.apps[0]
    ok(table.act(app.state.shooter, RollRequest(app.state.shooter, app.state.roll_number)))
    table.execute(REPLICAS[0], table.duties[0].due()[0])  # one share in: the roll pends
    snapshot = app.snapshot()
    fresh = CrapsApp(TABLE, REPLICAS, CONFIG, GROUP)
    fresh.restore(snapshot)
    assert fresh.digest() == app.digest() and fresh.pending_roll == app.pending_roll
    with pytest.raises(Exception, match="snapshot"):
        fresh.restore(snapshot[:-3])
    assert fresh.digest() == app.digest()  # a failed restore changes nothing


def test_chips_are_conserved_through_cash_out() -> None:
    table = ready_table()
    for _ in range(10):
        ok(table.act(ALICE, PlaceBet(ALICE, BetKind.FIELD, 5)))
        roll(table)
    state = table.apps[0].state
    ok(table.act(ALICE, CashOut(ALICE)))
    assert table.apps[0].state.balance(ALICE) == 0
    assert state.balance(ALICE) >= 0
    assert len(table.digests()) == 1
