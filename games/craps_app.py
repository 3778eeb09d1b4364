"""A craps table as one replicated application: the rules, the chips and the fair dice.

Every replica executes the same ordered operations (`_table_ops`) and ends with the same
bytes. Players' actions go to the craps engine, signed by the player. The table's replicas
run the DKG in the same log, and for each roll every replica posts a coin share once the
shooter's `RollRequest` has closed betting; the `threshold`-th valid share fixes the coin,
the seed and the dice, and the roll is applied at once. Nobody, replicas included, can
submit a `Roll`: the dice only ever come from the coin. A shooter who does not ask for the
roll in time loses the dice once f+1 replicas have voted so (`_shooter_timeout`).
Anyone may ask the table for its dice key (`KEY`): the answer comes out of the log, so
each replica signs it in its reply and f+1 replies are the table's word on the key, which
is what `roll verify` checks rolls against.

Snapshots hold the craps state, the DKG transcript (replayed and so re-checked on
restore), the shares of the pending roll, and the last `MAX_ROLL_RECORDS` rolls' records
(shares, seed, dice and the physics' final-state hash), which is what `roll verify` checks,
and the timeout votes against the turn in progress.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from bitcraps.consensus import ExecutionContext

from . import _coin as coin
from ._api import ActionRejected, GameDecodeError, pack, unpack
from ._shooter_timeout import TimeoutTally, TimeoutVote, decode_timeout_vote
from ._table_ops import (
    ACT,
    DKG,
    KEY,
    TIMEOUT,
    decode_operation,
    dice_key_result,
    ok_result,
    rejected_result,
)
from .craps import CrapsState, CrapsTable, PassDice, Roll, RollRequest, TableConfig

__all__ = ["CrapsApp", "RolledRecord", "ThrowHash"]

MAX_ROLL_RECORDS = 1024
SNAPSHOT_VERSION = 2
DIGEST_DOMAIN = b"bitcraps/v1/craps-app\x00"
MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024

ThrowHash = Callable[[bytes, tuple[int, int]], bytes]
"""`throw_hash(seed, dice)`: the final-state hash of the dice physics for that roll."""


@dataclass(frozen=True, slots=True)
class RolledRecord:
    """What a past roll needs to be checked offline, and the physics' final-state hash."""

    record: coin.RollRecord
    shooter: bytes
    final_state_hash: bytes
    events: bytes


