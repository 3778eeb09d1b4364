"""Every decoder that reads bytes someone else chose, as a fuzz target.

A target names the decoder, the one error type it may raise, how to re-encode what it
returns (a decoded value must re-encode to the very bytes it came from: one encoding per
value), and where its valid seed inputs come from. Imports are lazy so a run of one target
loads only what that target needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from . import _dice_key_seeds, _host_seeds, _ledger_seeds, _seeds


@dataclass(frozen=True, slots=True)
class FuzzTarget:
    name: str
    what: str
    decode: Callable[[bytes], Any]
    errors: tuple[type[Exception], ...]
    seeds: Callable[[], tuple[bytes, ...]]
    encode: Callable[[Any], bytes] | None = None


def _consensus() -> list[FuzzTarget]:
    from bitcraps.consensus import DecodeError, decode_envelope, decode_record, encode_record

    return [
        FuzzTarget("envelope", "a signed consensus message (every type) off the wire",
                   decode_envelope, (DecodeError,), _seeds.envelopes, lambda e: e.wire),
        FuzzTarget("durable-record", "a record of a replica's durable log",
                   decode_record, (DecodeError,), _seeds.durable_records, encode_record),
    ]


def _craps() -> list[FuzzTarget]:
    from bitcraps.games._table_ops import decode_operation, decode_result, encode_operation
    from bitcraps.games.craps import (
        GameDecodeError,
        decode_action,
        decode_events,
        decode_state,
        encode_action,
        encode_events,
        encode_state,
    )

    errors = (GameDecodeError,)
    return [
        FuzzTarget("craps-action", "a player's craps action", decode_action, errors,
                   _seeds.craps_actions, encode_action),
        FuzzTarget("craps-events", "the events a craps action caused", decode_events, errors,
                   _seeds.craps_events, encode_events),
        FuzzTarget("craps-state", "a craps table's state (a snapshot)", decode_state, errors,
                   _seeds.craps_states, encode_state),
        FuzzTarget("table-operation", "an operation in a craps table's log", decode_operation,
                   errors, _seeds.table_operations, lambda o: encode_operation(o.verb, o.body)),
        FuzzTarget("table-result", "a craps table's answer to an operation", decode_result,
                   errors, _seeds.table_results),
    ]


def _fair_dice() -> list[FuzzTarget]:
    from bitcraps.accel._ed25519_group import SodiumEd25519Group
    from bitcraps.games import _coin as coin

    group = SodiumEd25519Group()
    errors = (coin.WireDecodeError,)
    return [
        FuzzTarget("coin-share", "a replica's coin share for a roll", coin.decode_coin_share,
                   errors, _seeds.coin_shares, coin.encode_coin_share),
        FuzzTarget("roll-record", "a roll's record (shares, seed, dice)", coin.decode_roll_record,
                   errors, _seeds.roll_records, coin.encode_roll_record),
        FuzzTarget("threshold-key", "a table's threshold key",
                   lambda data: coin.decode_threshold_key(data, group), errors,
                   _seeds.threshold_keys, coin.encode_threshold_key),
        FuzzTarget("dkg-message", "a replica's DKG message", coin.decode_dkg_message, errors,
                   _seeds.dkg_messages, coin.encode_dkg_message),
        FuzzTarget("dkg-transcript", "a DKG's transcript", coin.decode_transcript, errors,
                   _seeds.dkg_transcripts, coin.encode_transcript),
    ]


def _host() -> list[FuzzTarget]:
    from bitcraps.node._charter import CharterError, decode_charter, decode_reply, decode_request

    errors = (CharterError,)
    return [
        FuzzTarget("charter", "a table's signed charter", decode_charter, errors,
                   _host_seeds.charters, lambda c: c.encode()),
        FuzzTarget("host-request", "a request on the host protocol", decode_request, errors,
                   _host_seeds.host_requests, lambda r: r.encode()),
        FuzzTarget("host-reply", "a reply on the host protocol", decode_reply, errors,
                   _host_seeds.host_replies, lambda r: r.encode()),
    ]


def _dice_key() -> list[FuzzTarget]:
    from bitcraps.accel._ed25519_group import SodiumEd25519Group
    from bitcraps.games._api import GameDecodeError
    from bitcraps.games._table_ops import decode_dice_key_result, dice_key_result
    from bitcraps.node.dice_key import DiceKeyError, verify_dice_key

    group = SodiumEd25519Group()
    table_id = _dice_key_seeds.proof_table_id()

    def verify(data: bytes) -> Any:
        return verify_dice_key(_dice_key_seeds.proof_from_msgpack(data), table_id, group)

    return [
        FuzzTarget("dice-key-result", "a replica's statement of the table's dice key",
                   decode_dice_key_result, (GameDecodeError,), _dice_key_seeds.dice_key_results,
                   lambda answer: dice_key_result(*answer)),
        FuzzTarget("dice-key-proof", "the dice-key proof a node answers roll verify with "
                   "(JSON-shaped, as msgpack)", verify,
                   (DiceKeyError, _dice_key_seeds.ProofInputError),
                   _dice_key_seeds.dice_key_proofs),
    ]


def _table() -> list[FuzzTarget]:
    from bitcraps.games._api import GameDecodeError
    from bitcraps.games._shooter_timeout import decode_timeout_vote, encode_timeout_vote
    from bitcraps.games.table_terms import TermsError, decode_terms
    from bitcraps.node.client_stamps import StampFileError, encode_stamp, parse_stamp
    from bitcraps.node.request_ledger import LedgerEntry

    return [
        FuzzTarget("timeout-vote", "a replica's vote that the shooter did not roll in time",
                   decode_timeout_vote, (GameDecodeError,), _dice_key_seeds.timeout_votes,
                   encode_timeout_vote),
        FuzzTarget("table-terms", "a table's terms (lobby, receipts, dice-key proofs)",
                   decode_terms, (TermsError,), _dice_key_seeds.table_terms,
                   lambda terms: terms.encode()),
        FuzzTarget("client-stamps", "a table's client stamp file (a forged data dir)",
                   parse_stamp, (StampFileError,), _dice_key_seeds.client_stamps, encode_stamp),
        FuzzTarget("request-ledger", "an entry of a table's request ledger (a forged data "
                   "dir)", lambda data: LedgerEntry.decode(_ledger_seeds.REQUEST_ID, 0, data),
                   (ValueError,), _ledger_seeds.ledger_entries, lambda entry: entry.encode()),
    ]


def _lobby() -> list[FuzzTarget]:
    from bitcraps.transports.lobby import LobbyDecodeError, decode_announcement

    return [
        FuzzTarget("lobby-announcement", "a signed lobby announcement", decode_announcement,
                   (LobbyDecodeError,), _host_seeds.announcements, lambda a: a.encode()),
    ]


_GROUPS: dict[str, Callable[[], list[FuzzTarget]]] = {
    "envelope": _consensus, "durable-record": _consensus,
    "craps-action": _craps, "craps-events": _craps, "craps-state": _craps,
    "table-operation": _craps, "table-result": _craps,
    "coin-share": _fair_dice, "roll-record": _fair_dice, "threshold-key": _fair_dice,
    "dkg-message": _fair_dice, "dkg-transcript": _fair_dice,
    "charter": _host, "host-request": _host, "host-reply": _host,
    "lobby-announcement": _lobby,
    "dice-key-result": _dice_key, "dice-key-proof": _dice_key,
    "timeout-vote": _table, "table-terms": _table, "client-stamps": _table,
    "request-ledger": _table,
}
TARGET_NAMES: tuple[str, ...] = tuple(_GROUPS)


@cache
def _group(build: Callable[[], list[FuzzTarget]]) -> dict[str, FuzzTarget]:
    return {target.name: target for target in build()}


def get_target(name: str) -> FuzzTarget:
    """The target called `name`; KeyError if there is none."""
    return _group(_GROUPS[name])[name]
