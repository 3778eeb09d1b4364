"""A throw's initial conditions from its 32-byte seed (docs/dice-physics.md, "From seed to throw").

Done once on the host, in Python, for every backend: the three implementations only ever
see the resulting integer state.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from math import isqrt

from bitcraps.accel.physics._constants import ONE, STATE_WORDS, STEPS_PER_SECOND
from bitcraps.accel.physics._fixed import div, mul, shr_round

__all__ = ["SEED_BYTES", "SeedError", "initial_state"]

SEED_BYTES = 32
STREAM_DOMAIN = b"bitcraps/dice-throw/v1"
ORIENTATION_ATTEMPTS = 64

MM = ONE
MM_PER_S = ONE // STEPS_PER_SECOND  # 1 mm/s in mm/step, Q16 (exactly 256)
RAD_PER_S = ONE // STEPS_PER_SECOND


class SeedError(ValueError):
    """A seed that is not exactly 32 bytes."""


class _WordStream:
    """Big-endian u32 words of SHA-512(domain || seed || counter_be32) for counter = 0, 1, ..."""

    def __init__(self, seed: bytes) -> None:
        self._words = self._generate(seed)

    @staticmethod
    def _generate(seed: bytes) -> Iterator[int]:
        counter = 0
        while True:
            block = hashlib.sha512(STREAM_DOMAIN + seed + counter.to_bytes(4, "big")).digest()
            for offset in range(0, 64, 4):
                yield int.from_bytes(block[offset:offset + 4], "big")
            counter += 1

    def uniform(self, low: int, high: int) -> int:
        """An integer in [low, high]: low + floor(word * (high - low + 1) / 2**32)."""
        return low + ((next(self._words) * (high - low + 1)) >> 32)


def initial_state(seed: bytes) -> tuple[int, ...]:
    """The STATE_WORDS-word initial state of the throw this seed names."""
    if not isinstance(seed, bytes) or len(seed) != SEED_BYTES:
        raise SeedError(f"a throw seed is {SEED_BYTES} bytes")
    stream = _WordStream(seed)
    x0 = stream.uniform(-170 * MM, -130 * MM)
    y0 = stream.uniform(-100 * MM, 60 * MM)
    positions = [
        (x0, y0, stream.uniform(40 * MM, 100 * MM)),
        (x0 + stream.uniform(-12 * MM, 12 * MM), y0 + stream.uniform(24 * MM, 40 * MM),
         stream.uniform(40 * MM, 100 * MM)),
    ]
    base = (stream.uniform(1000 * MM_PER_S, 2200 * MM_PER_S),
            stream.uniform(-350 * MM_PER_S, 350 * MM_PER_S),
            stream.uniform(-200 * MM_PER_S, 400 * MM_PER_S))
    state: list[int] = []
    for position in positions:
        orientation = _orientation(stream)
        velocity = [b + stream.uniform(-100 * MM_PER_S, 100 * MM_PER_S) for b in base]
        spin = [stream.uniform(-35 * RAD_PER_S, 35 * RAD_PER_S) for _ in range(3)]
        state += [*position, *orientation, *velocity, *spin]
    assert len(state) == STATE_WORDS
    return tuple(state)


def _orientation(stream: _WordStream) -> tuple[int, int, int, int]:
    """A uniformly random unit quaternion: rejection sampling in the 4-ball, then normalized."""
    for _ in range(ORIENTATION_ATTEMPTS):
        q = [stream.uniform(-ONE, ONE) for _ in range(4)]
        norm2 = sum(c * c for c in q)  # Q32
        if ONE * ONE // 16 <= norm2 <= ONE * ONE:
            norm = isqrt(norm2)  # Q16
            unit = [div(c, norm) for c in q]
            return _renormalized(unit)
    return (ONE, 0, 0, 0)


def _renormalized(q: list[int]) -> tuple[int, int, int, int]:
    norm2 = sum(mul(c, c) for c in q)
    factor = shr_round(3 * ONE - norm2, 1)
    w, x, y, z = (mul(c, factor) for c in q)
    return (w, x, y, z)
