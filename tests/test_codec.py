"""The wire codec: canonical round trips, a strict decoder, self-validating messages.

Signatures here are random 64-byte strings: the codec never checks them (the shell verifies
them after decoding), so any 64 bytes are a well-formed signature.
"""

from __future__ import annotations

import dataclasses
import struct
from typing import Any

import msgpack
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bitcraps.accel._ed25519_cpu import Ed25519Signer, verify_one
from bitcraps.consensus import (
    MAX_MESSAGE_BYTES,
    PROTOCOL_VERSION,
    Checkpoint,
    Commit,
    CommitCertificate,
    DecodeError,
    Envelope,
    FetchChunk,
    FetchState,
    Message,
    NewView,
    Prepare,
    PreparedProof,
    PrePrepare,
    Reply,
    Request,
    StateChunk,
    StateManifest,
    StateReply,
    ViewChange,
    batch_digest,
    decode_envelope,
    iter_envelopes,
    signing_bytes,
)
from bitcraps.consensus._messages import (
    BATCH_DOMAIN,
    MAX_BATCH_REQUESTS,
    MAX_OPERATION_BYTES,
    MAX_REPLICAS,
    MAX_RESULT_BYTES,
    MAX_STATE_CHUNKS,
    SIGNING_DOMAIN,
    STATE_CHUNK_BYTES,
)

U64_MAX = 2**64 - 1

# --- strategies ------------------------------------------------------------------------------

tables = st.binary(min_size=16, max_size=16)
keys = st.binary(min_size=32, max_size=32)
signatures = st.binary(min_size=64, max_size=64)
digests = st.binary(min_size=32, max_size=32)
u64s = st.integers(0, U64_MAX)
payloads = st.binary(max_size=48)


def tuples(
    elements: st.SearchStrategy[Any], max_size: int = 2
) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.lists(elements, max_size=max_size).map(tuple)


def envelopes(messages: st.SearchStrategy[Message]) -> st.SearchStrategy[Envelope[Any]]:
    return st.builds(Envelope, tables, keys, messages, signatures)


# Per message class, one strategy per field (in wire order): lets tests redraw a single field.
FIELDS: dict[type[Any], dict[str, st.SearchStrategy[Any]]] = {}

