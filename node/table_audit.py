"""A craps table's audit trail: one info line per executed player action and per roll.

The lines come from what the replica executed (`Executed`: the ordered request and the
table's result), never from what a caller asked: an operator reading the log sees what the
table did, in log order, on every replica alike. Each line carries ``table_id`` and the
sequence number; a player action line names the player (the request's signer, whose key
the table checked against the action), the action and what it did; a roll line names the
shooter, the dice, the stickman's call and the bets it settled (counted and summed, never
listed: a roll may settle hundreds). Refused actions are one line too, with the table's
code. Every value is bounded: keys are 32 bytes, codes and reasons are cut, and events are
summarised, so a player cannot make a line long.

The same lines feed the node's game counters (bets, rolls, cash-outs, actions by outcome).
Nothing here may stop a table: a result this cannot read is a debug line and a count.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bitcraps.consensus import Executed
from bitcraps.games._api import GameDecodeError
from bitcraps.games._table_ops import ACT, SHARE, TIMEOUT, decode_operation, decode_result
from bitcraps.games.craps import (
    BetPlaced,
    BetSwitched,
    BetTravelled,
    CashedOut,
    CashOut,
    CrapsTable,
    DicePassed,
    Join,
    Joined,
    Leave,
    Left,
    Outcome,
    PassDice,
    PlaceBet,
    PlaceOdds,
    Rolled,
    RollRequest,
    RollRequested,
    Settled,
    ShooterChanged,
    TakeDown,
    TurnOff,
    TurnOn,
    describe,
)

from .metrics import NodeMetrics

__all__ = ["ACTION_NAMES", "TableAudit", "summarize"]

ACTION_NAMES: dict[type, str] = {
    Join: "join", PlaceBet: "bet", PlaceOdds: "odds", TakeDown: "take_down",
    TurnOff: "turn_off", TurnOn: "turn_on", RollRequest: "roll_request", PassDice: "pass",
    CashOut: "cashout", Leave: "leave"}
MAX_CODE_CHARS = 64
MAX_REASON_CHARS = 160


class TableAudit:
    """The audit hook of one craps table (`TableShell(on_executed=audit.executed)`)."""

    def __init__(self, table_id: str, game: CrapsTable, log: Any, metrics: NodeMetrics) -> None:
        self._table = table_id
        self._game = game
        self._log = log
        self._metrics = metrics
        self.unreadable = 0

    def executed(self, item: Executed) -> None:
        try:
            self._audit(item)
        except Exception as exc:  # never the table's problem: counted, a debug line
            self.unreadable += 1
            self._log.debug("executed request not audited", seq=item.seq,
                            error_type=type(exc).__name__)

    def _audit(self, item: Executed) -> None:
        operation = decode_operation(item.request.message.operation)
        if operation.verb not in (ACT, SHARE, TIMEOUT):
            return  # DKG messages and dice-key questions: the replicas' business
        result = decode_result(item.result)
        if operation.verb == ACT:
            self._action(item, operation.body, result.ok, result.code, result.reason,
                         result.events)
        elif result.ok:
            self._dice(item, self._game.decode_events(result.events))

    def _action(self, item: Executed, body: bytes, ok: bool, code: str, reason: str,
                events: bytes) -> None:
        try:
            name = ACTION_NAMES.get(type(self._game.decode_action(body)), "other")
        except GameDecodeError:
            name = "malformed"
        player = item.request.sender.hex()
        self._metrics.table_actions.labels(table=self._table, action=name,
                                           outcome="ok" if ok else "refused").inc()
        if not ok:
            self._log.info("player action refused", seq=item.seq, player=player, action=name,
                           code=code[:MAX_CODE_CHARS], reason=reason[:MAX_REASON_CHARS])
            return
        decoded = self._game.decode_events(events)
        self._count(decoded)
        self._log.info("player action", seq=item.seq, player=player, action=name,
                       **summarize(decoded))

    def _dice(self, item: Executed, events: tuple[Any, ...]) -> None:
        """A coin share that completed a roll, or the timeout vote that passed the dice."""
        if any(isinstance(event, Rolled) for event in events):
            self._metrics.rolls.labels(table=self._table).inc()
            self._count(events)
            self._log.info("dice rolled", seq=item.seq, **summarize(events))
        elif any(isinstance(event, DicePassed) for event in events):
            self._log.info("dice passed by timeout", seq=item.seq, **summarize(events))

    def _count(self, events: Iterable[Any]) -> None:
        metrics, table = self._metrics, self._table
        for event in events:
            if isinstance(event, BetPlaced):
                metrics.bets_placed.labels(table=table).inc()
                metrics.chips_bet.labels(table=table).inc(event.amount)
            elif isinstance(event, CashedOut):
                metrics.cash_outs.labels(table=table).inc()
                metrics.chips_cashed_out.labels(table=table).inc(event.amount)


def summarize(events: Iterable[Any]) -> dict[str, Any]:
    """The fields of one audit line: what the events did, each value bounded."""
    fields: dict[str, Any] = {}
    settled: list[Settled] = []
    for event in events:
        if isinstance(event, Settled):
            settled.append(event)
        elif isinstance(event, BetTravelled):
            fields["travelled"] = fields.get("travelled", 0) + 1
        else:
            fields.update(_fields(event))
    if settled:
        fields.update(_settled(settled))
    return fields


def _fields(event: Any) -> dict[str, Any]:
    if isinstance(event, Joined):
        return {"bought_in": event.amount, "balance": event.balance, "seated": event.seated}
    if isinstance(event, BetPlaced):
        return {"bet_id": event.bet_id, "bet": describe(event.kind, event.number),
                "amount": event.amount, "escrow": event.escrow}
    if isinstance(event, BetSwitched):
        return {"bet_id": event.bet_id, "working": event.working.name.lower()}
    if isinstance(event, RollRequested):
        return {"roll": event.roll_number}
    if isinstance(event, Rolled):
        return {"roll": event.roll_number, "shooter": event.shooter.hex(),
                "dice": [event.die1, event.die2], "total": event.die1 + event.die2,
                "call": event.call.value, "point": event.point}
    if isinstance(event, DicePassed):
        return {"roll": event.roll_number, "shooter": event.shooter.hex(),
                "timed_out": event.timed_out}
    if isinstance(event, ShooterChanged):
        return {"next_shooter": None if event.shooter is None else event.shooter.hex()}
    if isinstance(event, CashedOut):
        return {"cashed_out": event.amount, "balance": event.balance}
    if isinstance(event, Left):
        return {"left": True}
    return {}


def _settled(settled: list[Settled]) -> dict[str, Any]:
    outcomes = [event.outcome for event in settled]
    return {"settled": len(settled), "won": outcomes.count(Outcome.WIN),
            "lost": outcomes.count(Outcome.LOSE), "pushed": outcomes.count(Outcome.PUSH),
            "returned_bets": outcomes.count(Outcome.RETURNED),
            "paid": sum(event.paid for event in settled),
            "returned": sum(event.returned for event in settled)}
