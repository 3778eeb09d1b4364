"""What an attacker sends: the frames and signed payloads that broke daemons in outside trials.

Each builder returns bytes exactly as they go on the wire (one length-prefixed frame on the
table protocol carries one of them). The attacker is a real py-libp2p peer with its own key
(`bitcraps.transports.libp2p_transport`), or a stolen replica key for the Byzantine-replica
attack; nothing here talks to the daemons, it only makes bytes.
"""

from __future__ import annotations

import os

import msgpack
from nacl.signing import SigningKey

from bitcraps.consensus import Envelope, PrePrepare, Request, signing_bytes

TABLE_ID_BYTES = 16
DEEP_LEVELS = 1010


def _bin(data: bytes) -> bytes:
    return bytes(msgpack.packb(data, use_bin_type=True))


def deep_version_frame(table_id: bytes, sender: bytes) -> bytes:
    """The 1,132-byte frame whose 1,010-deep `version` ended a daemon through repr()."""
    return (b"\x96" + b"\x91" * DEEP_LEVELS + b"\x01" + b"\x01" + _bin(table_id)
            + _bin(sender) + b"\x90" + _bin(os.urandom(64)))


def list_bomb_frame(table_id: bytes, sender: bytes, *, arrays: int = 983_000) -> bytes:
    """A frame under 1 MiB holding about a million empty msgpack arrays in its body."""
    per_list = 65_535
    chunks = [b"\xdc" + per_list.to_bytes(2, "big") + b"\x90" * per_list
              for _ in range(arrays // per_list)]
    body = b"\xdc" + len(chunks).to_bytes(2, "big") + b"".join(chunks)
    return (b"\x96\x01\x02" + _bin(table_id) + _bin(sender) + body + _bin(os.urandom(64)))


def signed_request(key: SigningKey, table_id: bytes, timestamp: int,
                   operation: bytes) -> Envelope[Request]:
    sender = bytes(key.verify_key)
    request = Request(timestamp, operation)
    signature = key.sign(signing_bytes(table_id, sender, request)).signature
    return Envelope(table_id, sender, request, signature)


def forged_pre_prepare(key: SigningKey, table_id: bytes, requests: int = 4096) -> bytes:
    """A PrePrepare from a non-replica carrying `requests` requests with bad signatures: it
    must cost one check of its sender, not thousands of signature verifications."""
    forged = tuple(Envelope(table_id, os.urandom(32), Request(i + 1, b"x"), os.urandom(64))
                   for i in range(requests))
    message = PrePrepare(0, 1, forged)
    sender = bytes(key.verify_key)
    signature = key.sign(signing_bytes(table_id, sender, message)).signature
    return Envelope(table_id, sender, message, signature).wire


def poisoned_dkg_operation() -> bytes:
    """A table operation whose DKG message nests 1,010 deep: every replica orders it."""
    from bitcraps.games._table_ops import DKG, encode_operation

    return encode_operation(DKG, b"\x93" + b"\x91" * DEEP_LEVELS + b"\x01\x01\x01")
