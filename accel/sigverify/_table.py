"""The base-point table, computed on the host once: entry (k, j) = j * 256^k * B.

Each entry is affine "niels" form (y + x, y - x, 2dxy), three field elements of ten
canonical limbs, 30 words; rows k = 0..31, columns j = 1..8, row-major.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from . import _curve

ROWS = 32
COLUMNS = 8
WORDS_PER_ENTRY = 30


def _niels_limbs(point: _curve.Point) -> list[int]:
    x, y = _curve.affine(point)
    p = _curve.P
    return (_curve.to_limbs((y + x) % p) + _curve.to_limbs((y - x) % p)
            + _curve.to_limbs(2 * _curve.D * x * y % p))


@cache
def base_table() -> np.ndarray:
    """The table as one read-only uint32 array of ROWS * COLUMNS * WORDS_PER_ENTRY words."""
    words: list[int] = []
    row_base = _curve.BASE
    for _ in range(ROWS):
        multiple = row_base
        for _ in range(COLUMNS):
            words.extend(_niels_limbs(multiple))
            multiple = _curve.add(multiple, row_base)
        for _ in range(8):
            row_base = _curve.add(row_base, row_base)
    table = np.array(words, dtype=np.uint32)
    table.setflags(write=False)
    return table
