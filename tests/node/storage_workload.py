"""Deterministic batches of real, signed records for the storage tests (also run in a child)."""

from __future__ import annotations

from bitcraps.consensus import Checkpoint, Commit, NewView, Prepare, Record, ViewChange, ViewState
from test_durable import committed, latest_new_view, own, prepared, stable


def batch(i: int) -> list[Record]:
    """Batch ``i``: a few records per slot, a checkpoint every fifth batch (with a big snapshot)."""
    records: list[Record] = [
        committed(i + 1),
        prepared(i + 2),
        own(Prepare(i // 7, i + 2, bytes([i % 256]) * 32)),
        own(Commit(i // 7, i + 1, bytes([i % 256]) * 32)),
        ViewState(i // 7, i % 2),
    ]
    if i % 5 == 4:
        records.append(own(Checkpoint(i, b"c" * 32)))
        records.append(stable(i - 2, bytes([i % 256]) * 65_536))
    if i % 7 == 6:
        records.append(own(ViewChange(i // 7 + 1, 0, (), ())))
        records.append(own(NewView(i // 7 + 1, (), ())))
        records.append(latest_new_view(i // 7 + 1))
    return records
