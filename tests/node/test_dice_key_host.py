"""A craps host asks its table for the dice key through the log, on real shells: the f+1
signed replies it gets back are a proof that `roll verify` accepts for the table id alone."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
import trio
from shell_table import TICK_SECONDS, Table

from bitcraps.accel._ed25519_group import SodiumEd25519Group
from bitcraps.consensus import ReplicaConfig
from bitcraps.games.craps import TableConfig
from bitcraps.games.craps_app import CrapsApp
from bitcraps.games.craps_duties import CrapsDuties
from bitcraps.games.table_terms import SALT_BYTES, TableTerms
from bitcraps.node._control import ControlError
from bitcraps.node.craps_host import CrapsHost
from bitcraps.node.dice_key import verify_dice_key
from bitcraps.node.logs import get_logger

GROUP = SodiumEd25519Group()


def craps_app(config: ReplicaConfig) -> CrapsApp:
    return CrapsApp(config.table_id, config.replicas, TableConfig(), GROUP)


async def test_the_host_proves_its_tables_dice_key_with_f_plus_1_signed_replies(
        autojump_clock: trio.abc.Clock) -> None:
    async with trio.open_nursery() as nursery:
        table = Table(nursery, app_factory=craps_app)
        terms = TableTerms("craps", table.config.replicas, 5, 5_000, 8, bytes(SALT_BYTES))
        table.config = dataclasses.replace(table.config, table_id=terms.table_id)
        for i in range(4):
            await table.start(i)
        hosts = []
        for i, shell in enumerate(table.shells):
            assert shell is not None
            duties = CrapsDuties(table.apps[i], i, hashlib.sha256(b"seed %d" % i).digest(),
                                 phase_timeout_ticks=200)
            hosts.append(CrapsHost(table.apps[i], shell, duties,
                                   table.signers[i].public_key, TICK_SECONDS,
                                   get_logger("test"), terms))
        with pytest.raises(ControlError) as early:  # no duties have run: no key yet
            await hosts[0].dice_key()
        assert early.value.status == 409 and "dice_not_ready" in str(early.value)
        for host in hosts:
            await nursery.start(host.run)
        with trio.fail_after(60):
            while not all(app.dice_ready for app in table.apps):
                await trio.sleep(1)
        proof = await hosts[0].dice_key()
        verified = verify_dice_key(proof, terms.table_id, GROUP)
        assert verified.key == table.apps[0].dkg.key
        assert len(verified.signers) >= terms.f + 1
        assert await hosts[0].dice_key() is proof  # the key never changes: asked once
        nursery.cancel_scope.cancel()
