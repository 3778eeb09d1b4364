"""A craps table's duty loop and player on real shells: a duty that cannot commit, or a round
that fails, never ends the loop (nor the daemon it runs in)."""

from __future__ import annotations

import hashlib

import pytest
import trio
from shell_table import TICK_SECONDS, Table
from structlog.testing import capture_logs

from bitcraps.accel._ed25519_group import SodiumEd25519Group
from bitcraps.consensus import ReplicaConfig
from bitcraps.games.craps import Join, TableConfig
from bitcraps.games.craps_app import CrapsApp
from bitcraps.games.craps_duties import CrapsDuties
from bitcraps.games.table_terms import SALT_BYTES, TableTerms
from bitcraps.node._control import ControlError
from bitcraps.node.craps_host import DUTY_WAIT_S, CrapsHost
from bitcraps.node.logs import get_logger

SEED = hashlib.sha256(b"craps-host dkg seed").digest()


def craps_app(config: ReplicaConfig) -> CrapsApp:
    return CrapsApp(config.table_id, config.replicas, TableConfig(), SodiumEd25519Group())


class FailingDuties(CrapsDuties):
    """Duties whose first rounds fail, as a decoder bug or a hostile log entry might."""

    failures = 3

    def due(self) -> list[bytes]:
        if self.failures:
            self.failures -= 1
            raise RecursionError("maximum recursion depth exceeded")
        return super().due()


def host_for(table: Table, index: int, duties_type: type[CrapsDuties] = CrapsDuties
             ) -> CrapsHost:
    shell = table.shells[index]
    assert shell is not None
    app = table.apps[index]
    duties = duties_type(app, index, SEED, phase_timeout_ticks=200)
    terms = TableTerms("craps", table.config.replicas, 5, 5_000, 8, bytes(SALT_BYTES))
    return CrapsHost(app, shell, duties, table.signers[index].public_key, TICK_SECONDS,
                     get_logger("test"), terms)


async def test_a_duty_that_cannot_commit_is_waited_on_not_resent(
        autojump_clock: trio.abc.Clock) -> None:
    """Two of four replicas down: the first DKG duty cannot commit. The loop keeps waiting on
    that same request (retransmitted by the shell) instead of submitting again on a busy
    client, which raised out of `run` and ended the daemon; the player gets 503 meanwhile."""
    async with trio.open_nursery() as nursery:
        table = Table(nursery, app_factory=craps_app)
        for i in range(4):
            await table.start(i)
        table.kill(2)
        table.kill(3)
        host = host_for(table, 0)
        with capture_logs() as logs:
            await nursery.start(host.run)
            await trio.sleep(3 * DUTY_WAIT_S)
            with pytest.raises(ControlError) as refused:
                await host.act(Join(host.player, 100))
        assert refused.value.status == 503
        assert host.duty_errors == 0 and host.duties_posted == 0
        still = [entry for entry in logs if "still retransmitting" in entry["event"]]
        assert len(still) >= 3
        own = host.shell.client_of(host.player)
        assert own is not None and own.client.busy and own.client.retransmissions > 100
        await table.start(2, recover=True)
        await table.start(3, recover=True)
        with trio.fail_after(120):
            while host.duties_posted == 0:
                await trio.sleep(1)
        nursery.cancel_scope.cancel()


async def test_a_failing_round_is_counted_logged_and_survived(
        autojump_clock: trio.abc.Clock) -> None:
    async with trio.open_nursery() as nursery:
        table = Table(nursery, app_factory=craps_app)
        for i in range(4):
            await table.start(i)
        host = host_for(table, 0, FailingDuties)
        with capture_logs() as logs:
            await nursery.start(host.run)
            with trio.fail_after(60):
                while host.duties_posted == 0:
                    await trio.sleep(1)
        assert host.duty_errors == 3
        failed = [entry for entry in logs if entry["event"].startswith("craps duty failed")]
        assert [entry["errors"] for entry in failed] == [1, 2]  # the 1st, 2nd, 4th, 8th...
        assert failed[0]["error_type"] == "RecursionError"
        nursery.cancel_scope.cancel()
