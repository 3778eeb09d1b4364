"""A griefing shooter on real shells: each replica's craps host ticks its duties, posts its
timeout vote through its own client once its ticks run out, and the table passes the dice;
a shooter who rolls in time keeps them. Virtual time (trio's autojump clock)."""

from __future__ import annotations

import hashlib

import trio
from shell_table import TICK_SECONDS, Table

from bitcraps.accel._ed25519_group import SodiumEd25519Group
from bitcraps.consensus import ReplicaConfig
from bitcraps.games.craps import Join, TableConfig
from bitcraps.games.craps_app import CrapsApp
from bitcraps.games.craps_duties import CrapsDuties
from bitcraps.games.table_terms import SALT_BYTES, TableTerms
from bitcraps.node.craps_host import CrapsHost
from bitcraps.node.logs import get_logger

TIMEOUT_TICKS = 50
RULES = TableConfig(shooter_timeout_ticks=TIMEOUT_TICKS)


def craps_app(config: ReplicaConfig) -> CrapsApp:
    return CrapsApp(config.table_id, config.replicas, RULES, SodiumEd25519Group())


def host_for(table: Table, index: int) -> CrapsHost:
    shell = table.shells[index]
    assert shell is not None
    seed = hashlib.sha256(b"shooter-timeout dkg seed %d" % index).digest()
    duties = CrapsDuties(table.apps[index], index, seed, phase_timeout_ticks=200)
    terms = TableTerms("craps", table.config.replicas, 5, 5_000, 8, bytes(SALT_BYTES))
    return CrapsHost(table.apps[index], shell, duties, table.signers[index].public_key,
                     TICK_SECONDS, get_logger("test"), terms)


async def test_the_hosts_take_the_dice_from_a_shooter_who_never_rolls(
        autojump_clock: trio.abc.Clock) -> None:
    async with trio.open_nursery() as nursery:
        table = Table(nursery, app_factory=craps_app)
        for i in range(4):
            await table.start(i)
        hosts = [host_for(table, i) for i in range(4)]
        for host in hosts:
            await nursery.start(host.run)
        app = hosts[0].app
        with trio.fail_after(120):
            while not app.dice_ready:
                await trio.sleep(0.5)
        idle, roller = hosts[0], hosts[1]
        await idle.act(Join(idle.player, 100))
        await roller.act(Join(roller.player, 100))
        assert app.state.shooter == idle.player
        started = trio.current_time()
        with trio.fail_after(60):
            while app.state.shooter != roller.player:
                await trio.sleep(TICK_SECONDS)
        waited = trio.current_time() - started
        assert waited >= TIMEOUT_TICKS * TICK_SECONDS  # no replica votes before its timeout
        assert app.state.roll_number == 0
        # the new shooter rolls in time: the roll happens, and no vote is cast against him
        rolled = await roller.roll()
        assert rolled["roll"] == 0 and roller.duty_errors == 0
        assert all(h.app.timeout_voters == frozenset() for h in hosts)
        nursery.cancel_scope.cancel()
