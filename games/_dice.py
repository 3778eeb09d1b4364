"""Two die faces from a roll's seed, exactly uniform by rejection sampling.

The byte stream is the concatenation of blocks SHA-512(DICE_STREAM, seed, k) for
k = 0, 1, 2, ... (k as 4 bytes big-endian, parts framed as in `tagged_hash`). Bytes are read
in order; a byte b < 252 is accepted and gives the face b % 6 + 1, a byte of 252..255 is
skipped. The first accepted byte is the first die, the second the second die. Since 252 is
a multiple of 6, each accepted byte is uniform over the six faces; a byte is skipped with
probability 4/256, so one 64-byte block almost always suffices.
"""

from __future__ import annotations

from collections.abc import Iterator

from ._coin_hash import DICE_STREAM, tagged_hash

FACES = 6
ACCEPT_BELOW = 256 - 256 % FACES
MAX_BLOCKS = 2**32


def dice_byte_stream(seed: bytes) -> Iterator[int]:
    """The seed's byte stream, block after block."""
    for block in range(MAX_BLOCKS):
        yield from tagged_hash(DICE_STREAM, seed, block.to_bytes(4, "big"))


def dice_from_seed(seed: bytes) -> tuple[int, int]:
    """The two faces (each 1..6) that the seed rolls."""
    if type(seed) is not bytes or not seed:
        raise ValueError("a dice seed is a non-empty byte string")
    faces: list[int] = []
    for byte in dice_byte_stream(seed):
        if byte < ACCEPT_BELOW:
            faces.append(byte % FACES + 1)
            if len(faces) == 2:
                return faces[0], faces[1]
    raise ValueError("the dice byte stream ran out")  # after 2**32 blocks: never in practice
