"""A griefing shooter loses the dice: f+1 replicas' timeout votes for the turn in progress pass
them, f votes do nothing, and a vote for any other turn is refused on every replica alike.

Four replicas (f = 1) execute one shared log in lockstep (`replicated_craps.Table`).
"""

from __future__ import annotations

import dataclasses
import hashlib

import msgpack
import pytest
from replicated_craps import ALICE, BOB, CONFIG, GROUP, REPLICAS, TABLE, Table, ok, ready_table
from replicated_craps import rejected as refused

from bitcraps.games._api import GameDecodeError, pack
from bitcraps.games._shooter_timeout import TimeoutVote, encode_timeout_vote
from bitcraps.games._table_ops import TIMEOUT, decode_result, encode_operation
from bitcraps.games.craps import (
    DicePassed,
    Join,
    PassDice,
    RollRequest,
    ShooterChanged,
    TableConfig,
)
from bitcraps.games.craps_app import CrapsApp
from bitcraps.games.craps_duties import CrapsDuties

TIMEOUT_TICKS = 5


def vote(table: Table, replica: int, against: TimeoutVote | None = None) -> bytes:
    """Replica `replica` votes against `against` (the turn in progress by default)."""
    app = table.apps[0]
    against = against or TimeoutVote.of(app.state)
    assert against is not None
    results = table.execute(REPLICAS[replica],
                            encode_operation(TIMEOUT, encode_timeout_vote(against)))
    assert len(set(results)) == 1, "replicas disagree"
    return results[0]


def events_of(result: bytes) -> tuple[object, ...]:
    decoded = decode_result(result)
    assert decoded.ok, decoded
    return tuple(CrapsApp(TABLE, REPLICAS, CONFIG, GROUP).game.decode_events(decoded.events))


def test_f_votes_do_nothing_and_the_f_plus_first_passes_the_dice() -> None:
    table = ready_table()
    app = table.apps[0]
    assert app.votes_to_pass_dice == 2 and app.state.shooter == ALICE
    turn = TimeoutVote.of(app.state)
    assert events_of(vote(table, 0)) == ()
    assert app.state.shooter == ALICE and app.timeout_voters == {0}
    refused(vote(table, 0), "duplicate_vote")  # one replica is one vote, however often
    assert app.state.shooter == ALICE
    events = events_of(vote(table, 3))
    assert turn is not None
    assert events == (DicePassed(ALICE, turn.roll_number, True), ShooterChanged(ALICE, BOB))
    assert app.state.shooter == BOB and app.timeout_voters == frozenset()
    assert len(table.digests()) == 1


def test_votes_for_any_turn_but_the_one_in_progress_are_refused() -> None:
    table = ready_table()
    app = table.apps[0]
    old = TimeoutVote.of(app.state)
    assert old is not None
    refused(vote(table, 0, dataclasses.replace(old, shooter=BOB)), "stale_vote")
    refused(vote(table, 0, dataclasses.replace(old, roll_number=old.roll_number + 1)),
            "stale_vote")
    ok(table.act(ALICE, RollRequest(ALICE, old.roll_number)))
    refused(vote(table, 1, old), "stale_vote")  # she asked for the roll: no timeout now
    table.run_duties()
    assert app.state.roll_number == old.roll_number + 1
    refused(vote(table, 1, old), "stale_vote")  # a vote for a roll already made
    refused(table.execute(ALICE, encode_operation(TIMEOUT, encode_timeout_vote(old)))[0],
            "not_a_replica")
    for body in (pack([ALICE, 1]), pack([[[ALICE]], 0, 1]), pack([ALICE, -1, 1]), b"\xc1"):
        refused(table.execute(REPLICAS[0], encode_operation(TIMEOUT, body))[0], "malformed")
    assert len(table.digests()) == 1


def test_a_vote_against_an_old_turn_never_counts_toward_a_new_one() -> None:
    """Alice -> Bob -> Alice at the same roll number are two turns: replica 0's vote against
    Alice's first turn is refused in her second, and replica 1's alone passes nothing."""
    table = ready_table()
    app = table.apps[0]
    first = TimeoutVote.of(app.state)
    ok(vote(table, 0))
    ok(table.act(ALICE, PassDice(ALICE, app.state.roll_number)))  # she declines the dice
    ok(table.act(BOB, PassDice(BOB, app.state.roll_number)))
    second = TimeoutVote.of(app.state)
    assert first is not None and second is not None
    assert (second.shooter, second.roll_number) == (first.shooter, first.roll_number)
    assert second != first and app.timeout_voters == frozenset()
    refused(vote(table, 0, first), "stale_vote")
    assert events_of(vote(table, 1)) == ()
    assert app.state.shooter == ALICE


