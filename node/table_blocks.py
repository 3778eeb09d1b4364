"""New tables' terms, and the ``[[tables]]`` block of node.toml that hosts one.

A table's id derives from its terms (`bitcraps.games.table_terms`), so whoever writes a
``[[tables]]`` block (the clusters, the demos, the tests, an operator's script) draws a salt,
builds the terms and writes the id they give. `load_config` refuses a block whose id does not
match its terms.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from bitcraps.games.table_terms import SALT_BYTES, SHOOTER_TIMEOUT_PARAM, TableTerms

__all__ = ["new_terms", "table_block"]


def new_terms(game: str, replicas: Sequence[bytes], *, min_bet: int = 1, max_bet: int = 1000,
              seats: int = 8, salt: bytes | None = None,
              shooter_timeout_ticks: int | None = None) -> TableTerms:
    """Terms for a new table, with a fresh random salt unless one is given."""
    params = () if shooter_timeout_ticks is None else (
        (SHOOTER_TIMEOUT_PARAM, shooter_timeout_ticks),)
    return TableTerms(game, tuple(replicas), min_bet, max_bet, seats,
                      os.urandom(SALT_BYTES) if salt is None else salt, params)


def table_block(terms: TableTerms, addresses: Mapping[bytes, str] | None = None) -> str:
    """The ``[[tables]]`` TOML block of a table with these terms (and replica addresses)."""
    replicas = ", ".join(f'"{key.hex()}"' for key in terms.replicas)
    block = (f'\n[[tables]]\ntable_id = "{terms.table_id.hex()}"\nsalt = "{terms.salt.hex()}"\n'
             f'game = "{terms.game}"\nreplicas = [{replicas}]\nmin_bet = {terms.min_bet}\n'
             f'max_bet = {terms.max_bet}\nseats = {terms.seats}\n')
    unknown = [name for name, _ in terms.params if name != SHOOTER_TIMEOUT_PARAM]
    if unknown:
        raise ValueError("a [[tables]] block carries no parameter but shooter_timeout_ticks")
    for name, value in terms.params:
        block += f"{name} = {value}\n"
    if addresses:
        lines = "".join(f'"{key.hex()}" = "{address}"\n' for key, address in addresses.items())
        block += f"\n[tables.replica_addresses]\n{lines}"
    return block
