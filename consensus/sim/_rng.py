"""A seeded pseudo-random generator for the simulator: xoshiro256** seeded by splitmix64.

The consensus package may not import `random`; this generator is small, fast enough, and
gives the same stream on every platform and Python version, so a seed replays a run exactly.
`fork(label)` derives an independent stream by name, so adding a consumer of randomness in
one part of the simulator does not shift the numbers another part sees.
"""

from __future__ import annotations

import hashlib
from collections.abc import MutableSequence, Sequence
from typing import TypeVar

T = TypeVar("T")

MASK64 = (1 << 64) - 1


def _splitmix64(state: int) -> tuple[int, int]:
    state = (state + 0x9E3779B97F4A7C15) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


def _rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (64 - k))) & MASK64


def seed_bytes(seed: int | bytes | str) -> bytes:
    if isinstance(seed, int):
        return seed.to_bytes(16, "big", signed=True)
    if isinstance(seed, str):
        return seed.encode()
    return bytes(seed)


class Rng:
    """xoshiro256**: 256 bits of state, period 2**256 - 1."""

    def __init__(self, seed: int | bytes | str) -> None:
        self._seed = seed_bytes(seed)
        state = int.from_bytes(hashlib.sha256(b"bitcraps/sim/rng\x00" + self._seed).digest()[:8])
        words = []
        for _ in range(4):
            state, word = _splitmix64(state)
            words.append(word)
        self._s = words

    def fork(self, label: str) -> Rng:
        """An independent generator named by `label`, unaffected by this one's use."""
        return Rng(self._seed + b"/" + label.encode())

    def next_u64(self) -> int:
        s = self._s
        result = (_rotl((s[1] * 5) & MASK64, 7) * 9) & MASK64
        t = (s[1] << 17) & MASK64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = _rotl(s[3], 45)
        return result

    def below(self, bound: int) -> int:
        """Uniform in [0, bound), without modulo bias."""
        if bound <= 0:
            raise ValueError("bound must be positive")
        if bound == 1:
            return 0
        bits = (bound - 1).bit_length()
        while True:
            value = self._bits(bits)
            if value < bound:
                return value

    def _bits(self, bits: int) -> int:
        value, have = 0, 0
        while have < bits:
            value = (value << 64) | self.next_u64()
            have += 64
        return value >> (have - bits)

    def randrange(self, start: int, stop: int | None = None) -> int:
        """Like random.randrange(start, stop) with step 1."""
        if stop is None:
            start, stop = 0, start
        if stop <= start:
            raise ValueError(f"empty range [{start}, {stop})")
        return start + self.below(stop - start)

    def randint(self, low: int, high: int) -> int:
        """Uniform in [low, high], both ends included."""
        return self.randrange(low, high + 1)

    def random(self) -> float:
        """A fraction in [0, 1) with 53 random bits."""
        return (self.next_u64() >> 11) * (1.0 / (1 << 53))

    def chance(self, probability: float) -> bool:
        return probability > 0 and self.random() < probability

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.random()

    def choice(self, items: Sequence[T]) -> T:
        if not items:
            raise IndexError("choice from an empty sequence")
        return items[self.below(len(items))]

    def shuffle(self, items: MutableSequence[T]) -> None:
        """Fisher-Yates, in place."""
        for i in range(len(items) - 1, 0, -1):
            j = self.below(i + 1)
            items[i], items[j] = items[j], items[i]

    def sample(self, items: Sequence[T], count: int) -> list[T]:
        """`count` distinct items, in random order."""
        if not 0 <= count <= len(items):
            raise ValueError("sample larger than the population")
        pool = list(items)
        for i in range(count):
            j = i + self.below(len(pool) - i)
            pool[i], pool[j] = pool[j], pool[i]
        return pool[:count]

    def token_bytes(self, size: int) -> bytes:
        words = (size + 7) // 8
        data = b"".join(self.next_u64().to_bytes(8, "little") for _ in range(words))
        return data[:size]
