"""A table id commits to the table's terms: canonical, strict, bounded, and every term counts."""

from __future__ import annotations

import hashlib

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitcraps.games.table_terms import (
    TABLE_ID_DOMAIN,
    TableTerms,
    TermsError,
    decode_terms,
)

KEYS = tuple(bytes([i + 1]) * 32 for i in range(4))
SALT = bytes(range(16))


def terms(**changes: object) -> TableTerms:
    fields: dict[str, object] = dict(game="craps", replicas=KEYS, min_bet=1, max_bet=100,
                                     seats=8, salt=SALT)
    fields.update(changes)
    return TableTerms(**fields)  # type: ignore[arg-type]


def test_the_id_is_sha256_of_the_domain_and_the_canonical_terms() -> None:
    base = terms()
    assert base.table_id == hashlib.sha256(TABLE_ID_DOMAIN + base.encode()).digest()[:16]
    assert decode_terms(base.encode()) == base
    assert (base.n, base.f) == (4, 1)


@pytest.mark.parametrize("changes", [
    {"game": "kv"}, {"replicas": tuple(reversed(KEYS))}, {"replicas": KEYS[:3]},
    {"replicas": (*KEYS[:3], bytes(32))}, {"min_bet": 2}, {"max_bet": 101}, {"seats": 9},
    {"salt": bytes(16)}, {"params": (("shooter_timeout_ticks", 100),)},
])
def test_every_term_changes_the_id(changes: dict[str, object]) -> None:
    assert terms(**changes).table_id != terms().table_id


@pytest.mark.parametrize("changes, message", [
    ({"game": ""}, "game"), ({"game": "x" * 33}, "game"), ({"game": "dés"}, "game"),
    ({"replicas": ()}, "replicas"), ({"replicas": (KEYS[0], KEYS[0])}, "distinct"),
    ({"replicas": (b"short",)}, "replicas"), ({"min_bet": -1}, "min_bet"),
    ({"min_bet": 5, "max_bet": 4}, "at most max_bet"), ({"seats": 1 << 64}, "seats"),
    ({"salt": b"x"}, "salt"), ({"params": (("b", 1), ("a", 2))}, "sorted"),
    ({"params": (("a", 1), ("a", 2))}, "sorted"), ({"params": (("a", -1),)}, "params"),
])
def test_invalid_terms_cannot_be_built(changes: dict[str, object], message: str) -> None:
    with pytest.raises(TermsError, match=message):
        terms(**changes)


def test_non_canonical_and_hostile_bytes_give_one_short_error() -> None:
    encoded = terms().encode()
    fields = msgpack.unpackb(encoded)
    wide = encoded.replace(b"\x08", b"\xcc\x08", 1)  # seats widened to a longer form
    assert msgpack.unpackb(wide) == fields
    hostile = [
        wide, encoded[:-1], encoded + b"\x00", b"", b"\x98" + b"\x91" * 1010 + b"\x01",
        b"\xdd\xff\xff\xff\xff", b"\xc6\x7f\xff\xff\xff", msgpack.packb({"a": 1}),
        msgpack.packb([1, "craps", list(KEYS), 1, 100, 8, [], SALT]),  # str, not bytes
        msgpack.packb([1, b"craps", list(KEYS), 1, 100, 8, [[b"x" * 64, 1]], SALT]),
        b"\x91" * 4000,
    ]
    for data in hostile:
        with pytest.raises(TermsError) as caught:
            decode_terms(data)
        assert len(str(caught.value)) < 120


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.binary(max_size=600))
def test_any_bytes_give_terms_or_one_error(data: bytes) -> None:
    try:
        decode_terms(data)
    except TermsError:
        pass
