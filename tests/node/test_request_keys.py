"""A caller can tell what became of a request and retry it safely (real shells and replicas
on a virtual clock; real SQLite ledger files where a restart is involved).

- a bet whose replicas are down answers "outcome unknown" with its request id, commits once
  they return, and a retry with the same idempotency key is that bet, not a second one;
- a batch in which some operations time out answers 200 with one outcome per operation;
- after a restart, the node resends the very same signed request for a pending key, and a
  retry with the key never executes twice.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import msgpack
import pytest
import trio
from shell_control import ShellControl
from shell_table import TICK_SECONDS, Table, pool_signers

from bitcraps.accel._ed25519_group import SodiumEd25519Group
from bitcraps.consensus import ReplicaConfig, Reply, Request, decode_envelope
from bitcraps.games.craps import BetKind, Join, PlaceBet, TableConfig
from bitcraps.games.craps_app import CrapsApp
from bitcraps.games.craps_duties import CrapsDuties
from bitcraps.games.table_terms import SALT_BYTES, TableTerms
from bitcraps.node._control import ControlError
from bitcraps.node.client_stamps import StampFile
from bitcraps.node.craps_host import CrapsHost
from bitcraps.node.logs import get_logger
from bitcraps.node.request_ledger import EXECUTED, NOT_EXECUTED, PENDING, RequestLedger
from bitcraps.node.table_shell import OutcomeUnknown, TableShell


def add(key: bytes) -> bytes:
    return msgpack.packb([b"add", key, 1])


def craps_app(config: ReplicaConfig) -> CrapsApp:
    return CrapsApp(config.table_id, config.replicas, TableConfig(), SodiumEd25519Group())


def craps_host(table: Table, index: int) -> CrapsHost:
    shell = table.shells[index]
    assert shell is not None
    seed = hashlib.sha256(b"request keys %d" % index).digest()
    duties = CrapsDuties(table.apps[index], index, seed, phase_timeout_ticks=200)
    terms = TableTerms("craps", table.config.replicas, 5, 5_000, 8, bytes(SALT_BYTES))
    return CrapsHost(table.apps[index], shell, duties, table.signers[index].public_key,
                     TICK_SECONDS, get_logger("test"), terms)


async def settled(table: Table) -> None:
    """Until every running shell executed as far as the furthest."""
    with trio.fail_after(120):
        while True:
            shells = [shell for shell in table.shells if shell is not None]
            seqs = {shell.replica.last_executed_seq for shell in shells}
            if len(seqs) == 1:
                return
            await trio.sleep(1)


async def test_a_bet_that_timed_out_commits_later_and_its_key_never_bets_twice(
        autojump_clock: trio.abc.Clock) -> None:
    async with trio.open_nursery() as nursery:
        table = Table(nursery, app_factory=craps_app)
        for i in range(4):
            await table.start(i)
        host = craps_host(table, 0)
        await host.act(Join(host.player, 1_000))
        table.kill(2)
        table.kill(3)
        bet = PlaceBet(host.player, BetKind.FIELD, 10)
        with pytest.raises(ControlError) as unknown:
            await host.act(bet, key="bet-1")
        answer = unknown.value
        assert answer.status == 503 and "outcome unknown" in str(answer)
        assert answer.details["status"] == PENDING
        request_id = bytes.fromhex(answer.details["request_id"])
        assert host.app.state.bets == ()
        await table.start(2, recover=True)
        await table.start(3, recover=True)
        shell = host.shell
        found = shell.request(request_id)
        assert found is not None
        with trio.fail_after(120):  # still retransmitted: it commits once they are back
            await found[1].wait(120)
        assert found[0].status == EXECUTED and len(host.app.state.bets) == 1
        again = await host.act(bet, key="bet-1")  # the retry is that bet, not a second one
        assert [event["type"] for event in again["events"]] == ["BetPlaced"]
        assert len(host.app.state.bets) == 1
        with pytest.raises(ControlError) as reused:  # the key, for another bet
            await host.act(PlaceBet(host.player, BetKind.FIELD, 20), key="bet-1")
        assert reused.value.status == 409 and "another operation" in str(reused.value)
        await host.act(bet)  # without a key, the same bet again is a second bet
        assert len(host.app.state.bets) == 2
        nursery.cancel_scope.cancel()


async def test_a_second_action_while_one_is_outstanding_is_refused_cleanly(
        autojump_clock: trio.abc.Clock) -> None:
    """The player's client has one request outstanding at a time: a second bet, or a roll,
    waits for it within its own deadline, then is refused with a 503 that says it was not
    sent and names the outstanding request (it was a 500 from the client's own check)."""
    async with trio.open_nursery() as nursery:
        table = Table(nursery, app_factory=craps_app)
        for i in range(4):
            await table.start(i)
        host = craps_host(table, 0)
        await host.act(Join(host.player, 1_000))
        table.kill(2)
        table.kill(3)
        with pytest.raises(ControlError) as unknown:
            await host.act(PlaceBet(host.player, BetKind.FIELD, 10))
        outstanding = unknown.value.details["request_id"]
        for second in (lambda: host.act(PlaceBet(host.player, BetKind.FIELD, 20)), host.roll):
            with pytest.raises(ControlError) as busy:
                await second()
            assert busy.value.status == 503 and busy.value.details["status"] == NOT_EXECUTED
            assert f"(request {outstanding})" in str(busy.value)
            assert "this one was not sent" in str(busy.value)
        await table.start(2, recover=True)
        await table.start(3, recover=True)
        with trio.fail_after(120):
            await host.act(PlaceBet(host.player, BetKind.FIELD, 20))
        assert sorted(bet.amount for bet in host.app.state.bets) == [10, 20]
        nursery.cancel_scope.cancel()


class MutedReplies(Table):
    """A table whose router drops the fellow replicas' replies to any client that sent one
    of `muted` operations: those requests execute, but too few replies reach their client."""

    def __init__(self, nursery: trio.Nursery, **kwargs: Any) -> None:
        super().__init__(nursery, **kwargs)
        self.muted: set[bytes] = set()
        self.muted_clients: set[bytes] = set()

    def sender(self, index: int) -> Any:
        inner = super().sender(index)

        async def send_frame(peer: bytes, frame: bytes) -> None:
            envelope = decode_envelope(frame)
            message = envelope.message
            if type(message) is Request and message.operation in self.muted:
                self.muted_clients.add(envelope.sender)
            if type(message) is Reply and message.client in self.muted_clients:
                return
            await inner(peer, frame)
        return send_frame


async def test_a_batch_with_an_operation_timing_out_answers_each_operations_outcome(
        autojump_clock: trio.abc.Clock) -> None:
    async with trio.open_nursery() as nursery:
        table = MutedReplies(nursery)
        await table.start(0, client_pool=pool_signers(8))
        for i in range(1, 4):
            await table.start(i)
        control = ShellControl()
        table_id = control.host(table, 0)
        table.muted.add(add(b"slow"))
        keys = [b"a", b"b", b"slow", b"c"]
        batch = {"operations": [{"operation": add(key).hex(), "id": f"op-{key.decode()}"}
                                for key in keys]}
        async with control.http() as client:
            answer = await client.post(f"/v1/tables/{table_id}/requests", json=batch)
            assert answer.status_code == 200
            results = answer.json()["results"]
            assert [r["status"] for r in results] == [EXECUTED, EXECUTED, PENDING, EXECUTED]
            assert [r["id"] for r in results] == ["op-a", "op-b", "op-slow", "op-c"]
            slow = results[2]
            assert "outcome unknown" in slow["error"] and "result" not in slow
            assert all(msgpack.unpackb(bytes.fromhex(r["result"])) == [b"ok", 1]
                       for r in results if r["status"] == EXECUTED)
            looked = await client.get(f"/v1/tables/{table_id}/requests/{slow['request_id']}")
            assert looked.status_code == 200 and looked.json()["status"] == PENDING
            table.muted.clear()  # its replies get through again: the outcome is learnt
            table.muted_clients.clear()
            looked = await client.get(
                f"/v1/tables/{table_id}/requests/{slow['request_id']}?wait_s=60")
            assert looked.json()["status"] == EXECUTED
            assert msgpack.unpackb(bytes.fromhex(looked.json()["result"])) == [b"ok", 1]
            again = await client.post(f"/v1/tables/{table_id}/requests", json=batch)
        assert [r["status"] for r in again.json()["results"]] == [EXECUTED] * 4
        assert [r["request_id"] for r in again.json()["results"]] == [
            r["request_id"] for r in results]
        await settled(table)
        for key in keys:  # each executed once, the retried batch included
            assert table.apps[0].get(key) == (1).to_bytes(8, "big", signed=True)
        nursery.cancel_scope.cancel()


async def start_with_files(table: Table, index: int, files: Path, *,
                           recover: bool) -> tuple[TableShell, RequestLedger]:
    ledger = RequestLedger.open(files / "table.requests")
    shell = await table.start(index, recover=recover, request_ledger=ledger,
                              client_stamps=StampFile(files / "table.client-stamps"))
    return shell, ledger


async def test_after_a_restart_a_pending_key_resends_the_same_request_and_runs_once(
        autojump_clock: trio.abc.Clock, tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        table = Table(nursery)
        shell, ledger = await start_with_files(table, 0, tmp_path, recover=False)
        for i in range(1, 4):
            await table.start(i)
        assert msgpack.unpackb((await shell.submit(add(b"x"), key="first"))[1]) == [b"ok", 1]
        table.kill(2)
        table.kill(3)
        with pytest.raises(OutcomeUnknown) as unknown:
            await shell.submit(add(b"x"), key="k")
        request_id = unknown.value.request_id
        assert request_id is not None
        table.kill(0)  # the node stops with the request pending; its ledger is on disk
        ledger.close()
        await table.start(2, recover=True)
        await table.start(3, recover=True)
        shell, ledger = await start_with_files(table, 0, tmp_path, recover=True)
        entry = ledger.get(request_id)
        assert entry is not None and entry.status == PENDING and entry.key == "k"
        with trio.fail_after(120):  # the retry waits on the resumed request: no new one
            _, result = await shell.submit(add(b"x"), key="k")
        assert msgpack.unpackb(result) == [b"ok", 2]
        assert entry.status == EXECUTED
        await settled(table)
        assert table.apps[1].get(b"x") == (2).to_bytes(8, "big", signed=True)
        with trio.fail_after(10):  # written soon after it ended, not only before a next one
            while ledger.unwritten:
                await trio.sleep(TICK_SECONDS)
        table.kill(0)  # and once more: the outcome itself is on disk now
        ledger.close()
        shell, ledger = await start_with_files(table, 0, tmp_path, recover=True)
        assert not shell.client_of(table.signers[0].public_key).client.busy  # nothing resent
        _, again = await shell.submit(add(b"x"), key="k")
        assert again == result
        assert msgpack.unpackb((await shell.submit(add(b"x")))[1]) == [b"ok", 3]
        nursery.cancel_scope.cancel()
