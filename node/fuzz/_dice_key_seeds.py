"""Valid inputs for the dice-key, timeout-vote, terms and stamp-file targets.

A dice-key proof is JSON where it travels (the daemon's answer to `roll verify`); the fuzzer
mutates msgpack trees, so the proof target takes the same JSON-shaped value as msgpack (a map
of strings, a list of strings) and `proof_from_msgpack` turns bytes into the value
`verify_dice_key` is given. Its seed is a real proof: a real DKG for the fuzz table's id and
the replies of f+1 of its replicas, really signed.
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Any

import msgpack

from bitcraps.accel._ed25519_group import SodiumEd25519Group
from bitcraps.consensus import Envelope, Reply, signing_bytes
from bitcraps.games import _coin as coin
from bitcraps.games._shooter_timeout import TimeoutVote, encode_timeout_vote
from bitcraps.games._table_ops import dice_key_result
from bitcraps.games.table_terms import SHOOTER_TIMEOUT_PARAM, TableTerms

from ._host_seeds import SIGNERS, fuzz_terms

MAX_PROOF_ITEMS = 64
MAX_PROOF_TEXT = 64 * 1024


class ProofInputError(ValueError):
    """Bytes that hold no JSON-shaped value: the harness's refusal, before the verifier."""


def proof_from_msgpack(data: bytes) -> Any:
    """The JSON-shaped value in `data`, bounded; `ProofInputError` for anything else."""
    try:
        return msgpack.unpackb(data, raw=False, strict_map_key=True, use_list=True,
                               max_str_len=MAX_PROOF_TEXT, max_bin_len=MAX_PROOF_TEXT,
                               max_array_len=MAX_PROOF_ITEMS, max_map_len=MAX_PROOF_ITEMS,
                               max_ext_len=0)
    except Exception as exc:  # msgpack raises many types; each means malformed input
        raise ProofInputError(f"not msgpack: {type(exc).__name__}") from None


def proof_table_id() -> bytes:
    """The table id the proof target verifies against (the fuzz terms')."""
    return fuzz_terms().table_id


@cache
def dice_key_statement() -> tuple[bytes, bytes]:
    """The fuzz table's encoded threshold key (a real DKG) and its dice-key answer."""
    terms = fuzz_terms()
    group = SodiumEd25519Group()
    seeds = [hashlib.sha256(b"fuzz-dice-key%d" % i).digest() for i in range(terms.n)]
    run = coin.simulate_dkg(group, coin.DkgConfig(terms.table_id, terms.n), seeds, {})
    key = coin.encode_threshold_key(run.states[0].key)
    return key, dice_key_result(terms.table_id, key)


def dice_key_results() -> tuple[bytes, ...]:
    return (dice_key_statement()[1],)


@cache
def dice_key_proofs() -> tuple[bytes, ...]:
    from bitcraps.node.dice_key import make_dice_key_proof

    terms = fuzz_terms()
    key, result = dice_key_statement()
    replies = []
    for signer in SIGNERS[:terms.f + 1]:
        message = Reply(0, b"\x05" * 32, 7, result)
        signature = signer.sign(signing_bytes(terms.table_id, signer.public_key, message))
        replies.append(Envelope(terms.table_id, signer.public_key, message, signature))
    proof = make_dice_key_proof(terms, key, tuple(replies))
    return (bytes(msgpack.packb(proof, use_bin_type=True)),)


def timeout_votes() -> tuple[bytes, ...]:
    return (encode_timeout_vote(TimeoutVote(b"alice", 0, 1)),
            encode_timeout_vote(TimeoutVote(b"\xff" * 64, 2**63 - 1, 2**40)))


def table_terms() -> tuple[bytes, ...]:
    terms = fuzz_terms()
    timed = TableTerms(terms.game, terms.replicas, terms.min_bet, terms.max_bet, terms.seats,
                       terms.salt, ((SHOOTER_TIMEOUT_PARAM, 600), ("z", 2**64 - 1)))
    return terms.encode(), timed.encode()


def client_stamps() -> tuple[bytes, ...]:
    return b"0\n", b"60000000\n", b"18446744073709551615\n"
