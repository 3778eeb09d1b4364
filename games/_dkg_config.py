"""Who takes part in a table's DKG, its thresholds, and its phases.

n replicas tolerate f = (n - 1) // 3 Byzantine ones; the key is shared (f+1)-of-n. Each
phase closes, at one position of the ordered log that every replica sees alike, either when
every expected replica has posted its message for it, or when f+1 replicas have voted to
close it (so at least one honest replica timed out) and enough replicas have posted for the
protocol to stay live and secret:

| phase      | each expected replica posts  | closes early with f+1 votes once       |
|------------|------------------------------|----------------------------------------|
| KEYS       | DkgKey (all n)               | n - f keys are in                      |
| DEALINGS   | DkgDealing (the key holders) | f + 1 dealings are in (one is honest)  |
| COMPLAINTS | DkgComplaints (key holders)  | all key holders but f have posted      |
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ._coin_key import MAX_REPLICAS, check_table_id


class Phase(enum.IntEnum):
    KEYS = 0
    DEALINGS = 1
    COMPLAINTS = 2
    COMPLETE = 3
    FAILED = 4


OPEN_PHASES = (Phase.KEYS, Phase.DEALINGS, Phase.COMPLAINTS)


@dataclass(frozen=True, slots=True)
class DkgConfig:
    table_id: bytes
    replicas: int

    def __post_init__(self) -> None:
        check_table_id(self.table_id)
        if type(self.replicas) is not int or not 1 <= self.replicas <= MAX_REPLICAS:
            raise ValueError(f"a DKG has 1..{MAX_REPLICAS} replicas")

    @property
    def f(self) -> int:
        return (self.replicas - 1) // 3

    @property
    def threshold(self) -> int:
        """Shares needed for a coin: f+1, so f colluding replicas learn nothing."""
        return self.f + 1

    @property
    def close_votes(self) -> int:
        return self.f + 1

    @property
    def min_key_holders(self) -> int:
        return self.replicas - self.f

    @property
    def min_dealings(self) -> int:
        return self.f + 1

    def min_complainers(self, holders: int) -> int:
        return holders - self.f
