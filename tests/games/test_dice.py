"""Dice from a seed: the documented byte stream, the rejection rule, and uniformity.

The seeds are fixed (SHA-256 of a counter), so the chi-square statistics are fixed numbers;
a failure prints them.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from itertools import islice
from typing import Any

import pytest

from bitcraps.games._coin import dice_from_seed
from bitcraps.games._coin_hash import DICE_STREAM
from bitcraps.games._dice import ACCEPT_BELOW, FACES, dice_byte_stream

SEEDS = [hashlib.sha256(b"dice seed %d" % i).digest() for i in range(36_000)]
# Chi-square critical values at p = 0.001: 5 and 35 degrees of freedom.
CRITICAL_5_DOF = 20.52
CRITICAL_35_DOF = 66.62


def documented_stream(seed: bytes, blocks: int) -> bytes:
    """docs/fair-dice.md's stream, written out with hashlib alone."""
    out = b""
    for block in range(blocks):
        counter = block.to_bytes(4, "big")
        out += hashlib.sha512(
            DICE_STREAM
            + len(seed).to_bytes(4, "big")
            + seed
            + len(counter).to_bytes(4, "big")
            + counter
        ).digest()
    return out


def documented_dice(seed: bytes) -> tuple[int, int]:
    accepted = [b % 6 + 1 for b in documented_stream(seed, 4) if b < 252]
    return accepted[0], accepted[1]


def chi_square(counts: Counter[Any], cells: Sequence[Any]) -> float:
    expected = sum(counts.values()) / len(cells)
    return sum((counts[cell] - expected) ** 2 / expected for cell in cells)


def test_each_accepted_byte_value_maps_to_each_face_equally_often() -> None:
    assert ACCEPT_BELOW == 252
    faces = Counter(b % FACES + 1 for b in range(ACCEPT_BELOW))
    assert faces == {face: 42 for face in range(1, 7)}


def test_the_stream_is_the_documented_one() -> None:
    for seed in SEEDS[:200]:
        assert bytes(islice(dice_byte_stream(seed), 192)) == documented_stream(seed, 3)
        assert dice_from_seed(seed) == documented_dice(seed)


def test_bytes_from_252_up_are_skipped() -> None:
    skipping = [s for s in SEEDS[:3000] if next(dice_byte_stream(s)) >= ACCEPT_BELOW]
    assert skipping, "no seed among the first 3000 starts with a rejected byte"
    for seed in skipping:
        stream = list(islice(dice_byte_stream(seed), 64))
        accepted = [b for b in stream if b < ACCEPT_BELOW]
        assert dice_from_seed(seed) == (accepted[0] % 6 + 1, accepted[1] % 6 + 1)


def test_dice_are_uniform_over_fixed_seeds() -> None:
    rolls = [dice_from_seed(seed) for seed in SEEDS]
    pairs = Counter(rolls)
    first = Counter(a for a, _ in rolls)
    second = Counter(b for _, b in rolls)
    faces = list(range(1, 7))
    all_pairs = [(a, b) for a in faces for b in faces]
    statistics = {
        "pairs": chi_square(pairs, all_pairs),
        "first die": chi_square(first, faces),
        "second die": chi_square(second, faces),
    }
    print("chi-square over", len(SEEDS), "fixed seeds:", statistics)
    assert statistics["pairs"] < CRITICAL_35_DOF, statistics
    assert statistics["first die"] < CRITICAL_5_DOF, statistics
    assert statistics["second die"] < CRITICAL_5_DOF, statistics
    sums = Counter(a + b for a, b in rolls)
    assert abs(sums[7] / len(rolls) - 6 / 36) < 0.01


def test_a_seed_must_be_bytes() -> None:
    with pytest.raises(ValueError, match="non-empty byte string"):
        dice_from_seed(b"")
    with pytest.raises(ValueError, match="non-empty byte string"):
        dice_from_seed("seed")  # type: ignore[arg-type]
