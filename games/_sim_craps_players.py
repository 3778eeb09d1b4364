"""Scripted players for a simulated craps table.

Each player is a client of the table with its own key. It sits down with a buy-in, places
0-2 bets before each roll (a mix of line, come, field, place, hardway, proposition and
odds bets, a few of them refused on purpose: under the minimum or in the wrong phase), tops
up when it runs low, cashes part of its chips out once, and, while it is the shooter, asks
for the next roll once everyone has bet (unless it is an idle shooter, who never
does). It reads the table as a player's node would, from
an honest replica's state, which may lag behind the log; a request made on a stale view is
refused by the table and counted, never harmful.

From the results its requests get (f+1 matching replies) each player tallies the chips its
accepted buy-ins brought and its cash-outs took, which the final check holds the ledger to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bitcraps.consensus import Client, Completed, Envelope, Request
from bitcraps.consensus.sim import Rng

from ._table_ops import ACT, decode_result, encode_operation
from .craps import (
    Action,
    BetKind,
    BetPlaced,
    CashedOut,
    CashOut,
    CrapsState,
    CrapsTable,
    Join,
    Joined,
    PlaceBet,
    PlaceOdds,
    RollRequest,
    hop_code,
)

__all__ = ["Player", "PlayerCounts", "choose_bet"]

K = BetKind
COME_OUT_BETS = ((K.PASS, None), (K.DONT_PASS, None), (K.FIELD, None), (K.ANY_SEVEN, None),
                 (K.ANY_CRAPS, None), (K.YO, None), (K.HARDWAY, 6), (K.HARDWAY, 8),
                 (K.PLACE, 6), (K.PLACE, 9), (K.HOP, hop_code(1, 4)), (K.C_AND_E, None),
                 (K.BIG, 8))
POINT_BETS = ((K.COME, None), (K.DONT_COME, None), (K.FIELD, None), (K.PLACE, 5), (K.PLACE, 8),
              (K.HARDWAY, 4), (K.HARDWAY, 10), (K.BIG, 6), (K.ANY_SEVEN, None), (K.HORN, None),
              (K.BUY, 4), (K.LAY, 10), (K.ACES, None), (K.BOXCARS, None))
LINE_KINDS = frozenset({K.PASS, K.DONT_PASS, K.COME, K.DONT_COME})
AMOUNTS = (5, 10, 12, 20, 25, 30, 60)
TOP_UP_BELOW = 60

MayRoll = Callable[[int], bool]


@dataclass
class PlayerCounts:
    """What all players' accepted and refused requests came to."""

    bought_in: int = 0
    cashed_out: int = 0
    bets_placed: int = 0
    bets_rejected: int = 0
    actions_rejected: int = 0
    roll_requests: int = 0


def choose_bet(rng: Rng, state: CrapsState, me: bytes) -> Action:
    """One bet for this phase of the game; about one in twenty is off-phase or too small."""
    open_line = [b for b in state.bets_of(me)
                 if b.kind in LINE_KINDS and b.number is not None and not state.odds_on(b.bet_id)]
    if open_line and rng.chance(0.3):
        # Multiples of 30 pay true odds exactly on every point, taken or laid.
        return PlaceOdds(me, rng.choice(open_line).bet_id, rng.choice((30, 60, 90)))
    come_out = state.come_out != rng.chance(0.05)
    kind, number = rng.choice(COME_OUT_BETS if come_out else POINT_BETS)
    amount = 1 if rng.chance(0.03) else rng.choice(AMOUNTS)
    return PlaceBet(me, kind, amount, number)


class Player:
    def __init__(self, endpoint: int, client: Client, rng: Rng, buy_in: int, rolls: int,
                 counts: PlayerCounts, *, never_rolls: bool = False) -> None:
        self.endpoint = endpoint
        self.client = client
        self.rng = rng
        self.buy_in = buy_in
        self.rolls = rolls
        self.counts = counts
        self.never_rolls = never_rolls
        self.game = CrapsTable()
        self.seated = False
        self.pending: Action | None = None
        self.cash_out_roll = rng.randint(rolls // 4, rolls // 2)
        self.cashed = False
        self.requested_roll = -1
        self._planned: dict[int, int] = {}
        self._tried: dict[int, int] = {}

    @property
    def key(self) -> bytes:
        return self.client.signer.public_key

    @property
    def idle(self) -> bool:
        return not self.client.busy

    def planned(self, roll: int) -> int:
        if roll not in self._planned:
            self._planned[roll] = self.rng.randint(0, 2)
        return self._planned[roll]

    def ready_for(self, roll: int) -> bool:
        """Done betting for this roll (a player who is not seated yet holds nobody up)."""
        return not self.seated or self._tried.get(roll, 0) >= self.planned(roll)

    def take_completed(self) -> list[Completed]:
        done = self.client.take_completed()
        for item in done:
            self._tally(item.result)
        return done

    def _tally(self, result: bytes) -> None:
        action, self.pending = self.pending, None
        decoded = decode_result(result)
        if not decoded.ok:
            betting = isinstance(action, (PlaceBet, PlaceOdds))
            if betting:
                self.counts.bets_rejected += 1
            else:
                self.counts.actions_rejected += 1
            return
        if isinstance(action, RollRequest):
            self.requested_roll = action.roll_number
            self.counts.roll_requests += 1
        for event in self.game.decode_events(decoded.events):
            if isinstance(event, Joined):
                self.seated = True
                self.counts.bought_in += event.amount
            elif isinstance(event, CashedOut):
                self.counts.cashed_out += event.amount
            elif isinstance(event, BetPlaced):
                self.counts.bets_placed += 1

    def submit(self, state: CrapsState | None, may_roll: MayRoll) -> Envelope[Request] | None:
        """The next request, if there is one to make now."""
        if self.client.busy:
            return None
        action = self._next_action(state, may_roll)
        if action is None:
            return None
        self.pending = action
        return self.client.submit(encode_operation(ACT, self.game.encode_action(action)))

    def _next_action(self, state: CrapsState | None, may_roll: MayRoll) -> Action | None:
        me = self.key
        if not self.seated:
            return Join(me, self.buy_in)
        if state is None or state.roll_pending:
            return None
        balance, roll = state.balance(me), state.roll_number
        if balance is None or roll >= self.rolls:
            return None
        if balance < TOP_UP_BELOW:
            return Join(me, self.buy_in // 2)
        if not self.cashed and roll >= self.cash_out_roll:
            self.cashed = True
            return CashOut(me, balance // 4)
        if self._tried.get(roll, 0) < self.planned(roll):
            self._tried[roll] = self._tried.get(roll, 0) + 1
            return choose_bet(self.rng, state, me)
        if self.never_rolls:
            return None
        if state.shooter == me and roll > self.requested_roll and may_roll(roll):
            return RollRequest(me, roll)
        return None
