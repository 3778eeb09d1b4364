"""The replicated craps table: DKG, bets, rolls from the threshold coin, snapshots.

Four replicas' apps execute one shared, totally ordered log (what PBFT gives them); each
replica's duties decide what it posts. Seeds are fixed labels, so any failure replays.
"""

from __future__ import annotations

import pytest
from replicated_craps import (
    ALICE,
    BOB,
    CONFIG,
    GROUP,
    REPLICAS,
    TABLE,
    Table,
    ok,
    ready_table,
    rejected,
    roll,
)

from bitcraps.games import _coin as coin
from bitcraps.games._table_ops import SHARE, encode_operation
from bitcraps.games.craps import BetKind, CashOut, Join, PlaceBet, Roll, RollRequest
from bitcraps.games.craps_app import CrapsApp


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
    # every chip cashed out and no bet left: the player walked away from the table
    assert table.apps[0].state.balance(ALICE) is None
    assert ALICE not in table.apps[0].state.seats
    assert state.balance(ALICE) >= 0
    assert len(table.digests()) == 1