FIELDS[Request] = {"timestamp": u64s, "operation": payloads}
requests = st.builds(Request, **FIELDS[Request])
FIELDS[PrePrepare] = {"view": u64s, "seq": u64s, "requests": tuples(envelopes(requests), 3)}
pre_prepares = st.builds(PrePrepare, **FIELDS[PrePrepare])
FIELDS[Prepare] = {"view": u64s, "seq": u64s, "digest": digests}
prepares = st.builds(Prepare, **FIELDS[Prepare])
FIELDS[Commit] = dict(FIELDS[Prepare])
commits = st.builds(Commit, **FIELDS[Commit])
FIELDS[Checkpoint] = {"seq": u64s, "state_digest": digests}
checkpoints = st.builds(Checkpoint, **FIELDS[Checkpoint])
prepared_proofs = st.builds(
    PreparedProof, envelopes(pre_prepares), tuples(envelopes(prepares), 3)
)
commit_certificates = st.builds(
    CommitCertificate, envelopes(pre_prepares), tuples(envelopes(commits), 3)
)
FIELDS[ViewChange] = {
    "new_view": u64s,
    "stable_seq": u64s,
    "checkpoint_proof": tuples(envelopes(checkpoints), 3),
    "prepared": tuples(prepared_proofs),
}
view_changes = st.builds(ViewChange, **FIELDS[ViewChange])
FIELDS[NewView] = {
    "view": u64s,
    "view_changes": tuples(envelopes(view_changes)),
    "pre_prepares": tuples(envelopes(pre_prepares)),
}
new_views = st.builds(NewView, **FIELDS[NewView])
FIELDS[Reply] = {"view": u64s, "client": keys, "timestamp": u64s, "result": payloads}
replies = st.builds(Reply, **FIELDS[Reply])
FIELDS[FetchState] = {"last_executed_seq": u64s}
fetch_states = st.builds(FetchState, **FIELDS[FetchState])
manifests = st.integers(0, 3 * STATE_CHUNK_BYTES).flatmap(
    lambda size: st.lists(digests, min_size=-(-size // STATE_CHUNK_BYTES),
                          max_size=-(-size // STATE_CHUNK_BYTES)).map(
        lambda chunks: StateManifest(size, tuple(chunks))))
FIELDS[StateReply] = {
    "checkpoint_seq": u64s,
    "manifest": st.none() | manifests,
    "checkpoint_proof": tuples(envelopes(checkpoints), 3),
    "suffix": tuples(commit_certificates),
    "new_view": st.none() | envelopes(new_views),
}
state_replies = st.builds(StateReply, **FIELDS[StateReply])
chunk_indexes = st.integers(0, MAX_STATE_CHUNKS - 1)
FIELDS[FetchChunk] = {"checkpoint_seq": u64s, "index": chunk_indexes}
fetch_chunks = st.builds(FetchChunk, **FIELDS[FetchChunk])
FIELDS[StateChunk] = {"checkpoint_seq": u64s, "index": chunk_indexes, "data": payloads}
state_chunks = st.builds(StateChunk, **FIELDS[StateChunk])

MESSAGE_STRATEGIES: dict[type[Any], st.SearchStrategy[Any]] = {
    Request: requests,
    PrePrepare: pre_prepares,
    Prepare: prepares,
    Commit: commits,
    Checkpoint: checkpoints,
    ViewChange: view_changes,
    NewView: new_views,
    Reply: replies,
    FetchState: fetch_states,
    StateReply: state_replies,
    FetchChunk: fetch_chunks,
    StateChunk: state_chunks,
}
ALL_TYPES = sorted(MESSAGE_STRATEGIES, key=lambda cls: cls.TYPE)
messages = st.one_of(*(MESSAGE_STRATEGIES[cls] for cls in ALL_TYPES))
any_envelopes = envelopes(messages)


def decode_or_error(data: bytes, **kwargs: Any) -> Envelope[Any] | DecodeError:
    """Decode; a DecodeError is returned, any other exception propagates and fails the test."""
    try:
        return decode_envelope(data, **kwargs)
    except DecodeError as exc:
        return exc


def rejected(data: bytes, **kwargs: Any) -> bool:
    return isinstance(decode_or_error(data, **kwargs), DecodeError)


def envelope_of(
    message: Message, table: bytes = b"T" * 16, sender: bytes = b"S" * 32
) -> Envelope[Any]:
    return Envelope(table, sender, message, b"\x5a" * 64)


def sample_envelopes() -> list[Envelope[Any]]:
    """One small, fully populated envelope of every message type."""
    req = envelope_of(Request(7, b"op"), sender=b"C" * 32)
    pp = envelope_of(PrePrepare(1, 2, (req, req)))
    prep = envelope_of(Prepare(1, 2, pp.message.digest))
    com = envelope_of(Commit(1, 2, pp.message.digest))
    ckpt = envelope_of(Checkpoint(16, b"d" * 32))
    vc = envelope_of(ViewChange(3, 16, (ckpt, ckpt), (PreparedProof(pp, (prep, prep)),)))
    nv = envelope_of(NewView(3, (vc,), (pp,)))
    return [
        req, pp, prep, com, ckpt, vc, nv,
        envelope_of(Reply(1, b"C" * 32, 7, b"result")),
        envelope_of(FetchState(5)),
        envelope_of(StateReply(16, StateManifest(4, (b"m" * 32,)), (ckpt,),
                               (CommitCertificate(pp, (com, com)),), nv)),
        envelope_of(FetchChunk(16, 0)),
        envelope_of(StateChunk(16, 0, b"snap")),
    ]


SAMPLES = sample_envelopes()
SAMPLE_IDS = [type(e.message).__name__ for e in SAMPLES]


# --- round trips and canonical form ----------------------------------------------------------


def test_samples_cover_every_message_type() -> None:
    assert {type(e.message) for e in SAMPLES} == set(ALL_TYPES)
    assert [cls.TYPE for cls in ALL_TYPES] == list(range(1, 13))


@settings(max_examples=300)
@given(any_envelopes)
def test_round_trip_is_identity_and_canonical(envelope: Envelope[Any]) -> None:
    wire = envelope.wire
    decoded = decode_envelope(wire)
    assert decoded == envelope
    assert decoded.message == envelope.message
    assert type(decoded.message) is type(envelope.message)
    assert (decoded.table_id, decoded.sender, decoded.signature) == (
        envelope.table_id, envelope.sender, envelope.signature,
    )
    assert decoded.wire == wire
    assert decoded.signing_bytes == envelope.signing_bytes
    assert decoded.digest == envelope.digest
    # Building the same message again gives the same bytes: the encoding is a function.
    rebuilt = Envelope(envelope.table_id, envelope.sender,
                       dataclasses.replace(envelope.message), envelope.signature)
    assert rebuilt.wire == wire
    assert hash(rebuilt) == hash(envelope)
    # Nested envelopes survive too, in the same order.
    assert [e.wire for e in iter_envelopes(decoded)] == [e.wire for e in iter_envelopes(envelope)]


@pytest.mark.parametrize("envelope", SAMPLES, ids=SAMPLE_IDS)
def test_sample_round_trip(envelope: Envelope[Any]) -> None:
    decoded = decode_envelope(envelope.wire)
    assert decoded == envelope and decoded.message == envelope.message
    assert decode_envelope(bytearray(envelope.wire)) == envelope
    assert decode_envelope(memoryview(envelope.wire)) == envelope


def test_wire_layout_is_the_documented_one() -> None:
    """version, type, table id, sender, body, signature; body in field order."""
    envelope = envelope_of(Prepare(3, 9, b"\x01" * 32))
    assert msgpack.unpackb(envelope.wire) == [
        PROTOCOL_VERSION, Prepare.TYPE, b"T" * 16, b"S" * 32, [3, 9, b"\x01" * 32], b"\x5a" * 64,
    ]
    assert envelope.wire == msgpack.packb(envelope.to_list(), use_bin_type=True)


def test_equal_envelopes_hash_equal_and_differ_by_signature() -> None:
    a = envelope_of(FetchState(1))
    b = envelope_of(FetchState(1))
    c = Envelope(a.table_id, a.sender, a.message, b"\x00" * 64)
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != c and a.digest != c.digest
    assert a.signing_bytes == c.signing_bytes  # the signature is not signed over
    assert a != a.message  # an envelope is never equal to a bare message


# --- the decoder never crashes ---------------------------------------------------------------

msgpack_leaves = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), U64_MAX)
    | st.floats(allow_nan=True)
    | st.binary(max_size=70)
    | st.text(max_size=8)
)
msgpack_trees = st.recursive(
    msgpack_leaves,
    lambda children: st.lists(children, max_size=7)
    | st.dictionaries(st.integers(-5, 5) | st.text(max_size=3) | st.binary(max_size=3),
                      children, max_size=3),
    max_leaves=30,
)


