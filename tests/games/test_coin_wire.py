"""Strict decoding of every fair-dice record: any bytes give a record or one WireDecodeError,
every record has one encoding, and no decodable garbage crashes the DKG state machine.

Hypothesis runs derandomized (tests/conftest.py's "ci" profile), so examples are fixed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitcraps.accel._ed25519_group import SodiumEd25519Group
from bitcraps.games._coin import (
    CoinRound,
    DkgClose,
    DkgConfig,
    DkgDealing,
    DkgState,
    Phase,
    ThresholdKey,
    WireDecodeError,
    decode_coin_share,
    decode_dkg_message,
    decode_roll_record,
    decode_threshold_key,
    decode_transcript,
    encode_coin_share,
    encode_dkg_message,
    encode_roll_record,
    encode_threshold_key,
    encode_transcript,
    make_coin_share,
    simulate_dkg,
)

GROUP = SodiumEd25519Group()
TABLE = b"wire-test-table!"
CONFIG = DkgConfig(TABLE, 4)
RUN = simulate_dkg(
    GROUP, CONFIG, [hashlib.sha256(b"wire%d" % i).digest() for i in range(4)], {3: "bad-share"}
)
KEY = RUN.states[0].key
SECRETS = {i: RUN.participants[i].secret_share(RUN.states[i]) for i in (0, 1, 2)}
SHARES = [make_coin_share(GROUP, KEY, 5, i, x) for i, x in SECRETS.items()]
_round = CoinRound(GROUP, KEY, 5)
for _share in SHARES:
    _round.add(_share)
RECORD = _round.record
TRANSCRIPT = RUN.states[0].transcript

DECODERS: dict[str, Callable[[bytes], Any]] = {
    "dkg message": decode_dkg_message,
    "coin share": decode_coin_share,
    "roll record": decode_roll_record,
    "threshold key": lambda data: decode_threshold_key(data, GROUP),
    "transcript": decode_transcript,
}
ENCODERS: dict[str, Callable[[Any], bytes]] = {
    "dkg message": encode_dkg_message,
    "coin share": encode_coin_share,
    "roll record": encode_roll_record,
    "threshold key": encode_threshold_key,
    "transcript": encode_transcript,
}
SAMPLES: list[tuple[str, bytes]] = [
    *(("dkg message", encode_dkg_message(m)) for _, m in TRANSCRIPT),
    *(("coin share", encode_coin_share(s)) for s in SHARES),
    ("roll record", encode_roll_record(RECORD)),
    ("threshold key", encode_threshold_key(KEY)),
    ("transcript", encode_transcript(TRANSCRIPT)),
]


def decode_or_error(kind: str, data: bytes) -> Any:
    try:
        return DECODERS[kind](data)
    except WireDecodeError:
        return None


def test_every_kind_of_dkg_message_is_sampled() -> None:
    kinds = {type(m).__name__ for _, m in TRANSCRIPT}
    assert kinds == {"DkgKey", "DkgDealing", "DkgComplaints"}
    assert any(m.complaints for _, m in TRANSCRIPT if type(m).__name__ == "DkgComplaints")


@pytest.mark.parametrize(
    ("kind", "data"), SAMPLES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(SAMPLES)]
)
def test_records_round_trip(kind: str, data: bytes) -> None:
    value = DECODERS[kind](data)
    assert ENCODERS[kind](value) == data


def test_close_votes_round_trip() -> None:
    for phase in (Phase.KEYS, Phase.DEALINGS, Phase.COMPLAINTS):
        vote = DkgClose(2, phase)
        assert decode_dkg_message(encode_dkg_message(vote)) == vote


@settings(max_examples=300)
@given(st.sampled_from(sorted(DECODERS)), st.binary(max_size=400))
def test_any_bytes_give_a_record_or_a_decode_error(kind: str, data: bytes) -> None:
    value = decode_or_error(kind, data)
    if value is not None:
        assert ENCODERS[kind](value) == data


wire_values = st.recursive(
    st.integers(min_value=-(2**63), max_value=2**64 - 1) | st.binary(max_size=40),
    lambda inner: st.lists(inner, max_size=8),
    max_leaves=30,
)


@settings(max_examples=300)
@given(st.sampled_from(sorted(DECODERS)), st.integers(0, 40), wire_values)
def test_well_formed_msgpack_of_any_shape_is_handled(kind: str, code: int, body: Any) -> None:
    for obj in ([1, code, *body] if isinstance(body, list) else [1, code, body], body):
        data = msgpack.packb(obj, use_bin_type=True)
        value = decode_or_error(kind, data)
        if value is not None:
            assert ENCODERS[kind](value) == data


@settings(max_examples=300)
@given(
    st.sampled_from(range(len(SAMPLES))),
    st.integers(0, 10_000),
    st.integers(1, 255),
    st.sampled_from(["flip", "truncate", "append"]),
)
def test_mutated_records_are_rejected_or_canonical(
    index: int, where: int, value: int, how: str
) -> None:
    kind, data = SAMPLES[index]
    at = where % len(data)
    mutated = {
        "flip": data[:at] + bytes([data[at] ^ value]) + data[at + 1 :],
        "truncate": data[:at],
        "append": data + bytes([value]),
    }[how]
    decoded = decode_or_error(kind, mutated)
    if decoded is not None:
        assert ENCODERS[kind](decoded) == mutated


PHASE_STATES: dict[Phase, list[tuple[int, Any]]] = {}
for _position, (_sender, _message) in enumerate(TRANSCRIPT):
    _phase = {"DkgKey": Phase.KEYS, "DkgDealing": Phase.DEALINGS}.get(
        type(_message).__name__, Phase.COMPLAINTS
    )
    PHASE_STATES.setdefault(_phase, list(TRANSCRIPT[:_position]))


@settings(max_examples=150)
@given(
    st.sampled_from(range(len(TRANSCRIPT))),
    st.integers(0, 10_000),
    st.integers(1, 255),
    st.integers(0, 3),
)
def test_decodable_garbage_never_crashes_the_state_machine(
    index: int, where: int, value: int, sender: int
) -> None:
    original = encode_dkg_message(TRANSCRIPT[index][1])
    at = where % len(original)
    mutated = original[:at] + bytes([original[at] ^ value]) + original[at + 1 :]
    message = decode_or_error("dkg message", mutated)
    if message is None:
        return
    phase = {"DkgKey": Phase.KEYS, "DkgDealing": Phase.DEALINGS}.get(
        type(message).__name__, Phase.COMPLAINTS
    )
    state = DkgState(GROUP, CONFIG)
    for prefix_sender, prefix_message in PHASE_STATES[phase]:
        state.apply(prefix_sender, prefix_message)
    events = state.apply(sender, message)
    assert events and type(events[0]).__name__ in {"MessageAccepted", "MessageRejected"}


def _packed(obj: Any) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


VALID_VOTE = [1, 4, 2, 1]
REJECTED: list[tuple[str, bytes, str]] = [
    ("empty", b"", "empty input"),
    ("not canonical", b"\x94\x01\x04\xcd\x00\x02\x01", "not the canonical encoding"),
    ("trailing byte", _packed(VALID_VOTE) + b"\x00", "malformed msgpack"),
    ("version 2", _packed([2, 4, 2, 1]), "unsupported record version"),
    ("unknown type", _packed([1, 99, 2, 1]), "not a DKG message"),
    ("coin share type", _packed([1, 16, 2, 1]), "not a DKG message"),
    ("string", msgpack.packb([1, 4, "x", 1], use_bin_type=True), "max_str_len"),
    ("float", _packed([1, 4, 2.0, 1]), "float values are not allowed"),
    ("bool", _packed([1, 4, True, 1]), "bool values are not allowed"),
    ("nil", _packed([1, 4, None, 1]), "NoneType values are not allowed"),
    ("map", _packed([1, 4, {}, 1]), "dict values are not allowed"),
    ("extension", _packed([1, 4, msgpack.ExtType(1, b"x"), 1]), "max_ext_len"),
    ("phase 3", _packed([1, 4, 2, 3]), "DkgClose.phase"),
    ("negative", _packed([1, 4, -1, 1]), "DkgClose.replica"),
    ("replica 64", _packed([1, 4, 64, 1]), "DkgClose.replica"),
    ("extra field", _packed([1, 4, 2, 1, 0]), "expected 2 fields"),
    ("short key", _packed([1, 1, 0, b"\x00" * 31, b"\x00" * 64]), "DkgKey.public_key"),
    (
        "no commitments",
        _packed([1, 2, 0, b"\x00" * 32, b"\x00" * 64, [], [b"\x00" * 32]]),
        "DkgDealing.commitments",
    ),
    (
        "65 commitments",
        _packed([1, 2, 0, b"\x00" * 32, b"\x00" * 64, [b"\x00" * 32] * 65, [b"\x00" * 32]]),
        "more than 64 items",
    ),
    ("deep nesting", b"\x91" * 5000 + b"\x00", "malformed msgpack"),
    ("oversized", _packed([1, 4, b"\x00" * 20_000]), "exceed the"),
]


@pytest.mark.parametrize(
    ("data", "fragment"), [c[1:] for c in REJECTED], ids=[c[0] for c in REJECTED]
)
def test_malformed_dkg_messages_say_what_is_wrong(data: bytes, fragment: str) -> None:
    assert decode_dkg_message(_packed(VALID_VOTE)) == DkgClose(2, Phase.DEALINGS)
    with pytest.raises(WireDecodeError, match=fragment):
        decode_dkg_message(data)


def test_decoders_take_bytes_only() -> None:
    for decoder in DECODERS.values():
        with pytest.raises(WireDecodeError, match="expected bytes"):
            decoder(bytearray(b"\x90"))


def test_threshold_key_points_are_checked() -> None:
    data = encode_threshold_key(KEY)
    bad_point = encode_threshold_key(
        ThresholdKey(KEY.table_id, KEY.threshold, KEY.dealers, bytes(32), KEY.public_shares)
    )
    with pytest.raises(WireDecodeError, match="group_key is not a point"):
        decode_threshold_key(bad_point, GROUP)
    obj = msgpack.unpackb(data)
    obj[3] = 5
    with pytest.raises(WireDecodeError, match=r"threshold must be in \[1, 4\]"):
        decode_threshold_key(_packed(obj), GROUP)
    obj = msgpack.unpackb(data)
    obj[6] = [obj[6][0], b"", b"", b""]
    with pytest.raises(WireDecodeError, match="fewer share holders than the threshold"):
        decode_threshold_key(_packed(obj), GROUP)


def test_messages_check_their_own_fields() -> None:
    dealing = next(m for _, m in TRANSCRIPT if isinstance(m, DkgDealing))
    with pytest.raises(ValueError, match="DkgDealing.commitments"):
        DkgDealing(0, dealing.ephemeral, dealing.ephemeral_proof, (), dealing.ciphertexts)
    with pytest.raises(ValueError, match="DkgClose.phase"):
        DkgClose(0, Phase.COMPLETE)
