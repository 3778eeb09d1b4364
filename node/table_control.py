"""The control API's table routes, over the tables a node hosts (a mixin of `Node`).

Tables are named by id or by a unique prefix of at least four hex digits. Requests whose
signer does not matter (`submit`, `submit_many`) use the table's pool of client keys, so
many are in flight at once; a player's craps actions are signed by the node's own key.

Requests the API sends are tracked in the table's request ledger (`request_ledger`): each
answer names its `request_id`, `request_status` looks one up, and an idempotency key the
ledger knows is answered with its first outcome (`request_outcomes`), never sent again.

A table that stopped (our own bug: `table_failure`) answers every call that commits or reads
its game with a 503 "table <id> has stopped: <reason>", at once; a call in flight when it
stops gets the same answer as soon as its supervisor stops it, never the request's timeout
or the bug's exception. Its listing (`table_game`) still shows it, as failed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import trio

from bitcraps.consensus import Completed, LocalProtocolError
from bitcraps.games._api import GameDecodeError

from ._control import ControlError
from .craps_host import CrapsHost
from .hosted_table import HostedTable, describe_table, table_failure
from .request_ledger import EXECUTED, MAX_AGE_S, MAX_ENTRIES, PENDING
from .request_outcomes import completed_json, entry_json, failure_json, submit_refusal
from .table_shell import SubmitError, TableShell

__all__ = ["TableControl", "stopped_error", "until_stopped"]

T = TypeVar("T")
SUBMIT_TIMEOUT_S = 30.0


def stopped_error(table: HostedTable) -> ControlError | None:
    """The 503 a stopped table answers with, or None while it runs."""
    failure = table_failure(table)
    if failure is None:
        return None
    return ControlError(f"table {table.section.table_id} has stopped: {failure}", 503)


async def until_stopped(table: HostedTable, call: Callable[[], Awaitable[T]]) -> T:
    """`await call()`, unless the table stops first: then `stopped_error`, at once."""
    refused = stopped_error(table)
    if refused is not None:
        raise refused
    done: list[T] = []
    failed: list[Exception] = []
    async with trio.open_nursery() as nursery:
        async def run() -> None:
            try:
                done.append(await call())
            except Exception as exc:  # raised below, outside the nursery's group
                failed.append(exc)
            nursery.cancel_scope.cancel()

        nursery.start_soon(run)
        if table.supervisor is not None:
            await table.supervisor.stopped.wait()
            nursery.cancel_scope.cancel()
    refused = stopped_error(table)
    if refused is not None and (not done or failed):
        raise refused from None
    if failed:
        raise failed[0]
    if not done:  # cancelled by the supervisor's stop, yet no failure: cannot happen
        raise LocalProtocolError("a table call ended with no result")
    return done[0]


class TableControl:
    tables_by_id: dict[bytes, HostedTable]
    physics: Any

    def _hosted(self, table_id: str) -> HostedTable:
        """The hosted table `table_id` names: its id, or a unique prefix of it."""
        wanted = table_id.lower()
        found = [t for key, t in self.tables_by_id.items() if key.hex().startswith(wanted)]
        if len(found) == 1 and len(wanted) >= 4:
            return found[0]
        if len(found) > 1 and len(wanted) >= 4:
            raise ControlError(f"{table_id} names {len(found)} tables; give more of its id")
        raise ControlError(f"this node hosts no table {table_id}", 404)

    def _running(self, table_id: str) -> HostedTable:
        """The hosted table `table_id` names, while it runs (`stopped_error` otherwise)."""
        table = self._hosted(table_id)
        refused = stopped_error(table)
        if refused is not None:
            raise refused
        return table

    def _craps(self, table_id: str) -> CrapsHost:
        table = self._running(table_id)
        if table.craps is None:
            raise ControlError(f"table {table.section.table_id} plays {table.section.game}, "
                               "not craps", 409)
        return table.craps

    async def table_act(self, table_id: str, body: dict[str, Any],
                        key: str | None = None) -> dict[str, Any]:
        from ._craps_actions import action_from_json

        host = self._craps(table_id)
        action = action_from_json(host.player, body, roll_number=host.app.state.roll_number)
        return await until_stopped(self._hosted(table_id), lambda: host.act(action, key=key))

    def table_game(self, table_id: str) -> dict[str, Any]:
        table = self._hosted(table_id)
        shown = describe_table(table)
        if table.craps is not None:
            shown["craps"] = table.craps.show()
        return shown

    async def table_roll(self, table_id: str) -> dict[str, Any]:
        return await until_stopped(self._hosted(table_id), self._craps(table_id).roll)

    def table_roll_record(self, table_id: str, roll: int) -> dict[str, Any]:
        return self._craps(table_id).roll_json(roll)

    async def table_dice_key(self, table_id: str) -> dict[str, Any]:
        return await self._craps(table_id).dice_key()

    async def table_roll_animation(self, table_id: str, roll: int) -> dict[str, Any]:
        """A past roll's throw, replayed from its seed: frames for the web table, and its
        final-state hash, which must equal the one the replicas executed."""
        from bitcraps.accel.physics import throw_dice

        host = self._craps(table_id)
        shown = host.roll_json(roll)
        seed, dice = bytes.fromhex(shown["seed"]), tuple(shown["dice"])
        result = await trio.to_thread.run_sync(throw_dice, seed, dice, self.physics)
        animation: dict[str, Any] = result.animation()
        animation["matches_executed_roll"] = (
            result.final_state_hash.hex() == shown["final_state_hash"])
        return animation

    async def table_cash_out(self, table_id: str, amount: int | None, *,
                             leave_bets: bool = False) -> dict[str, Any]:
        host = self._craps(table_id)
        return await until_stopped(self._hosted(table_id),
                                   lambda: host.cash_out(amount, leave_bets=leave_bets))

    async def submit_many(self, table_id: str, operations: list[bytes],
                          keys: list[str | None] | None = None) -> list[dict[str, Any]]:
        """Commit several requests at once, each through its own pooled client key, so
        they travel in the same batches: one outcome per operation, in the order given
        (`request_outcomes`), each executed, pending or not executed on its own."""
        table = self._running(table_id)
        results: list[dict[str, Any]] = [{} for _ in operations]
        given = keys if keys is not None else [None] * len(operations)
        deadline = trio.current_time() + SUBMIT_TIMEOUT_S

        async def one(index: int, operation: bytes, key: str | None) -> None:
            try:
                completed, request_id = await _commit(table.shell, operation, key, deadline)
            except SubmitError as exc:
                results[index] = failure_json(exc)
            else:
                results[index] = completed_json(completed, request_id)
            if key is not None:
                results[index]["id"] = key

        async def all_of_them() -> None:
            async with trio.open_nursery() as nursery:
                for index, (operation, key) in enumerate(zip(operations, given, strict=True)):
                    nursery.start_soon(one, index, operation, key)

        await until_stopped(table, all_of_them)
        return results

    async def submit(self, table_id: str, operation: bytes,
                     key: str | None = None) -> dict[str, Any]:
        table = self._running(table_id)
        deadline = trio.current_time() + SUBMIT_TIMEOUT_S
        try:
            completed, request_id = await until_stopped(
                table, lambda: _commit(table.shell, operation, key, deadline))
        except SubmitError as exc:
            raise submit_refusal(exc, table.section.table_id) from None
        return {"table_id": table.section.table_id, **completed_json(completed, request_id)}

    async def request_status(self, table_id: str, request_id: str,
                             wait_s: float = 0.0) -> dict[str, Any]:
        """A tracked request by id (a stopped table still answers), waiting up to `wait_s`
        while it is pending; for craps, an executed action's events or refusal too."""
        table = self._hosted(table_id)
        found = table.shell.request(bytes.fromhex(request_id))
        if found is None:
            raise ControlError(
                f"table {table.section.table_id} has no record of request {request_id}: this "
                f"node did not send it, or it is older than the node keeps them (the latest "
                f"{MAX_ENTRIES} requests, {MAX_AGE_S // 3600} hours)", 404)
        entry, pending = found
        if entry.status == PENDING and wait_s > 0:
            try:
                await pending.wait(wait_s)
            except SubmitError:
                pass  # not executed, or still pending: the entry says which
        shown = {"table_id": table.section.table_id, **entry_json(entry)}
        if table.craps is not None and entry.status == EXECUTED:
            shown.update(_craps_outcome(table.craps, entry.result))
        return shown


async def _commit(shell: TableShell, operation: bytes, key: str | None,
                  deadline: float) -> tuple[Completed, bytes | None]:
    """Send one tracked request on a pooled client and wait for it until `deadline`."""
    pending = await shell.send_request(operation, None, deadline, pooled=True, key=key,
                                       tracked=True)
    return await pending.wait(deadline - trio.current_time()), pending.request_id


def _craps_outcome(host: CrapsHost, result: bytes) -> dict[str, Any]:
    """An executed craps action's events, or the table's refusal; nothing for a result that
    is no action's (a duty's, the dice key's)."""
    try:
        return host.events(result)
    except ControlError as refused:
        return {"refused": str(refused)}
    except GameDecodeError:  # not an action's result
        return {}
