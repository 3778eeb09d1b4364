"""The decoder crashes of issue 10, replayed: each input once escaped as RecursionError (or
was accepted though not canonical); now each gives the decoder's one typed error."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
import pytest

from bitcraps.accel._ed25519_group import SodiumEd25519Group
from bitcraps.consensus import DecodeError, ViewState, decode_record, encode_record
from bitcraps.consensus._codec import WireLimits, unpack
from bitcraps.consensus._messages import Envelope, decode_envelope
from bitcraps.consensus._wire_shape import envelope_depth
from bitcraps.games._api import GameDecodeError
from bitcraps.games._coin import (
    WireDecodeError,
    decode_coin_share,
    decode_dkg_message,
    decode_roll_record,
    decode_threshold_key,
    decode_transcript,
)
from bitcraps.games._table_ops import decode_operation, decode_result
from bitcraps.games.craps import decode_action, decode_events, decode_state
from bitcraps.node.storage import SqliteStorage, StorageError

DEEP = b"\x91" * 1010 + b"\x01"
# The issue's frame: a 1,010-deep list as the envelope's version, then a table id, a sender,
# an empty body and a signature: 1,132 bytes.
FRAME = (b"\x96" + DEEP + b"\x02" + b"\xc4\x10" + b"t" * 16 + b"\xc4\x20" + b"s" * 32
         + b"\x90" + b"\xc4\x40" + b"g" * 64)
DKG_BOMB = b"\x93" + b"\x91" * 1010 + b"\x01\x01\x01"


def test_the_issues_frame_is_1132_bytes_and_a_decode_error() -> None:
    assert len(FRAME) == 1132
    with pytest.raises(DecodeError):
        decode_envelope(FRAME)


def test_envelope_errors_never_repr_a_decoded_value() -> None:
    """The reader bounds depth; this checks the envelope's own messages do not need it."""
    deep: list[Any] = [1]
    for _ in range(5000):
        deep = [deep]
    fields = [deep, 2, b"t" * 16, b"s" * 32, [], b"g" * 64]
    with pytest.raises(DecodeError, match="version") as info:
        Envelope.from_list(fields)
    assert "[[" not in str(info.value)
    with pytest.raises(DecodeError, match="message type") as info:
        Envelope.from_list([1, deep, b"t" * 16, b"s" * 32, [], b"g" * 64])
    assert "[[" not in str(info.value)


def test_the_byzantine_dkg_message_is_a_wire_decode_error() -> None:
    with pytest.raises(WireDecodeError):
        decode_dkg_message(DKG_BOMB)
    operation = msgpack.packb([b"dkg", DKG_BOMB])
    assert decode_operation(operation).body == DKG_BOMB  # the log carries it; decoding refuses


GAME_DECODERS: dict[str, Callable[[bytes], Any]] = {
    "craps action": decode_action,
    "craps events": decode_events,
    "craps state": decode_state,
    "table operation": decode_operation,
    "table result": decode_result,
}
COIN_DECODERS: dict[str, Callable[[bytes], Any]] = {
    "dkg message": decode_dkg_message,
    "coin share": decode_coin_share,
    "roll record": decode_roll_record,
    "threshold key": lambda data: decode_threshold_key(data, SodiumEd25519Group()),
    "transcript": decode_transcript,
}
NESTED = [DEEP, b"\x92" + DEEP + b"\x01", b"\x93\x01\x21" + DEEP, b"\x93\x01\x22" + DEEP,
          b"\x97\x01\x20" + DEEP]


@pytest.mark.parametrize("name", sorted(GAME_DECODERS))
@pytest.mark.parametrize("data", NESTED)
def test_game_decoders_refuse_deep_nesting(name: str, data: bytes) -> None:
    with pytest.raises(GameDecodeError):
        GAME_DECODERS[name](data)


@pytest.mark.parametrize("name", sorted(COIN_DECODERS))
@pytest.mark.parametrize("data", NESTED)
def test_fair_dice_decoders_refuse_deep_nesting(name: str, data: bytes) -> None:
    with pytest.raises(WireDecodeError):
        COIN_DECODERS[name](data)


def test_a_durable_record_nested_deep_is_a_decode_error() -> None:
    with pytest.raises(DecodeError):
        decode_record(b"\x92\x01\x91" + FRAME)


def test_nesting_one_level_past_the_limit_is_refused_even_within_budget() -> None:
    limits = WireLimits(max_depth=3)
    assert unpack(msgpack.packb([[[1]]]), limits=limits) == [[[1]]]
    with pytest.raises(DecodeError, match="nested deeper than 3"):
        unpack(msgpack.packb([[[[1]]]]), limits=limits)
    assert envelope_depth() == 14  # a StateReply's NEW-VIEW's prepared proofs' requests


def test_a_list_bomb_frame_is_refused_by_its_budget() -> None:
    row = b"\xdc\x10\x00" + b"\x90" * 4096
    body = b"\xdc\x00\xef" + row * 239
    frame = (b"\x96\x01\x02\xc4\x10" + b"t" * 16 + b"\xc4\x20" + b"s" * 32 + body
             + b"\xc4\x40" + b"g" * 64)
    assert 900_000 < len(frame) < 1 << 20
    with pytest.raises(DecodeError, match="more arrays or items"):
        decode_envelope(frame)


def test_a_record_in_a_wider_encoding_is_refused() -> None:
    record = ViewState(5, 0)
    data = encode_record(record)
    assert data == b"\x92\x02\x92\x05\x00"
    assert decode_record(data) == record
    with pytest.raises(DecodeError, match="non-canonical"):
        decode_record(b"\x92\x02\x92\xcc\x05\x00")
    with pytest.raises(DecodeError, match="non-canonical"):
        decode_record(b"\x92\x02\xdc\x00\x02\x05\x00")


def _forge(path: Path, column: str, value: bytes) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(f"UPDATE records SET {column} = ?", (value,))
    conn.close()


def test_storage_refuses_a_forged_non_canonical_row(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite"
    with SqliteStorage(path) as storage:
        storage.write([ViewState(5, 0)])
    _forge(path, "data", b"\x92\x02\x92\xcc\x05\x00")
    with SqliteStorage(path) as storage, pytest.raises(StorageError, match="non-canonical"):
        storage.records()


def test_storage_refuses_a_row_filed_under_another_key(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite"
    with SqliteStorage(path) as storage:
        storage.write([ViewState(5, 0)])
    _forge(path, "key", msgpack.packb(["StableCheckpoint"]))
    with SqliteStorage(path) as storage, pytest.raises(StorageError, match="another record"):
        storage.records()
