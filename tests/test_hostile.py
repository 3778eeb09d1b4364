"""The hostile-msgpack engine: deterministic per seed, and it makes what it promises."""

from __future__ import annotations

import random

import msgpack

from bitcraps.consensus.sim import (
    Rng,
    deep_nesting,
    hostile_msgpack,
    list_bomb,
    mutate_bytes,
    mutate_msgpack,
)
from bitcraps.consensus.sim._hostile import encode

VALID = msgpack.packb([1, 2, b"\x00" * 16, b"k" * 32, [5, b"op"], b"s" * 64], use_bin_type=True)


def _stream(rng: object, count: int) -> list[bytes]:
    out = []
    for _ in range(count):
        out.append(hostile_msgpack(rng))  # type: ignore[arg-type]
        out.append(mutate_msgpack(rng, VALID))  # type: ignore[arg-type]
    return out


def test_same_seed_same_inputs_for_both_generator_kinds() -> None:
    assert _stream(Rng(7), 200) == _stream(Rng(7), 200)
    assert _stream(random.Random(7), 200) == _stream(random.Random(7), 200)
    assert _stream(Rng(7), 50) != _stream(Rng(8), 50)


def test_mutations_mostly_change_the_input_and_stay_bytes() -> None:
    rng = random.Random(1)
    outputs = [mutate_msgpack(rng, VALID) for _ in range(500)]
    assert all(type(out) is bytes for out in outputs)
    assert sum(out != VALID for out in outputs) > 450
    assert all(type(mutate_bytes(rng, VALID)) is bytes for _ in range(100))


def test_encode_is_canonical_unless_asked_to_widen() -> None:
    for obj in ([1, b"ab", [2**64 - 1, None, True, []]], b"x" * 300, list(range(20)), -5):
        assert encode(obj) == msgpack.packb(obj, use_bin_type=True)
    rng = random.Random(3)
    wide = {encode([5, b"ab"], rng, 1.0) for _ in range(50)}
    assert any(msgpack.unpackb(w) == [5, b"ab"] and w != encode([5, b"ab"]) for w in wide)


def test_deep_nesting_and_list_bomb_have_their_shapes() -> None:
    rng = random.Random(0)
    assert deep_nesting(rng, 1010).count(b"\x91") >= 1010 or len(deep_nesting(rng, 1010)) > 1010
    bomb = list_bomb(rng)
    assert len(bomb) <= 1 << 20
    assert bomb[:1] == b"\xdc"
