"""Table charters and host-protocol messages: canonical, strict, signed by their creator."""

from __future__ import annotations

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from bitcraps.games.table_terms import TableTerms, TermsError
from bitcraps.node._charter import (
    CHARTER,
    OFFER,
    RELEASE,
    Charter,
    CharterError,
    HostReply,
    HostRequest,
    decode_charter,
    decode_reply,
    decode_request,
    sign_charter,
)
from bitcraps.node.table_formation import CharterStore

KEYS = [SigningKey(bytes([i + 1]) * 32) for i in range(4)]
PUBLIC = [bytes(k.verify_key) for k in KEYS]


SALT = bytes(range(16))


def derived_id(fields: dict[str, object]) -> bytes:
    """The table id the fields' terms derive (16 zero bytes when they are not valid terms)."""
    try:
        return TableTerms(fields["game"], fields["replicas"], fields["min_bet"],  # type: ignore
                          fields["max_bet"], fields["seats"], fields["salt"]).table_id
    except (TermsError, TypeError):
        return bytes(16)


def charter(**changes: object) -> Charter:
    fields: dict[str, object] = dict(
        game="kv", replicas=tuple(PUBLIC),
        addresses=tuple((f"/ip4/127.0.0.1/tcp/{4000 + i}",) for i in range(4)),
        min_bet=1, max_bet=100, seats=8, salt=SALT, creator=PUBLIC[0])
    fields.update(changes)
    fields.setdefault("table_id", derived_id(fields))
    return sign_charter(Charter(**fields),  # type: ignore[arg-type]
                        lambda message: KEYS[0].sign(message).signature)


def test_a_charter_round_trips_and_names_its_replicas_addresses() -> None:
    original = charter()
    decoded = decode_charter(original.encode())
    assert decoded == original
    assert decoded.address_book()[PUBLIC[2]] == ("/ip4/127.0.0.1/tcp/4002",)


def test_a_forged_or_altered_charter_is_refused() -> None:
    signed = charter()
    moved = ((signed.addresses[0][0].replace("4000", "5000"),), *signed.addresses[1:])
    altered = Charter(signed.table_id, signed.game, signed.replicas, moved, 1, 100,
                      signed.seats, signed.salt, signed.creator, signed.signature)
    with pytest.raises(CharterError, match="signature"):
        decode_charter(altered.encode())
    forged = Charter(signed.table_id, signed.game, signed.replicas, signed.addresses, 1, 100,
                     signed.seats, signed.salt, PUBLIC[1], signed.signature)
    with pytest.raises(CharterError, match="signature"):
        decode_charter(forged.encode())


def test_the_table_id_commits_to_the_charters_terms() -> None:
    real = charter()
    assert real.table_id == real.terms.table_id
    # Each term changed under the real table id: another table, refused even when signed.
    for changes in ({"max_bet": 1_000}, {"seats": 9}, {"game": "craps"}, {"salt": bytes(16)},
                    {"replicas": tuple(reversed(PUBLIC))},
                    {"replicas": (PUBLIC[0], *(bytes([7 + i]) * 32 for i in range(3)))}):
        with pytest.raises(CharterError, match="table id is not the one"):
            charter(table_id=real.table_id, **changes)
    # Bytes signed by an attacker who lists itself alone under the real id: refused too.
    attacker = SigningKey(bytes([99]) * 32)
    fields = [2, real.table_id, "kv", [bytes(attacker.verify_key)], [[]], [1, 100], 8,
              real.salt, bytes(attacker.verify_key)]
    data = msgpack.packb(fields, use_bin_type=True)
    signature = attacker.sign(b"bitcraps/v1/charter\x00" + data).signature
    with pytest.raises(CharterError, match="table id is not the one"):
        decode_charter(msgpack.packb([*fields, signature], use_bin_type=True))


@pytest.mark.parametrize("changes, message", [
    ({"creator": bytes(32)}, "creator is one of the replicas"),
    ({"replicas": (PUBLIC[0], PUBLIC[0])}, "distinct"),
    ({"addresses": ((),)}, "addresses"),
    ({"min_bet": 5, "max_bet": 4}, "min_bet <= max_bet"),
    ({"salt": b"short"}, "salt"),
    ({"game": ""}, "game"),
    ({"table_id": b"short"}, "table_id"),
])
def test_an_invalid_charter_cannot_be_built(changes: dict[str, object], message: str) -> None:
    with pytest.raises(CharterError, match=message):
        charter(**changes)


def test_non_canonical_or_truncated_bytes_are_refused() -> None:
    encoded = charter().encode()
    # the same value with the limits' integers widened to longer msgpack forms
    wide = encoded.replace(b"\x92\x01d", b"\x92\xcd\x00\x01\xcd\x00d")
    assert wide != encoded and msgpack.unpackb(wide) == msgpack.unpackb(encoded)
    with pytest.raises(CharterError, match="canonical"):
        decode_charter(wide)
    with pytest.raises(CharterError, match="not msgpack"):
        decode_charter(encoded[:-1])


def test_host_requests_and_replies_round_trip() -> None:
    table_id = bytes(16)
    for request in (HostRequest(OFFER, table_id, "kv"), HostRequest(RELEASE, table_id),
                    HostRequest(CHARTER, charter().table_id, "kv", charter())):
        assert decode_request(request.encode()) == request
    reply = HostReply(True, "", ("/ip4/127.0.0.1/tcp/1",))
    assert decode_reply(reply.encode()) == reply


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.binary(max_size=512))
def test_any_bytes_give_a_message_or_one_error(data: bytes) -> None:
    for decode in (decode_charter, decode_request, decode_reply):
        try:
            decode(data)
        except CharterError:
            pass


def test_the_store_keeps_charters_and_reports_damaged_files(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    store = CharterStore(tmp_path)
    store.save(charter())
    (store.directory / ("ab" * 16 + ".charter")).write_bytes(b"\x00garbage")
    charters, problems = store.load_all()
    assert charters == [charter()]
    assert len(problems) == 1 and "abab" in problems[0]


@pytest.mark.parametrize("data", [
    b"\x9a" + b"\x91" * 1010 + b"\x01" + b"\xc0" * 9,  # a 1,010-deep list as the version
    b"\x92\x01\xc4\x10" + b"\x91" * 16,  # a charter request whose charter is nested lists
    b"\x93\x00" + b"\x91" * 5000 + b"\x01" + b"\xa2kv",  # an offer with a deep "salt"
    b"\xdd\xff\xff\xff\xff",  # an array that declares 2**32 - 1 items
    b"\xc6\x7f\xff\xff\xff",  # bytes that declare 2 GiB
    b"\x9a" + b"\xa0" * 10,
])
def test_hostile_bytes_give_one_error_that_quotes_nothing(data: bytes) -> None:
    for decode in (decode_charter, decode_request, decode_reply):
        with pytest.raises(CharterError) as caught:
            decode(data)
        assert len(str(caught.value)) < 200 and "[[" not in str(caught.value)
