"""The operations a craps table's replicated log carries, and the results it answers.

An operation is the bytes of one signed client request (canonical msgpack)::

    [b"act", action]   a player's game action (`CrapsTable.encode_action`); the request's
                       signer must be the action's player (or shooter)
    [b"dkg", message]  a replica's DKG message (`encode_dkg_message`)
    [b"share", share]  a replica's coin share for the pending roll (`encode_coin_share`)
    [b"timeout", vote] a replica's vote that the shooter has not rolled in time
                       (`encode_timeout_vote`)
    [b"key", b""]      anyone's question: what is this table's dice key? It changes nothing

A result is one of::

    [b"ok", events]                  the events it caused (`CrapsTable.encode_events`)
    [b"rejected", code, reason]      the table refused it; nothing changed
    [b"dice-key", table_id, key]     the answer to ``key`` (`encode_threshold_key`): each
                                     replica signs it in its reply, so f+1 replies that
                                     agree are the table's statement of its dice key
"""

from __future__ import annotations

from dataclasses import dataclass

from ._api import GameDecodeError, pack, unpack

__all__ = [
    "ACT",
    "DKG",
    "KEY",
    "SHARE",
    "TIMEOUT",
    "Operation",
    "TableResult",
    "decode_dice_key_result",
    "decode_operation",
    "decode_result",
    "dice_key_result",
    "encode_operation",
    "ok_result",
    "rejected_result",
]

ACT, DKG, SHARE, TIMEOUT, KEY = b"act", b"dkg", b"share", b"timeout", b"key"
VERBS = (ACT, DKG, SHARE, TIMEOUT, KEY)
DICE_KEY = b"dice-key"
MAX_TABLE_ID_BYTES = 64
MAX_OPERATION_BYTES = 64 * 1024
MAX_RESULT_BYTES = 1024 * 1024
MAX_REASON_BYTES = 512


@dataclass(frozen=True, slots=True)
class Operation:
    verb: bytes
    body: bytes


def encode_operation(verb: bytes, body: bytes) -> bytes:
    if verb not in VERBS:
        raise ValueError(f"unknown table operation ({len(verb)}-byte verb)")
    return pack([verb, body])


def decode_operation(data: bytes) -> Operation:
    """One operation, or `GameDecodeError` saying what is wrong with the bytes."""
    fields = unpack(data, MAX_OPERATION_BYTES, max_depth=1, max_arrays=1)
    if type(fields) is not list or len(fields) != 2 or not all(type(f) is bytes for f in fields):
        raise GameDecodeError("an operation is [verb, body], both byte strings")
    if fields[0] not in VERBS:
        raise GameDecodeError(f"unknown operation ({len(fields[0])}-byte verb)")
    return Operation(fields[0], fields[1])


@dataclass(frozen=True, slots=True)
class TableResult:
    ok: bool
    events: bytes = b""
    code: str = ""
    reason: str = ""


def ok_result(events: bytes) -> bytes:
    return pack([b"ok", events])


def rejected_result(code: str, reason: str) -> bytes:
    return pack([b"rejected", code.encode(), reason.encode()[:MAX_REASON_BYTES]])


def decode_result(data: bytes) -> TableResult:
    fields = unpack(data, MAX_RESULT_BYTES, max_depth=1, max_arrays=1)
    if type(fields) is list and len(fields) == 2 and fields[0] == b"ok" \
            and type(fields[1]) is bytes:
        return TableResult(True, fields[1])
    if type(fields) is list and len(fields) == 3 and fields[0] == b"rejected" \
            and all(type(f) is bytes for f in fields[1:]):
        return TableResult(False, code=fields[1].decode("utf-8", "replace"),
                           reason=fields[2].decode("utf-8", "replace"))
    raise GameDecodeError("a result is [b'ok', events] or [b'rejected', code, reason]")


def dice_key_result(table_id: bytes, key: bytes) -> bytes:
    """The answer to ``key``: this table's id and its encoded threshold key."""
    return pack([DICE_KEY, table_id, key])


def decode_dice_key_result(data: bytes) -> tuple[bytes, bytes]:
    """(table id, encoded threshold key) from an answer to ``key``; `GameDecodeError` for
    anything else (a refusal included: the key is not ready yet)."""
    fields = unpack(data, MAX_RESULT_BYTES, max_depth=1, max_arrays=1)
    if type(fields) is not list or len(fields) != 3 or fields[0] != DICE_KEY \
            or not all(type(f) is bytes for f in fields[1:]) \
            or not 0 < len(fields[1]) <= MAX_TABLE_ID_BYTES:
        raise GameDecodeError("a dice-key answer is [b'dice-key', table_id, key]")
    return fields[1], fields[2]
