"""What a replica persists: the record codec and the storage rules `DurableLog` models."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitcraps.accel._ed25519_cpu import Ed25519Signer
from bitcraps.consensus import (
    Checkpoint,
    Commit,
    CommitCertificate,
    Committed,
    DecodeError,
    DurableLog,
    Envelope,
    FetchState,
    LatestNewView,
    Message,
    NewView,
    OwnMessage,
    Prepare,
    Prepared,
    PreparedProof,
    PrePrepare,
    Record,
    Request,
    StableCheckpoint,
    ViewChange,
    ViewState,
    decode_record,
    encode_record,
    signing_bytes,
)
from test_codec import (
    any_envelopes,
    commit_certificates,
    digests,
    envelopes,
    msgpack_trees,
    new_views,
    prepared_proofs,
    u64s,
)

TABLE = b"durable-table-01"
SIGNER = Ed25519Signer(b"\x11" * 32)


def signed(message: Message) -> Envelope[Any]:
    """A really signed envelope (the log does not check signatures, but storage holds them)."""
    key = SIGNER.public_key
    return Envelope(TABLE, key, message, SIGNER.sign(signing_bytes(TABLE, key, message)))


def pre_prepare(view: int, seq: int, operation: bytes = b"op") -> Envelope[PrePrepare]:
    request = signed(Request(seq, operation))
    return signed(PrePrepare(view, seq, (request,)))


def committed(seq: int, view: int = 0) -> Committed:
    pp = pre_prepare(view, seq)
    commits = tuple(signed(Commit(view, seq, pp.message.digest)) for _ in range(3))
    return Committed(CommitCertificate(pp, commits))


def prepared(seq: int, view: int = 0) -> Prepared:
    pp = pre_prepare(view, seq)
    prepares = tuple(signed(Prepare(view, seq, pp.message.digest)) for _ in range(2))
    return Prepared(PreparedProof(pp, prepares))


def own(message: Message) -> OwnMessage:
    return OwnMessage(signed(message))


def stable(seq: int, snapshot: bytes = b"snap") -> StableCheckpoint:
    return StableCheckpoint(seq, snapshot, tuple(signed(Checkpoint(seq, b"d" * 32))
                                                for _ in range(3)))


def latest_new_view(view: int) -> LatestNewView:
    return LatestNewView(signed(NewView(view, (), ())))


# --- keys and the seq a record is tied to ----------------------------------------------------


def test_record_keys() -> None:
    assert own(PrePrepare(2, 5, ())).key == ("PrePrepare", 2, 5)
    assert own(Prepare(2, 5, b"d" * 32)).key == ("Prepare", 2, 5)
    assert own(Commit(2, 5, b"d" * 32)).key == ("Commit", 2, 5)
    assert own(Checkpoint(8, b"d" * 32)).key == ("Checkpoint", 8)
    assert own(ViewChange(3, 0, (), ())).key == ("ViewChange",)
    assert own(NewView(3, (), ())).key == ("NewView",)
    assert ViewState(3, 1).key == ("ViewState",)
    assert committed(7).key == ("Committed", 7)
    assert prepared(7).key == ("Prepared", 7)
    assert stable(8).key == ("StableCheckpoint",)
    assert latest_new_view(3).key == ("LatestNewView",)


def test_record_seqs() -> None:
    assert own(Prepare(2, 5, b"d" * 32)).seq == 5
    assert own(Checkpoint(8, b"d" * 32)).seq == 8
    assert own(ViewChange(3, 9, (), ())).seq is None  # its stable_seq is no tie
    assert own(NewView(3, (), ())).seq is None
    assert own(FetchState(4)).seq is None
    assert committed(7).seq == 7 and prepared(6).seq == 6
    assert ViewState(1, 0).seq is None and latest_new_view(1).seq is None


# --- DurableLog ------------------------------------------------------------------------------


def test_write_replaces_records_with_the_same_key() -> None:
    log = DurableLog()
    first, second = own(Prepare(0, 1, b"a" * 32)), own(Prepare(0, 1, b"b" * 32))
    log.write([first, ViewState(0, 0)])
    log.write([second, ViewState(1, 1), own(Prepare(1, 1, b"c" * 32))])
    records = log.records()
    assert len(log) == 3
    assert first not in records and second in records
    assert [r for r in records if isinstance(r, ViewState)] == [ViewState(1, 1)]
    # Replacing a record moves it to the end: records() is in order of the last write.
    assert records == [second, ViewState(1, 1), own(Prepare(1, 1, b"c" * 32))]
    log.write([ViewState(2, 0)])
    assert log.records()[-1] == ViewState(2, 0) and len(log) == 3


def test_only_the_latest_view_change_and_new_view_are_kept() -> None:
    log = DurableLog()
    log.write([own(ViewChange(1, 0, (), ())), latest_new_view(1)])
    log.write([own(ViewChange(2, 0, (), ())), latest_new_view(2)])
    records = log.records()
    assert len(records) == 2
    assert [r.envelope.message.new_view for r in records if isinstance(r, OwnMessage)] == [2]
    assert [r.envelope.message.view for r in records if isinstance(r, LatestNewView)] == [2]


def test_stable_checkpoint_truncates_records_at_or_below_it() -> None:
    log = DurableLog()
    below = [committed(s) for s in (3, 4)] + [prepared(4), own(Prepare(0, 4, b"d" * 32)),
                                             own(Checkpoint(4, b"d" * 32)),
                                             own(PrePrepare(0, 2, ()))]
    above = [committed(5), prepared(6), own(Commit(0, 5, b"d" * 32)),
             own(Checkpoint(8, b"d" * 32))]
    untied = [ViewState(1, 0), latest_new_view(1), own(ViewChange(1, 4, (), ())),
              own(NewView(1, (), ()))]
    log.write(below + above + untied)
    assert len(log) == len(below) + len(above) + len(untied)
    checkpoint = stable(4)
    log.write([checkpoint])
    records = log.records()
    assert records == above + untied + [checkpoint]
    # A later checkpoint replaces the earlier one and truncates further.
    later = stable(8, b"later")
    log.write([later])
    assert log.records() == untied + [later]


def test_records_written_after_the_checkpoint_in_one_batch_survive() -> None:
    """Truncation happens when the checkpoint is written, in write order."""
    log = DurableLog()
    log.write([committed(3), stable(4), committed(4)])
    assert [type(r).__name__ for r in log.records()] == ["StableCheckpoint", "Committed"]


def test_writes_and_syncs_are_counted() -> None:
    log = DurableLog()
    log.write([ViewState(0, 0)])
    log.write([ViewState(0, 1)], sync=False)
    log.write([])
    assert (log.writes, log.syncs) == (3, 2)
    assert DurableLog().records() == [] and len(DurableLog()) == 0


# --- record codec ----------------------------------------------------------------------------

records: st.SearchStrategy[Record] = st.one_of(
    any_envelopes.map(OwnMessage),
    st.builds(ViewState, u64s, st.integers(0, 1)),
    commit_certificates.map(Committed),
    prepared_proofs.map(Prepared),
    st.builds(StableCheckpoint, u64s, st.binary(max_size=64),
              st.lists(envelopes(st.builds(Checkpoint, u64s, digests)), max_size=4).map(tuple)),
    envelopes(new_views).map(LatestNewView),
)

EXAMPLES: list[Record] = [
    own(PrePrepare(0, 1, ())), own(Prepare(0, 1, b"d" * 32)), own(ViewChange(1, 0, (), ())),
    ViewState(5, 1), committed(3), prepared(4), stable(8), latest_new_view(2),
]


@pytest.mark.parametrize("record", EXAMPLES, ids=lambda r: type(r).__name__)
def test_every_record_type_round_trips(record: Record) -> None:
    data = encode_record(record)
    back = decode_record(data)
    assert type(back) is type(record) and back == record
    assert back.key == record.key
    assert encode_record(back) == data


def test_examples_cover_every_record_type() -> None:
    kinds = {type(r) for r in EXAMPLES}
    assert kinds == {OwnMessage, ViewState, Committed, Prepared, StableCheckpoint, LatestNewView}


@settings(max_examples=200)
@given(records)
def test_random_records_round_trip(record: Record) -> None:
    data = encode_record(record)
    back = decode_record(data)
    assert type(back) is type(record) and back == record
    assert encode_record(back) == data


def _decode_or_error(data: bytes) -> Record | DecodeError:
    try:
        return decode_record(data)
    except DecodeError as exc:
        return exc


@settings(max_examples=200)
@given(records, st.data())
def test_damaged_records_decode_or_raise_decode_error(record: Record, data: st.DataObject) -> None:
    damaged = bytearray(encode_record(record))
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.integers(0, len(damaged) - 1))
        damaged[where] ^= data.draw(st.integers(1, 255))
    outcome = _decode_or_error(bytes(damaged))
    # A flip inside a byte payload (an operation, a signature) still decodes, as a record.
    assert isinstance(outcome, (DecodeError, *EXAMPLE_TYPES))


EXAMPLE_TYPES = (OwnMessage, ViewState, Committed, Prepared, StableCheckpoint, LatestNewView)


@settings(max_examples=40)
@given(records)
def test_truncated_records_raise_decode_error(record: Record) -> None:
    data = encode_record(record)
    for cut in range(0, len(data), max(1, len(data) // 64)):
        with pytest.raises(DecodeError):
            decode_record(data[:cut])


@settings(max_examples=200)
@given(st.binary(max_size=200) | msgpack_trees.map(
    lambda tree: msgpack.packb(tree, use_bin_type=True)
) | st.tuples(st.integers(-2, 8) | msgpack_trees, msgpack_trees).map(
    lambda pair: msgpack.packb(list(pair), use_bin_type=True)
))
def test_arbitrary_bytes_decode_or_raise_decode_error(data: bytes) -> None:
    outcome = _decode_or_error(data)
    assert isinstance(outcome, (DecodeError, *EXAMPLE_TYPES))


OWN_BODY = own(FetchState(1)).to_list()


@pytest.mark.parametrize(
    "obj",
    [
        [1, OWN_BODY],  # the valid one, for contrast
        [[1], []],  # an unhashable record code
        [{}, []],
        [True, OWN_BODY],  # a bool or a float is not a record code, even if it equals 1
        [1.0, OWN_BODY],
        [0, [0, 0]],
        [7, [0, 0]],
        [2, [0, 2]],  # ViewState.changing is 0 or 1
        [2, [-1, 0]],
        [2, [0, 0, 0]],
        [2],
        [],
        None,
    ],
)
def test_malformed_records_raise_decode_error(obj: Any) -> None:
    data = msgpack.packb(obj, use_bin_type=True)
    if obj == [1, OWN_BODY] and type(obj[0]) is int:
        assert decode_record(data) == own(FetchState(1))
        return
    with pytest.raises(DecodeError):
        decode_record(data)


def test_a_durable_log_survives_encoding() -> None:
    """What the SQLite store does: bytes out, bytes back, the same records in the same order."""
    log = DurableLog()
    log.write(EXAMPLES)
    restored = DurableLog()
    restored.write([decode_record(encode_record(r)) for r in log.records()])
    assert restored.records() == log.records()
