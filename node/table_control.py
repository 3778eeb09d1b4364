"""The control API's table routes, over the tables a node hosts (a mixin of `Node`).

Tables are named by id or by a unique prefix of at least four hex digits. Requests whose
signer does not matter (`submit`, `submit_many`) use the table's pool of client keys, so
many are in flight at once; a player's craps actions are signed by the node's own key.

A table that stopped (our own bug: `table_failure`) answers every call that commits or reads
its game with a 503 "table <id> has stopped: <reason>", at once; a call in flight when it
stops gets the same answer as soon as its supervisor stops it, never the request's timeout
or the bug's exception. Its listing (`table_game`) still shows it, as failed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import trio

from bitcraps.consensus import LocalProtocolError

from ._control import ControlError
from .craps_host import CrapsHost
from .hosted_table import HostedTable, describe_table, table_failure
from .table_shell import SubmitError

__all__ = ["TableControl", "stopped_error", "until_stopped"]

T = TypeVar("T")


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

    async def table_act(self, table_id: str, body: dict[str, Any]) -> dict[str, Any]:
        from ._craps_actions import action_from_json

        host = self._craps(table_id)
        action = action_from_json(host.player, body, roll_number=host.app.state.roll_number)
        return await until_stopped(self._hosted(table_id), lambda: host.act(action))

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

    async def table_cash_out(self, table_id: str, amount: int | None) -> dict[str, Any]:
        host = self._craps(table_id)
        return await until_stopped(self._hosted(table_id), lambda: host.cash_out(amount))

    async def submit_many(self, table_id: str,
                          operations: list[bytes]) -> list[dict[str, Any]]:
        """Commit several requests at once, each through its own pooled client key, so
        they travel in the same batches; results in the order given."""
        table = self._running(table_id)
        results: list[dict[str, Any]] = [{} for _ in operations]

        async def one(index: int, operation: bytes) -> None:
            try:
                timestamp, result = await table.shell.submit(operation, pooled=True)
            except SubmitError as exc:
                results[index] = {"error": str(exc)}
            else:
                results[index] = {"timestamp": timestamp, "result": result.hex()}

        async def all_of_them() -> None:
            async with trio.open_nursery() as nursery:
                for index, operation in enumerate(operations):
                    nursery.start_soon(one, index, operation)

        await until_stopped(table, all_of_them)
        return results

    async def submit(self, table_id: str, operation: bytes) -> dict[str, Any]:
        table = self._running(table_id)
        try:
            timestamp, result = await until_stopped(
                table, lambda: table.shell.submit(operation, pooled=True))
        except SubmitError as exc:
            raise ControlError(str(exc), 503) from None
        return {"table_id": table.section.table_id, "timestamp": timestamp,
                "result": result.hex()}
