"""A craps table this node hosts: its replica's duties, and the player this node is.

The replica's duties (DKG messages, a coin share for each roll) are posted through the
table's own client by `run`, one task per table. The node's identity is also a player at
the table: `act`, `roll` and `cash_out` submit its signed actions through the same client.
A cash-out waits for 2f+1 matching signed replies, which together are its receipt.
"""

from __future__ import annotations

import os
import traceback
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio

from bitcraps.games import _coin as coin
from bitcraps.games._api import GameDecodeError
from bitcraps.games._table_ops import (
    ACT,
    KEY,
    decode_dice_key_result,
    decode_result,
    encode_operation,
)
from bitcraps.games.craps import Action, CashOut, RollRequest
from bitcraps.games.craps_app import CrapsApp
from bitcraps.games.craps_duties import CrapsDuties
from bitcraps.games.table_terms import TableTerms

from ._control import ControlError
from ._game_json import craps_state_json, to_json
from .cash_out_bets import left_on_table, refuse_open_bets
from .dice_key import make_dice_key_proof
from .receipts import make_receipt
from .request_outcomes import submit_refusal
from .table_shell import OutcomeUnknown, PendingRequest, SubmitError, TableShell

if TYPE_CHECKING:
    from trio_typing import TaskStatus

__all__ = ["CrapsHost", "load_or_create_dkg_seed"]

DKG_SEED_BYTES = 32
PHASE_TIMEOUT_S = 5.0
ROLL_TIMEOUT_S = 30.0
DUTY_WAIT_S = 30.0
ROUTINE_DUTY_REFUSALS = frozenset({"no_such_roll", "stale_vote", "duplicate_vote"})


def load_or_create_dkg_seed(path: Path) -> bytes:
    """This replica's DKG secret for one table: drawn once, kept 0600 and durable before
    any DKG message made from it can leave (a restart must derive the same messages).

    Written aside and linked into place, so a crash never leaves a partial seed file."""
    if not path.exists():
        partial = path.with_name(path.name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, os.urandom(DKG_SEED_BYTES))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(partial, path)  # never replaces a seed already in place
        except FileExistsError:
            pass
        os.unlink(partial)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    seed = path.read_bytes()
    if len(seed) != DKG_SEED_BYTES:
        raise ValueError(f"{path} is damaged: {len(seed)} bytes, not {DKG_SEED_BYTES}")
    return seed