def _packed(tree: Any) -> bytes:
    return msgpack.packb(tree, use_bin_type=True)


# Lists shaped like envelopes reach past the outer checks into the message decoders.
envelope_shaped = st.builds(
    lambda version, type_code, table, sender, body, sig: [version, type_code, table, sender,
                                                          body, sig],
    st.sampled_from([PROTOCOL_VERSION, 0, 2, True]) | msgpack_leaves,
    st.integers(0, 12) | msgpack_leaves,
    tables | msgpack_leaves,
    keys | msgpack_leaves,
    st.lists(msgpack_trees | u64s | digests | keys, max_size=6),
    signatures | msgpack_leaves,
)


@settings(max_examples=400)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_decode_or_raise_decode_error(data: bytes) -> None:
    outcome = decode_or_error(data)
    if isinstance(outcome, Envelope):
        assert outcome.wire == data


@settings(max_examples=300)
@given(msgpack_trees | envelope_shaped)
def test_arbitrary_msgpack_structures_decode_or_raise_decode_error(tree: Any) -> None:
    data = _packed(tree)
    outcome = decode_or_error(data)
    if isinstance(outcome, Envelope):
        assert outcome.wire == data


@settings(max_examples=200)
@given(any_envelopes, st.data())
def test_damaged_valid_encodings_decode_or_raise_decode_error(
    envelope: Envelope[Any], data: st.DataObject
) -> None:
    wire = bytearray(envelope.wire)
    for _ in range(data.draw(st.integers(1, 4))):
        where = data.draw(st.integers(0, len(wire) - 1))
        wire[where] = data.draw(st.integers(0, 255))
    outcome = decode_or_error(bytes(wire))
    if isinstance(outcome, Envelope):
        assert outcome.wire == bytes(wire)  # whatever decodes is itself canonical


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x91" * 100_000 + b"\xc0",  # nested deeper than any message allows
        b"\xdd\xff\xff\xff\xff",  # array32 claiming 4 billion items
        b"\xc6\xff\xff\xff\xff" + b"x" * 16,  # bin32 claiming 4 GiB
        b"\xdf\x00\x00\x00\x01\x01\x01",  # a map
        b"\xd4\x01\x00",  # an extension type
        b"\xc1",  # the never-used byte
        b"\xc0",
        b"\x96" + b"\xc0" * 6,
    ],
)
def test_hostile_frames_raise_decode_error(data: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_envelope(data)


@pytest.mark.parametrize("value", ["bytes as str", 12, None, [1, 2]])
def test_non_bytes_input_raises_decode_error(value: Any) -> None:
    with pytest.raises(DecodeError):
        decode_envelope(value)


# --- truncation, trailing bytes and size bound -----------------------------------------------


@settings(max_examples=60)
@given(any_envelopes)
def test_every_strict_prefix_is_rejected(envelope: Envelope[Any]) -> None:
    wire = envelope.wire
    cuts = range(len(wire)) if len(wire) <= 1500 else range(0, len(wire), 7)
    for cut in cuts:
        assert rejected(wire[:cut]), cut


@pytest.mark.parametrize("envelope", SAMPLES, ids=SAMPLE_IDS)
def test_every_prefix_and_extension_of_samples_is_rejected(envelope: Envelope[Any]) -> None:
    wire = envelope.wire
    assert all(rejected(wire[:cut]) for cut in range(len(wire)))
    assert rejected(wire + b"\x00")
    assert rejected(wire + wire)


@pytest.mark.parametrize("envelope", SAMPLES, ids=SAMPLE_IDS)
def test_frames_above_max_bytes_are_rejected_before_decoding(envelope: Envelope[Any]) -> None:
    wire = envelope.wire
    assert decode_envelope(wire, max_bytes=len(wire)) == envelope
    with pytest.raises(DecodeError, match="exceeds the"):
        decode_envelope(wire, max_bytes=len(wire) - 1)
    # Garbage past the limit is refused for its size, never parsed.
    with pytest.raises(DecodeError, match="exceeds the 16-byte limit"):
        decode_envelope(b"\xc1" * 17, max_bytes=16)


def test_default_limit_is_max_message_bytes() -> None:
    with pytest.raises(DecodeError, match="exceeds the"):
        decode_envelope(b"\x00" * (MAX_MESSAGE_BYTES + 1))


# --- exact types -----------------------------------------------------------------------------


def _replace_at(tree: Any, path: tuple[int, ...], value: Any) -> Any:
    if not path:
        return value
    copy = list(tree)
    copy[path[0]] = _replace_at(tree[path[0]], path[1:], value)
    return copy


def _paths(tree: Any, prefix: tuple[int, ...] = ()) -> list[tuple[tuple[int, ...], Any]]:
    found = [(prefix, tree)]
    if type(tree) is list:
        for i, child in enumerate(tree):
            found.extend(_paths(child, prefix + (i,)))
    return found


def _category(value: Any) -> str:
    return type(value).__name__


other_types = st.sampled_from(
    [0, 1, 7, -1, -(2**63), U64_MAX, b"", b"\x00" * 32, True, False, None, 1.0, 0.5, "x", "",
     [], [0], [b"\x00" * 32], {}, {1: 2}]
)


@settings(max_examples=300)
@given(any_envelopes, st.data())
def test_any_node_replaced_by_another_type_is_rejected(
    envelope: Envelope[Any], data: st.DataObject
) -> None:
    """Every position has exactly one wire type (None only where an envelope is optional)."""
    tree = envelope.to_list()
    path, node = data.draw(st.sampled_from(_paths(tree)))
    replacement = data.draw(other_types.filter(lambda v: _category(v) != _category(node)))
    assume(not (node is None and type(replacement) is list))  # could be a valid NEW-VIEW
    assert rejected(_packed(_replace_at(tree, path, replacement)))


@settings(max_examples=200)
@given(any_envelopes, st.data())
def test_any_integer_negative_or_boolean_is_rejected(
    envelope: Envelope[Any], data: st.DataObject
) -> None:
    tree = envelope.to_list()
    ints = [path for path, node in _paths(tree) if type(node) is int]
    path = data.draw(st.sampled_from(ints))
    bad = data.draw(st.integers(-(2**63), -1) | st.booleans())
    assert rejected(_packed(_replace_at(tree, path, bad)))


@settings(max_examples=200)
@given(any_envelopes, st.data())
def test_fixed_size_byte_fields_of_wrong_length_are_rejected(
    envelope: Envelope[Any], data: st.DataObject
) -> None:
    """Table ids (16), keys and digests (32) and signatures (64) have exact lengths."""
    tree = envelope.to_list()
    fixed = [(path, node) for path, node in _paths(tree)
             if type(node) is bytes and _is_fixed_size(envelope, path)]
    path, node = data.draw(st.sampled_from(fixed))
    bad = data.draw(st.binary(max_size=80).filter(lambda b: len(b) != len(node)))
    assert rejected(_packed(_replace_at(tree, path, bad)))


def _is_fixed_size(envelope: Envelope[Any], path: tuple[int, ...]) -> bool:
    """True when the bytes at path are a table id, key, digest or signature."""
    node: Any = envelope
    for index in path:
        if isinstance(node, Envelope):
            if index in (2, 3, 5):
                return True
            node = node.message
            assert index == 4
            continue
        if isinstance(node, tuple):
            node = node[index]
            continue
        name, _ = node.FIELDS[index]
        value = getattr(node, name)
        if isinstance(value, bytes):
            return name in {"digest", "state_digest", "client"}
        node = value
    return False


@pytest.mark.parametrize("envelope", SAMPLES, ids=SAMPLE_IDS)
def test_wrong_field_counts_are_rejected(envelope: Envelope[Any]) -> None:
    tree = envelope.to_list()
    assert rejected(_packed(tree[:-1]))
    assert rejected(_packed(tree + [b""]))
    body = tree[4]
    assert rejected(_packed(_replace_at(tree, (4,), body[:-1])))
    assert rejected(_packed(_replace_at(tree, (4,), body + [0])))
    assert rejected(_packed(_replace_at(tree, (4,), [])))


@pytest.mark.parametrize("type_code", [0, 11, 12, 127, 255, 2**32, U64_MAX, -1, True, b"\x01"])
def test_unknown_type_codes_are_rejected(type_code: Any) -> None:
    tree = _replace_at(SAMPLES[0].to_list(), (1,), type_code)
    with pytest.raises(DecodeError):
        decode_envelope(_packed(tree))


@pytest.mark.parametrize("version", [0, 2, 255, U64_MAX, -1, True, b"\x01", None, 1.0])
def test_wrong_versions_are_rejected(version: Any) -> None:
    for envelope in SAMPLES:
        tree = _replace_at(envelope.to_list(), (0,), version)
        with pytest.raises(DecodeError):
            decode_envelope(_packed(tree))


def test_a_type_code_swap_never_carries_a_signature_over() -> None:
    """The type code selects the schema. A body that happens to fit another type's schema
    (Prepare/Commit, or Checkpoint read as a Request) decodes as that type, but its signing
    bytes change with the type, so the original signature is worthless."""
    rejections = 0
    for envelope in SAMPLES:
        for cls in ALL_TYPES:
            tree = _replace_at(envelope.to_list(), (1,), cls.TYPE)
            outcome = decode_or_error(_packed(tree))
            if cls is type(envelope.message):
                assert outcome == envelope
            elif isinstance(outcome, Envelope):
                assert type(outcome.message) is cls
                assert outcome.signing_bytes != envelope.signing_bytes
            else:
                rejections += 1
    assert rejections >= len(SAMPLES) * (len(ALL_TYPES) - 1) - 6
    pp = next(e for e in SAMPLES if type(e.message) is PrePrepare)
    with pytest.raises(DecodeError, match="Prepare.digest"):
        decode_envelope(_packed(_replace_at(pp.to_list(), (1,), Prepare.TYPE)))


def test_nested_envelope_of_the_wrong_message_type_is_rejected() -> None:
    by_type = {type(e.message): e for e in SAMPLES}
    pp, vc, nv, sr = (by_type[c] for c in (PrePrepare, ViewChange, NewView, StateReply))
    commit, prepare = by_type[Commit], by_type[Prepare]
    cases = [
        (pp, (4, 2, 0), commit),  # a Commit among a pre-prepare's requests
        (vc, (4, 2, 0), commit),  # a Commit in a checkpoint proof
        (vc, (4, 3, 0, 0), commit),  # a Commit as a prepared proof's pre-prepare
        (vc, (4, 3, 0, 1, 0), commit),  # a Commit among a prepared proof's prepares
        (nv, (4, 1, 0), commit),  # a Commit as a NEW-VIEW's view change
        (nv, (4, 2, 0), commit),  # a Commit among NEW-VIEW's pre-prepares
        (sr, (4, 3, 0, 0), commit),  # a Commit as a commit certificate's pre-prepare
        (sr, (4, 3, 0, 1, 0), prepare),  # a Prepare among a commit certificate's commits
        (sr, (4, 4), commit),  # a Commit as the optional NEW-VIEW
    ]
    for envelope, path, wrong in cases:
        tree = envelope.to_list()
        with pytest.raises(DecodeError, match=r"expected \w+, got " + type(wrong.message).__name__):
            decode_envelope(_packed(_replace_at(tree, path, wrong.to_list())))


@settings(max_examples=100)
@given(any_envelopes)
def test_strings_where_bytes_belong_are_rejected(envelope: Envelope[Any]) -> None:
    tree = envelope.to_list()
    for path, node in _paths(tree):
        if type(node) is bytes:
            # msgpack str of the same content: never canonical, even when empty
            assert rejected(_packed(_replace_at(tree, path, node.decode("latin-1")))), path


# --- non-canonical encodings -----------------------------------------------------------------


def _int_forms(value: int) -> list[bytes]:
    forms = []
    if 0 <= value < 128:
        forms.append(bytes([value]))
    for code, fmt, bound in ((0xCC, ">B", 2**8), (0xCD, ">H", 2**16), (0xCE, ">I", 2**32),
                             (0xCF, ">Q", 2**64)):
        if 0 <= value < bound:
            forms.append(bytes([code]) + struct.pack(fmt, value))
    for code, fmt, bound in ((0xD0, ">b", 2**7), (0xD1, ">h", 2**15), (0xD2, ">i", 2**31),
                             (0xD3, ">q", 2**63)):
        if -bound <= value < bound:
            forms.append(bytes([code]) + struct.pack(fmt, value))
    return forms


def _bytes_headers(size: int) -> list[bytes]:
    heads = []
    for code, fmt, bound in ((0xC4, ">B", 2**8), (0xC5, ">H", 2**16), (0xC6, ">I", 2**32)):
        if size < bound:
            heads.append(bytes([code]) + struct.pack(fmt, size))
    return heads


def _list_headers(size: int) -> list[bytes]:
    heads = [bytes([0x90 | size])] if size < 16 else []
    heads.append(b"\xdc" + struct.pack(">H", size))
    heads.append(b"\xdd" + struct.pack(">I", size))
    return heads


def _forms(node: Any) -> list[bytes]:
    """Every msgpack encoding of a node's own header (or whole value, for scalars)."""
    if node is None:
        return [b"\xc0"]
    if type(node) is bool:
        return [b"\xc3" if node else b"\xc2"]
    if type(node) is int:
        return _int_forms(node)
    if type(node) is bytes:
        return _bytes_headers(len(node))
    return _list_headers(len(node))


def pack_by_hand(tree: Any, widen: int | None = None, choice: int = 0) -> bytes:
    """msgpack by hand; node number `widen` (preorder) takes a non-canonical form."""
    out = bytearray()
    counter = [0]

    def emit(node: Any) -> None:
        index = counter[0]
        counter[0] += 1
        forms = _forms(node)
        head = forms[0]  # the shortest form: what msgpack itself writes
        if index == widen:
            alternatives = forms[1:]
            head = alternatives[choice % len(alternatives)]
        out.extend(head)
        if type(node) is bytes:
            out.extend(node)
        elif type(node) is list:
            for child in node:
                emit(child)

    emit(tree)
    return bytes(out)


def _widenable(tree: Any) -> list[int]:
    nodes = [node for _, node in _paths(tree)]
    return [i for i, node in enumerate(nodes) if len(_forms(node)) > 1]


@settings(max_examples=200)
@given(any_envelopes, st.data())
def test_non_canonical_encodings_are_rejected(envelope: Envelope[Any], data: st.DataObject) -> None:
    tree = envelope.to_list()
    assert pack_by_hand(tree) == envelope.wire  # the hand encoder agrees when canonical
    widen = data.draw(st.sampled_from(_widenable(tree)))
    choice = data.draw(st.integers(0, 8))
    wide = pack_by_hand(tree, widen, choice)
    assert wide != envelope.wire
    assert msgpack.unpackb(wide) == msgpack.unpackb(envelope.wire)  # same values, other bytes
    with pytest.raises(DecodeError, match="non-canonical"):
        decode_envelope(wide)


def test_hand_crafted_wide_integer_is_rejected() -> None:
    """FetchState(1) with its seq written as uint16 0xcd 0x00 0x01 instead of 0x01."""
    envelope = envelope_of(FetchState(1))
    wire = envelope.wire
    body = b"\x91\x01"
    assert wire.count(body) == 1
    wide = wire.replace(body, b"\x91\xcd\x00\x01")
    assert msgpack.unpackb(wide) == msgpack.unpackb(wire)
    with pytest.raises(DecodeError, match="non-canonical"):
        decode_envelope(wide)
    assert decode_envelope(wire) == envelope


# --- messages validate themselves ------------------------------------------------------------

REQ = SAMPLES[0]
CKPT = next(e for e in SAMPLES if type(e.message) is Checkpoint)
PREP = next(e for e in SAMPLES if type(e.message) is Prepare)
PP = next(e for e in SAMPLES if type(e.message) is PrePrepare)
COM = next(e for e in SAMPLES if type(e.message) is Commit)
VC = next(e for e in SAMPLES if type(e.message) is ViewChange)
NV = next(e for e in SAMPLES if type(e.message) is NewView)

INVALID_BUILDS: list[tuple[str, Any]] = [
    ("negative timestamp", lambda: Request(-1, b"")),
    ("timestamp 2**64", lambda: Request(2**64, b"")),
    ("bool timestamp", lambda: Request(True, b"")),
    ("float timestamp", lambda: Request(1.0, b"")),
    ("str operation", lambda: Request(1, "op")),
    ("bytearray operation", lambda: Request(1, bytearray(b"op"))),
    ("operation too long", lambda: Request(1, b"x" * (MAX_OPERATION_BYTES + 1))),
    ("digest of 31 bytes", lambda: Prepare(0, 1, b"d" * 31)),
    ("digest of 33 bytes", lambda: Commit(0, 1, b"d" * 33)),
    ("int digest", lambda: Commit(0, 1, 5)),
    ("view 2**64", lambda: Prepare(2**64, 1, b"d" * 32)),
    ("negative seq", lambda: Checkpoint(-16, b"d" * 32)),
    ("bool seq", lambda: FetchState(False)),
    ("requests as a list", lambda: PrePrepare(0, 1, [REQ])),
    ("unsigned request", lambda: PrePrepare(0, 1, (REQ.message,))),
    ("prepare as a request", lambda: PrePrepare(0, 1, (PREP,))),
    ("too many requests", lambda: PrePrepare(0, 1, (REQ,) * (MAX_BATCH_REQUESTS + 1))),
    ("commit in a prepared proof", lambda: PreparedProof(PP, (COM,))),
    ("prepare as pre-prepare", lambda: PreparedProof(PREP, ())),
    ("prepare in a commit certificate", lambda: CommitCertificate(PP, (PREP,))),
    ("checkpoint proof too long",
     lambda: ViewChange(1, 0, (CKPT,) * (MAX_REPLICAS + 1), ())),
    ("prepared proof not a struct", lambda: ViewChange(1, 0, (), (PP,))),
    ("new view with a prepare", lambda: NewView(1, (PREP,), ())),
    ("client key of 31 bytes", lambda: Reply(0, b"c" * 31, 1, b"")),
    ("result too long", lambda: Reply(0, b"c" * 32, 1, b"r" * (MAX_RESULT_BYTES + 1))),
    ("manifest as bytes", lambda: StateReply(0, b"", (), (), None)),
    ("manifest short of chunks", lambda: StateManifest(STATE_CHUNK_BYTES + 1, (b"m" * 32,))),
    ("manifest with a chunk too many", lambda: StateManifest(0, (b"m" * 32,))),
    ("chunk index out of range", lambda: FetchChunk(1, MAX_STATE_CHUNKS)),
    ("chunk too long", lambda: StateChunk(1, 0, b"c" * (STATE_CHUNK_BYTES + 1))),
    ("new view of wrong type", lambda: StateReply(0, None, (), (), VC)),
    ("bare new view", lambda: StateReply(0, None, (), (), NV.message)),
    ("table id of 15 bytes", lambda: Envelope(b"t" * 15, b"s" * 32, FetchState(1), b"g" * 64)),
    ("str table id", lambda: Envelope("t" * 16, b"s" * 32, FetchState(1), b"g" * 64)),
    ("sender of 33 bytes", lambda: Envelope(b"t" * 16, b"s" * 33, FetchState(1), b"g" * 64)),
    ("signature of 63 bytes", lambda: Envelope(b"t" * 16, b"s" * 32, FetchState(1), b"g" * 63)),
    ("bytearray signature",
     lambda: Envelope(b"t" * 16, b"s" * 32, FetchState(1), bytearray(b"g" * 64))),
    ("struct as a message", lambda: Envelope(b"t" * 16, b"s" * 32, PreparedProof(PP, ()),
                                             b"g" * 64)),
    ("version 2", lambda: Envelope(b"t" * 16, b"s" * 32, FetchState(1), b"g" * 64, 2)),
    ("version True", lambda: Envelope(b"t" * 16, b"s" * 32, FetchState(1), b"g" * 64, True)),
    ("version 1.0", lambda: Envelope(b"t" * 16, b"s" * 32, FetchState(1), b"g" * 64, 1.0)),
]


@pytest.mark.parametrize("build", [b for _, b in INVALID_BUILDS],
                         ids=[name for name, _ in INVALID_BUILDS])
def test_building_an_invalid_message_raises_value_error(build: Any) -> None:
    with pytest.raises(ValueError):
        build()


def test_boundary_values_are_valid() -> None:
    assert Request(U64_MAX, b"x" * MAX_OPERATION_BYTES).timestamp == U64_MAX
    assert Request(0, b"").operation == b""
    assert len(PrePrepare(0, 1, (REQ,) * MAX_BATCH_REQUESTS).requests) == MAX_BATCH_REQUESTS
    big = envelope_of(Reply(U64_MAX, b"c" * 32, U64_MAX, b"r" * MAX_RESULT_BYTES))
    assert decode_envelope(big.wire) == big


def test_messages_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        REQ.message.timestamp = 9  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        REQ.signature = b"\x00" * 64  # type: ignore[misc]


# --- signing bytes ---------------------------------------------------------------------------


@settings(max_examples=200)
@given(tables, keys, messages)
def test_signing_bytes_are_domain_separated(table: bytes, sender: bytes, message: Message) -> None:
    envelope = Envelope(table, sender, message, b"\x00" * 64)
    signed = signing_bytes(table, sender, message)
    assert envelope.signing_bytes == signed
    assert signed.startswith(SIGNING_DOMAIN)
    assert not signed.startswith(BATCH_DOMAIN)
    assert signed[len(SIGNING_DOMAIN):] == _packed(envelope.to_list()[:5])
    assert not envelope.wire.startswith(SIGNING_DOMAIN)


@settings(max_examples=300)
@given(st.sampled_from(ALL_TYPES).flatmap(
    lambda cls: st.tuples(MESSAGE_STRATEGIES[cls], st.sampled_from(list(FIELDS[cls])))
), st.data())
def test_signing_bytes_change_when_any_field_changes(
    case: tuple[Message, str], data: st.DataObject
) -> None:
    message, field = case
    new_value = data.draw(FIELDS[type(message)][field])
    assume(new_value != getattr(message, field))
    changed = dataclasses.replace(message, **{field: new_value})  # type: ignore[type-var]
    table, sender = b"t" * 16, b"s" * 32
    assert signing_bytes(table, sender, changed) != signing_bytes(table, sender, message)


@settings(max_examples=100)
@given(messages, tables, tables, keys, keys)
def test_signing_bytes_change_with_table_and_sender(
    message: Message, table_a: bytes, table_b: bytes, sender_a: bytes, sender_b: bytes
) -> None:
    base = signing_bytes(table_a, sender_a, message)
    assert (signing_bytes(table_b, sender_a, message) == base) == (table_a == table_b)
    assert (signing_bytes(table_a, sender_b, message) == base) == (sender_a == sender_b)


def test_same_fields_different_type_sign_differently() -> None:
    table, sender = b"t" * 16, b"s" * 32
    assert signing_bytes(table, sender, Prepare(1, 2, b"d" * 32)) != signing_bytes(
        table, sender, Commit(1, 2, b"d" * 32)
    )


def test_a_real_signature_binds_table_sender_and_body() -> None:
    signer = Ed25519Signer(b"\x01" * 32)
    other = Ed25519Signer(b"\x02" * 32)
    table = b"t" * 16
    message = Commit(4, 5, b"d" * 32)
    signature = signer.sign(signing_bytes(table, signer.public_key, message))
    envelope = Envelope(table, signer.public_key, message, signature)
    decoded = decode_envelope(envelope.wire)
    assert verify_one(decoded.sender, decoded.signing_bytes, decoded.signature)
    # The same signature over any change is worthless.
    for changed in (
        Envelope(b"u" * 16, signer.public_key, message, signature),
        Envelope(table, signer.public_key, Prepare(4, 5, b"d" * 32), signature),
        Envelope(table, signer.public_key, Commit(4, 6, b"d" * 32), signature),
    ):
        assert not verify_one(changed.sender, changed.signing_bytes, changed.signature)
    assert not verify_one(other.public_key, envelope.signing_bytes, signature)


def test_batch_digest_depends_on_every_request_and_order() -> None:
    a = envelope_of(Request(1, b"a"), sender=b"A" * 32)
    b = envelope_of(Request(1, b"b"), sender=b"B" * 32)
    assert batch_digest((a, b)) != batch_digest((b, a))
    assert batch_digest((a,)) != batch_digest((a, a))
    assert batch_digest(()) != batch_digest((a,))
    assert PrePrepare(0, 1, (a, b)).digest == batch_digest((a, b))
    assert PrePrepare(9, 9, (a, b)).digest == batch_digest((a, b))
    assert len(batch_digest(())) == 32