class CrapsApp:
    """The consensus `Application` of a craps table (deterministic to the byte)."""

    def __init__(self, table_id: bytes, replicas: tuple[bytes, ...], config: TableConfig,
                 group: coin.Group, throw_hash: ThrowHash | None = None) -> None:
        self.table_id = table_id
        self.replicas = replicas
        self.config = config
        self.group = group
        self.game = CrapsTable()
        self._throw_hash = throw_hash
        self.dkg_config = coin.DkgConfig(table_id, len(replicas))
        self._reset()

    def _reset(self) -> None:
        self.state: CrapsState = self.game.initial_state(self.config)
        self.dkg = coin.DkgState(self.group, self.dkg_config)
        self._round: coin.CoinRound | None = None
        self._round_shooter = b""
        self._round_shares: list[coin.CoinShare] = []
        self.rolls: dict[int, RolledRecord] = {}
        self._tally: TimeoutTally | None = None

    # --- what the node reads ---------------------------------------------------------------

    @property
    def pending_roll(self) -> int | None:
        """The roll whose coin shares are wanted now, if any."""
        return None if self._round is None else self._round.roll

    @property
    def dice_ready(self) -> bool:
        return self.dkg.phase is coin.Phase.COMPLETE

    @property
    def votes_to_pass_dice(self) -> int:
        """f + 1: at least one of that many replicas is honest."""
        return (len(self.replicas) - 1) // 3 + 1

    @property
    def timeout_voters(self) -> frozenset[int]:
        """The replicas that have voted against the turn in progress."""
        tally = self._tally
        if tally is None or tally.vote != TimeoutVote.of(self.state):
            return frozenset()
        return tally.voters

    # --- Application -----------------------------------------------------------------------

    def execute(self, operation: bytes, context: ExecutionContext) -> bytes:
        """One ordered operation's result: the same bytes on every replica, for any bytes.

        Whatever its signer got wrong gives one `rejected` result and changes nothing:
        bytes that are not an operation, a body its decoder refuses with its typed error
        (each decoder reads through the games' strict reader with its own schema's depth,
        array and item limits, so nothing nested deeper than a record is ever walked), a
        move the rules or the DKG refuse. Each of these is a pure function of the bytes and
        the state.

        Any other exception is a bug here, not the sender's fault, and is not made into a
        result (it may not strike every replica alike): it propagates, the replica turns it
        into `LocalProtocolError` and stops this table, and the node marks the table failed
        and keeps running its other tables.
        """
        try:
            op = decode_operation(operation)
        except GameDecodeError as exc:
            return rejected_result("malformed", str(exc))
        if op.verb == ACT:
            return self._act(op.body, context.client)
        if op.verb == KEY:
            return self._dice_key(op.body)
        sender = self._replica_index(context.client)
        if sender is None:
            return rejected_result("not_a_replica", "only the table's replicas run the dice")
        if op.verb == DKG:
            return self._dkg(op.body, sender)
        if op.verb == TIMEOUT:
            return self._timeout(op.body, sender)
        return self._share(op.body, sender)

    def _replica_index(self, key: bytes) -> int | None:
        try:
            return self.replicas.index(key)
        except ValueError:
            return None

    def _act(self, body: bytes, client: bytes) -> bytes:
        try:
            action = self.game.decode_action(body)
        except GameDecodeError as exc:
            return rejected_result("malformed", str(exc))
        if isinstance(action, Roll):
            return rejected_result("dice_from_coin", "dice come from the table's coin only")
        actor = action.shooter if isinstance(action, (RollRequest, PassDice)) else action.player
        if actor != client:
            return rejected_result("not_your_seat", "a player acts only for themself")
        if isinstance(action, PassDice) and action.timed_out:
            return rejected_result("timeout_by_vote", "only f+1 replicas' timeout votes take "
                                   "the dice; a shooter may only decline them")
        if isinstance(action, RollRequest) and not self.dice_ready:
            return rejected_result("dice_not_ready", "the table's dice key is still being "
                                   "generated; try again shortly")
        try:
            self.state, events = self.game.apply(self.state, action)
        except ActionRejected as exc:
            return rejected_result(exc.rejection.code.value, exc.rejection.reason)
        if isinstance(action, RollRequest):
            self._round = coin.CoinRound(self.group, self.dkg.key, action.roll_number)
            self._round_shooter = action.shooter
            self._round_shares = []
        return ok_result(self.game.encode_events(events))

    def _dice_key(self, body: bytes) -> bytes:
        """Anyone's question, answered in the log so that each replica signs the answer in
        its reply: f+1 such replies are the table's word on its dice key, which no single
        node (the one a player asks included) can forge. Changes nothing."""
        if body:
            return rejected_result("malformed", "a dice-key question has an empty body")
        if not self.dice_ready:
            return rejected_result("dice_not_ready", "the table's dice key is still being "
                                   "generated; try again shortly")
        return dice_key_result(self.table_id, coin.encode_threshold_key(self.dkg.key))

    def _dkg(self, body: bytes, sender: int) -> bytes:
        try:
            message = coin.decode_dkg_message(body)
        except coin.WireDecodeError as exc:
            return rejected_result("malformed", str(exc))
        events = self.dkg.apply(sender, message)
        for event in events:
            if isinstance(event, coin.MessageRejected):
                return rejected_result("dkg_rejected", event.reason)
        return ok_result(pack([type(event).__name__.encode() for event in events]))

    def _timeout(self, body: bytes, sender: int) -> bytes:
        """One replica's vote against the turn in progress; the (f+1)-th passes the dice."""
        try:
            vote = decode_timeout_vote(body)
        except GameDecodeError as exc:
            return rejected_result("malformed", str(exc))
        if not self.dice_ready:
            return rejected_result("dice_not_ready", "no shooter times out before the dice key")
        if vote != TimeoutVote.of(self.state):
            return rejected_result("stale_vote", "that shooter's turn is over or has not "
                                   "begun, or the roll was asked for")
        voters = self.timeout_voters
        if sender in voters:
            return rejected_result("duplicate_vote", "this replica already voted on this turn")
        voters = voters | {sender}
        if len(voters) < self.votes_to_pass_dice:
            self._tally = TimeoutTally(vote, voters)
            return ok_result(self.game.encode_events(()))
        self._tally = None
        self.state, events = self.game.apply(
            self.state, PassDice(vote.shooter, vote.roll_number, timed_out=True))
        return ok_result(self.game.encode_events(events))

    def _share(self, body: bytes, sender: int) -> bytes:
        try:
            share = coin.decode_coin_share(body)
        except coin.WireDecodeError as exc:
            return rejected_result("malformed", str(exc))
        if share.replica != sender:
            return rejected_result("not_your_share", "a replica posts only its own share")
        if self._round is None or share.roll != self._round.roll:
            return rejected_result("no_such_roll", f"roll {share.roll} is not pending")
        try:
            complete = self._round.add(share)
        except coin.InvalidCoinShare as exc:
            return rejected_result("bad_share", str(exc))
        self._round_shares.append(share)
        if not complete:
            return ok_result(self.game.encode_events(()))
        return self._roll(self._round.record)

    def _roll(self, record: coin.RollRecord) -> bytes:
        shooter = self._round_shooter
        self._round, self._round_shooter, self._round_shares = None, b"", []
        die1, die2 = record.dice
        self.state, events = self.game.apply(self.state, Roll(shooter, record.roll, die1, die2))
        final = b"" if self._throw_hash is None else self._throw_hash(record.seed, record.dice)
        encoded = self.game.encode_events(events)
        self.rolls[record.roll] = RolledRecord(record, shooter, final, encoded)
        if len(self.rolls) > MAX_ROLL_RECORDS:
            del self.rolls[min(self.rolls)]
        return ok_result(encoded)

    # --- snapshots -------------------------------------------------------------------------

    def snapshot(self) -> bytes:
        pending = [] if self._round is None else [
            self._round.roll, self._round_shooter,
            [coin.encode_coin_share(s) for s in self._round_shares]]
        return pack([
            SNAPSHOT_VERSION,
            self.game.encode_state(self.state),
            coin.encode_transcript(self.dkg.transcript),
            pending,
            [[coin.encode_roll_record(r.record), r.shooter, r.final_state_hash, r.events]
             for _, r in sorted(self.rolls.items())],
            self._live_tally_wire(),
        ])

    def _live_tally_wire(self) -> list[object]:
        """The votes against the turn in progress; votes for a past turn are gone."""
        voters = self.timeout_voters
        vote = TimeoutVote.of(self.state)
        return [] if not voters or vote is None else TimeoutTally(vote, voters).to_wire()

    def restore(self, snapshot: bytes) -> None:
        """Replace the state with a snapshot's; every part is decoded and re-checked
        (`GameDecodeError` for anything that is not a state the table could be in)."""
        before = dict(vars(self))
        try:
            self._restore(snapshot)
        except (GameDecodeError, ValueError, TypeError, coin.FairDiceError) as exc:
            vars(self).update(before)
            raise GameDecodeError(f"not a valid craps table snapshot: {exc}") from None

    def _restore(self, snapshot: bytes) -> None:
        fields = unpack(snapshot, MAX_SNAPSHOT_BYTES)
        if type(fields) is not list or len(fields) != 6 or fields[0] != SNAPSHOT_VERSION:
            raise GameDecodeError("not a craps table snapshot")
        _, state, transcript, pending, rolls, tally = fields
        self._reset()
        self.state = self.game.decode_state(state)
        self.dkg = coin.replay_transcript(self.group, self.dkg_config,
                                          coin.decode_transcript(transcript))
        if type(rolls) is not list:
            raise GameDecodeError("rolls is a list")
        for item in rolls:
            record_bytes, shooter, final, events = item
            self.game.decode_events(events)
            record = coin.decode_roll_record(record_bytes)
            self.rolls[record.roll] = RolledRecord(record, shooter, final, events)
        if pending:
            roll, shooter, shares = pending
            self._round = coin.CoinRound(self.group, self.dkg.key, roll)
            self._round_shooter = shooter
            for share_bytes in shares:
                share = coin.decode_coin_share(share_bytes)
                self._round.add(share)
                self._round_shares.append(share)
        if tally != []:
            self._restore_tally(tally)

    def _restore_tally(self, obj: object) -> None:
        tally = TimeoutTally.from_wire(obj, len(self.replicas), self.votes_to_pass_dice)
        if not self.dice_ready or tally.vote != TimeoutVote.of(self.state):
            raise GameDecodeError("timeout votes for a turn that is not in progress")
        self._tally = tally

    def digest(self) -> bytes:
        return hashlib.sha256(DIGEST_DOMAIN + self.snapshot()).digest()