class CrapsHost:
    def __init__(self, app: CrapsApp, shell: TableShell, duties: CrapsDuties, player: bytes,
                 tick_seconds: float, log: Any, terms: TableTerms) -> None:
        self.app = app
        self.terms = terms  # what the table id commits to: receipts carry it
        self.shell = shell
        self.duties = duties
        self.player = player
        self._tick_seconds = tick_seconds
        self._log = log
        self.duties_posted = 0
        self.duties_refused = 0
        self.duty_errors = 0
        self._pending: PendingRequest | None = None
        self._dice_key_proof: dict[str, Any] | None = None

    # --- the replica's duties ----------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Post the duties in order, each until it commits: a duty whose request times out
        stays outstanding (retransmitted by the shell) and is waited on again, never sent
        anew. Any error of one round is logged and counted; the loop goes on."""
        task_status.started()
        queue: deque[bytes] = deque()
        last_tick = trio.current_time()
        while True:
            with trio.move_on_after(self._tick_seconds):
                await self.shell.wait_progress()
            try:
                now = trio.current_time()
                while now - last_tick >= self._tick_seconds:
                    last_tick += self._tick_seconds
                    self.duties.tick()
                queue.extend(self.duties.due())
                await self._post(queue)
            except Exception as exc:  # a duty's failure is never the node's
                self._duty_failed(exc)

    async def _post(self, queue: deque[bytes]) -> None:
        while queue:
            try:
                if self._pending is None:
                    self._pending = await self.shell.send_request(
                        queue[0], None, trio.current_time() + DUTY_WAIT_S)
                completed = await self._pending.wait(DUTY_WAIT_S)
            except OutcomeUnknown as exc:
                self._log.info("duty not committed yet; still retransmitting it",
                               error=str(exc))
                return
            except SubmitError as exc:  # not sent (busy), or ended unexecuted (expired)
                self._pending = None
                self._log.info("duty not sent yet; will retry", error=str(exc))
                return
            self._pending = None
            queue.popleft()
            self._count(completed.result)

    def _duty_failed(self, exc: Exception) -> None:
        self.duty_errors += 1
        if self.duty_errors & (self.duty_errors - 1) == 0:  # the 1st, 2nd, 4th, 8th...
            # No traceback renderer: it would repr the frames' locals, untrusted values too.
            where = traceback.extract_tb(exc.__traceback__)[-1:]
            self._log.error("craps duty failed; carrying on", error_type=type(exc).__name__,
                            at=[f"{frame.filename}:{frame.lineno}" for frame in where],
                            errors=self.duty_errors)

    def _count(self, result: bytes) -> None:
        decoded = decode_result(result)
        if decoded.ok:
            self.duties_posted += 1
            return
        self.duties_refused += 1
        # Routine (debug): a share after f+1 others fixed the roll, a timeout vote on a turn
        # that ended or that others' votes closed. Anything else (a DKG message repeated
        # after a restart, or refused outright) is worth an operator's eye: info.
        routine = decoded.code in ROUTINE_DUTY_REFUSALS
        (self._log.debug if routine else self._log.info)(
            "duty refused by the table", code=decoded.code[:64], reason=decoded.reason[:160])

    # --- this node as a player ----------------------------------------------------------------

    async def act(self, action: Action, *, key: str | None = None) -> dict[str, Any]:
        """Commit one of this player's actions: its events, or ControlError with the reason
        (503 with the request's id and status while its outcome is unknown). An idempotency
        `key` already used answers with that action's outcome, sending nothing."""
        operation = encode_operation(ACT, self.app.game.encode_action(action))
        try:
            _, result = await self.shell.submit(operation, key=key)
        except SubmitError as exc:
            raise submit_refusal(exc, self.terms.table_id.hex()) from None
        return self._events(result)

    def events(self, result: bytes) -> dict[str, Any]:
        """An executed action's result as its events; ControlError 409 if it was refused."""
        return self._events(result)

    def _events(self, result: bytes) -> dict[str, Any]:
        decoded = decode_result(result)
        if not decoded.ok:
            raise ControlError(f"{decoded.reason} ({decoded.code})", 409)
        return {"events": to_json(self.app.game.decode_events(decoded.events))}

    async def roll(self) -> dict[str, Any]:
        """Ask for the next roll as the shooter and wait until the coin has thrown it."""
        number = self.app.state.roll_number
        await self.act(RollRequest(self.player, number))
        with trio.move_on_after(ROLL_TIMEOUT_S):
            while number not in self.app.rolls:
                await self.shell.wait_progress()
            return self.roll_json(number)
        raise ControlError(f"roll {number} was requested, but too few replicas posted coin "
                           f"shares within {ROLL_TIMEOUT_S:g} s", 503)

    async def cash_out(self, amount: int | None, *, leave_bets: bool = False) -> dict[str, Any]:
        """Cash out and return the receipt: 2f+1 replicas' signed replies to the request, and
        what stays on the table (`cash_out_bets`: all chips with bets working is refused
        unless `leave_bets`)."""
        refuse_open_bets(self.app.state, self.player, amount, leave_bets)
        operation = encode_operation(ACT, self.app.game.encode_action(
            CashOut(self.player, amount)))
        quorum = self.shell.config.quorum
        try:
            completed = await self.shell.submit_with_quorum(operation, quorum)
        except SubmitError as exc:
            raise submit_refusal(exc, self.terms.table_id.hex()) from None
        answer = self._events(completed.result)
        answer["receipt"] = make_receipt(self.terms, completed.replies)
        answer |= left_on_table(self.app.state, self.player, answer["events"])
        return answer

    async def dice_key(self) -> dict[str, Any]:
        """The table's dice key with f+1 replicas' signed statements of it (`dice_key`):
        asked of the table through the log once, then kept (the key never changes)."""
        if self._dice_key_proof is None:
            operation = encode_operation(KEY, b"")
            try:
                completed = await self.shell.submit_with_quorum(
                    operation, self.terms.f + 1, pooled=True)
            except SubmitError as exc:
                raise submit_refusal(exc, self.terms.table_id.hex()) from None
            try:
                _, key = decode_dice_key_result(completed.result)
            except GameDecodeError:
                refused = decode_result(completed.result)
                raise ControlError(f"{refused.reason} ({refused.code})", 409) from None
            self._dice_key_proof = make_dice_key_proof(self.terms, key, completed.replies)
        return self._dice_key_proof

    # --- what a player sees -----------------------------------------------------------------------

    def show(self) -> dict[str, Any]:
        dkg = self.app.dkg
        shown = craps_state_json(self.app.state)
        shown["dice"] = {"ready": self.app.dice_ready, "dkg_phase": dkg.phase.name.lower(),
                         "pending_roll": self.app.pending_roll,
                         "disqualified_dealers": sorted(dkg.disqualified)}
        shown["last_rolls"] = [self.roll_json(n) for n in sorted(self.app.rolls)[-5:]]
        return shown

    def roll_json(self, number: int) -> dict[str, Any]:
        rolled = self.app.rolls.get(number)
        if rolled is None:
            oldest = min(self.app.rolls, default=None)
            raise ControlError(f"no record of roll {number} (kept: {oldest} onwards)", 404)
        key = self.app.dkg.key
        return {
            "roll": number, "dice": list(rolled.record.dice), "shooter": rolled.shooter.hex(),
            "seed": rolled.record.seed.hex(),
            "final_state_hash": rolled.final_state_hash.hex(),
            "events": to_json(self.app.game.decode_events(rolled.events)),
            "record": coin.encode_roll_record(rolled.record).hex(),
            "threshold_key": coin.encode_threshold_key(key).hex(),
        }