def test_only_the_votes_take_the_dice_a_player_may_only_decline_them() -> None:
    table = ready_table()
    app = table.apps[0]
    refused(table.act(ALICE, PassDice(ALICE, app.state.roll_number, timed_out=True)),
            "timeout_by_vote")
    refused(table.act(ALICE, PassDice(BOB, app.state.roll_number)), "not_your_seat")
    assert app.state.shooter == ALICE
    events = events_of(table.act(ALICE, PassDice(ALICE, app.state.roll_number)))
    assert events[0] == DicePassed(ALICE, 0, False) and app.state.shooter == BOB


def test_no_shooter_times_out_before_the_dice_key() -> None:
    table = Table()
    ok(table.act(ALICE, Join(ALICE, 100)))
    against = TimeoutVote.of(table.apps[0].state)
    assert against is not None
    refused(vote(table, 0, against), "dice_not_ready")


# --- the duties: each replica counts its own ticks ------------------------------------------


def tick_and_post(table: Table, ticks: int) -> None:
    """Each replica ticks its duties once per tick and posts what is due (unless silent)."""
    for _ in range(ticks):
        for i, duties in enumerate(table.duties):
            duties.tick()
            for operation in duties.due():
                if i not in table.silent:
                    assert len(set(table.execute(REPLICAS[i], operation))) == 1


def timed_table(silent: frozenset[int] = frozenset()) -> Table:
    """Dice ready (every replica posted its DKG messages), then `silent` replicas go quiet."""
    config = TableConfig(min_bet=5, max_bet=500, bankroll=100_000,
                         shooter_timeout_ticks=TIMEOUT_TICKS)
    table = Table(config=config)
    table.run_duties()
    assert table.apps[0].dice_ready
    ok(table.act(ALICE, Join(ALICE, 1_000)))
    ok(table.act(BOB, Join(BOB, 1_000)))
    table.silent = silent
    return table


def test_an_idle_shooter_loses_the_dice_once_the_replicas_ticks_run_out() -> None:
    table = timed_table()
    app = table.apps[0]
    tick_and_post(table, TIMEOUT_TICKS)
    assert app.state.shooter == ALICE  # the timeout has not passed yet on any replica
    tick_and_post(table, 1)
    assert app.state.shooter == BOB and len(table.digests()) == 1
    # Bob rolls in time: nobody votes against him, and the dice stay with him
    tick_and_post(table, TIMEOUT_TICKS - 1)
    ok(table.act(BOB, RollRequest(BOB, app.state.roll_number)))
    tick_and_post(table, 3 * TIMEOUT_TICKS)
    assert app.state.roll_number == 1 and app.pending_roll is None


def test_f_replicas_that_vote_early_cannot_take_the_dice() -> None:
    """Only replica 0 votes (the others are silent): f votes never pass the dice."""
    table = timed_table(silent=frozenset({1, 2, 3}))
    tick_and_post(table, 10 * TIMEOUT_TICKS)
    assert table.apps[0].state.shooter == ALICE and table.apps[0].timeout_voters == {0}
    # replica 1 restarts and is heard: its count starts again, and when it runs out there
    # are f+1 votes
    table.silent = frozenset({2, 3})
    table.duties[1] = CrapsDuties(table.apps[1], 1, hashlib.sha256(b"dkg seed 1").digest())
    tick_and_post(table, TIMEOUT_TICKS)
    assert table.apps[0].state.shooter == ALICE
    tick_and_post(table, 1)
    assert table.apps[0].state.shooter == BOB and len(table.digests()) == 1


# --- snapshots ------------------------------------------------------------------------------


def test_a_snapshot_keeps_the_votes_on_the_turn_in_progress() -> None:
    table = ready_table()
    app = table.apps[0]
    ok(vote(table, 2))
    fresh = CrapsApp(TABLE, REPLICAS, CONFIG, GROUP)
    fresh.restore(app.snapshot())
    assert fresh.digest() == app.digest() and fresh.timeout_voters == {2}
    table.apps.append(fresh)
    events = events_of(vote(table, 0))
    assert isinstance(events[0], DicePassed) and fresh.state.shooter == BOB
    assert len(table.digests()) == 1


@pytest.mark.parametrize("change", ["stale turn", "too many", "unsorted", "no such replica",
                                    "bad vote"])
def test_a_snapshot_with_impossible_votes_is_refused(change: str) -> None:
    table = ready_table()
    app = table.apps[0]
    ok(vote(table, 2))
    fields = msgpack.unpackb(app.snapshot())
    turn = TimeoutVote.of(app.state)
    assert turn is not None
    tally = fields[5]
    if change == "stale turn":
        tally[0] = encode_timeout_vote(dataclasses.replace(turn, hand=turn.hand + 1))
    elif change == "too many":
        tally[1] = [0, 2]  # two votes would have passed the dice already
    elif change == "unsorted":
        tally[1] = [2, 2]
    elif change == "no such replica":
        tally[1] = [4]
    else:
        tally[0] = pack([[[[ALICE]]], 0, 1])
    fresh = CrapsApp(TABLE, REPLICAS, CONFIG, GROUP)
    with pytest.raises(GameDecodeError, match="snapshot"):
        fresh.restore(pack(fields))
