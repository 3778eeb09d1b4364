"""The games a node hosts: each table's replicated application, and a craps table's host.

Every replica of a table must build the same application from the same table section: the
craps rules come from the table's terms only (the limits, seats, and the shooter's timeout:
the terms' `shooter_timeout_ticks` parameter, or the default of 60 s at the default tick).
A new table's creator sets that timeout in seconds (`shooter_timeout_params`): converted at
its own consensus tick, rounded up, into the terms, which count in ticks.
The dice physics' final-state hash of each roll is part of the executed result
(`CrapsApp.throw_hash`), computed on the backend the node selected at start; all backends
give bit-identical throws, so replicas agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio

from bitcraps.consensus import Application, KeyValueApp, ReplicaConfig
from bitcraps.games.craps import (
    DEFAULT_SHOOTER_TIMEOUT_TICKS,
    MAX_SHOOTER_TIMEOUT_TICKS,
    TableConfig,
)
from bitcraps.games.craps_app import CrapsApp
from bitcraps.games.craps_duties import CrapsDuties
from bitcraps.games.table_terms import SHOOTER_TIMEOUT_PARAM, TableTerms

from ._control import ControlError
from .config import TableSection
from .craps_host import PHASE_TIMEOUT_S, CrapsHost, load_or_create_dkg_seed
from .table_shell import TableShell

__all__ = ["GAMES", "MAX_SHOOTER_TIMEOUT_S", "craps_rules", "host_craps", "make_application",
           "shooter_timeout_params"]

GAMES = ("kv", "craps")
MAX_SHOOTER_TIMEOUT_S = 86_400  # a day: what `table create --shooter-timeout-s` accepts


def make_application(section: TableSection, config: ReplicaConfig,
                     physics: Any) -> Application:
    """A fresh application for the table; `physics` is an accel.physics backend."""
    if section.game == "kv":
        return KeyValueApp()
    from bitcraps.accel._ed25519_group import SodiumEd25519Group
    from bitcraps.accel.physics import throw_dice

    def throw_hash(seed: bytes, dice: tuple[int, int]) -> bytes:
        return bytes(throw_dice(seed, dice, physics).final_state_hash)

    return CrapsApp(config.table_id, config.replicas, craps_rules(section.terms),
                    SodiumEd25519Group(), throw_hash=throw_hash)


def craps_rules(terms: TableTerms) -> TableConfig:
    """A craps table's rules from its terms, the same on every replica."""
    timeout = terms.param(SHOOTER_TIMEOUT_PARAM, DEFAULT_SHOOTER_TIMEOUT_TICKS)
    return TableConfig(min_bet=max(1, terms.min_bet), max_bet=terms.max_bet,
                       max_players=max(1, terms.seats),
                       shooter_timeout_ticks=min(max(1, timeout), MAX_SHOOTER_TIMEOUT_TICKS))


def shooter_timeout_params(seconds: int | None, tick_ms: int) -> tuple[tuple[str, int], ...]:
    """The terms' parameters for a shooter timeout of `seconds` at a tick of `tick_ms` (none
    when unset); ControlError (400) when it is out of range or more ticks than a table counts."""
    if seconds is None:
        return ()
    if type(seconds) is not int or not 1 <= seconds <= MAX_SHOOTER_TIMEOUT_S:
        raise ControlError(f"the shooter timeout is 1..{MAX_SHOOTER_TIMEOUT_S} seconds", 400)
    ticks = -(-seconds * 1000 // tick_ms)  # rounded up: never shorter than asked
    if ticks > MAX_SHOOTER_TIMEOUT_TICKS:
        raise ControlError(f"a shooter timeout of {seconds} s is {ticks} ticks of {tick_ms} ms, "
                           f"above the most a table counts ({MAX_SHOOTER_TIMEOUT_TICKS})", 400)
    return ((SHOOTER_TIMEOUT_PARAM, ticks),)


async def host_craps(app: CrapsApp, shell: TableShell, replica: int, seed_path: Path,
                     player: bytes, tick_seconds: float, log: Any,
                     terms: TableTerms) -> CrapsHost:
    """This replica's duties at the table (its DKG seed read or drawn first) and the player
    this node is."""
    seed = await trio.to_thread.run_sync(load_or_create_dkg_seed, seed_path)
    timeout_ticks = max(1, int(PHASE_TIMEOUT_S / tick_seconds))
    duties = CrapsDuties(app, replica, seed, phase_timeout_ticks=timeout_ticks)
    return CrapsHost(app, shell, duties, player, tick_seconds, log, terms)
