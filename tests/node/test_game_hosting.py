"""The craps application a node builds for a table takes every rule from the table's terms,
the shooter's timeout included, so all replicas of a table run the same rules."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from bitcraps.accel.physics import PythonPhysics
from bitcraps.consensus import ReplicaConfig
from bitcraps.games.craps import DEFAULT_SHOOTER_TIMEOUT_TICKS, MAX_SHOOTER_TIMEOUT_TICKS
from bitcraps.games.craps_app import CrapsApp
from bitcraps.games.table_terms import TableTerms
from bitcraps.node.config import TableSection
from bitcraps.node.game_hosting import craps_rules, make_application

KEYS = tuple(hashlib.sha256(b"replica %d" % i).digest() for i in range(4))
SALT = bytes(range(16))


def section() -> TableSection:
    terms = TableTerms("craps", KEYS, 5, 500, 6, SALT)
    return TableSection(table_id=terms.table_id.hex(), salt=SALT.hex(), game="craps",
                        replicas=tuple(k.hex() for k in KEYS), min_bet=5, max_bet=500,
                        seats=6)


def build(table: TableSection) -> CrapsApp:
    config = ReplicaConfig(table.table_id_bytes, table.replica_keys)
    app = make_application(table, config, PythonPhysics())
    assert isinstance(app, CrapsApp)
    return app


def test_the_rules_come_from_the_terms_with_the_default_shooter_timeout() -> None:
    rules = build(section()).config
    assert (rules.min_bet, rules.max_bet, rules.max_players) == (5, 500, 6)
    assert rules.shooter_timeout_ticks == DEFAULT_SHOOTER_TIMEOUT_TICKS == 1_200


def test_a_shooter_timeout_in_the_terms_is_used_and_kept_in_range() -> None:
    terms = section().terms
    for given, used in [(300, 300), (0, 1), (2**63, MAX_SHOOTER_TIMEOUT_TICKS)]:
        with_timeout = replace(terms, params=(("shooter_timeout_ticks", given),))
        assert craps_rules(with_timeout).shooter_timeout_ticks == used
    assert craps_rules(terms) == build(section()).config
