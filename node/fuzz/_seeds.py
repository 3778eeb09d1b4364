"""Valid encodings to mutate, made by the project's own encoders from real values.

Consensus messages and durable records are built from their schemas (every field kind gets
a sample value, nested envelopes are really signed), so a message added later is fuzzed too.
The fair-dice records come from a real DKG run and real coin shares; craps values from a few
rounds of a real table.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cache
from typing import Any

from bitcraps.accel._ed25519_cpu import Ed25519Signer
from bitcraps.accel._ed25519_group import SodiumEd25519Group
from bitcraps.consensus import (
    Envelope,
    Message,
    Prepare,
    ViewState,
    encode_record,
    signing_bytes,
)
from bitcraps.consensus._durable import _RECORD_TYPES
from bitcraps.consensus._messages import _MESSAGES, SignedKind, Struct, StructKind
from bitcraps.consensus._schema import Bin, Kind, Lazy, Optional, Seq, UInt
from bitcraps.games import _coin as coin
from bitcraps.games._table_ops import DKG, SHARE, encode_operation, ok_result, rejected_result

TABLE = b"fuzz-table-0001!"
SIGNER = Ed25519Signer(hashlib.sha256(b"bitcraps/fuzz/signer").digest())


def _signed(message: Message) -> Envelope[Any]:
    key = SIGNER.public_key
    return Envelope(TABLE, key, message, SIGNER.sign(signing_bytes(TABLE, key, message)))


def _sample(kind: Kind, depth: int) -> Any:
    """A small valid value of `kind` (empty collections once `depth` runs out)."""
    if isinstance(kind, Lazy):
        return _sample(kind.kind, depth)
    if isinstance(kind, UInt):
        return min(3, kind.maximum)
    if isinstance(kind, Bin):
        return b"\x07" * max(kind.min_len, min(kind.max_len, 8))
    if isinstance(kind, Optional):
        return _sample(kind.inner, depth) if depth > 0 else None
    if isinstance(kind, Seq):
        return (_sample(kind.item, depth - 1),) if depth > 0 else ()
    if isinstance(kind, SignedKind):
        return _signed(_struct(kind.message_cls, depth - 1))
    if isinstance(kind, StructKind):
        return _struct(kind.struct, depth - 1)
    return _signed(Prepare(1, 2, b"\x03" * 32))  # any envelope (a durable OwnMessage)


def _struct(cls: type[Struct], depth: int) -> Any:
    for budget in (depth, 0):  # a cross-field rule may refuse the sample; then go minimal
        try:
            return cls(*(_sample(kind, budget) for _, kind in cls.FIELDS))
        except ValueError:
            continue
    raise ValueError(f"no sample value builds a {cls.__name__}")


@cache
def envelopes() -> tuple[bytes, ...]:
    """One signed envelope of every message type, nested ones as deep as the schema goes."""
    return tuple(_signed(_struct(cls, 6)).wire for cls in _MESSAGES)


@cache
def durable_records() -> tuple[bytes, ...]:
    records = [_struct(cls, 6) for cls in _RECORD_TYPES.values()]
    return tuple(encode_record(record) for record in [*records, ViewState(7, 1)])


@cache
def _dkg_run() -> Any:
    group = SodiumEd25519Group()
    config = coin.DkgConfig(TABLE, 4)
    seeds = [hashlib.sha256(b"fuzz%d" % i).digest() for i in range(4)]
    run = coin.simulate_dkg(group, config, seeds, {3: "bad-share"})
    key = run.states[0].key
    secrets = {i: run.participants[i].secret_share(run.states[i]) for i in (0, 1, 2)}
    shares = [coin.make_coin_share(group, key, 5, i, x) for i, x in secrets.items()]
    round_ = coin.CoinRound(group, key, 5)
    for share in shares:
        round_.add(share)
    return run, key, shares, round_.record


def dkg_messages() -> tuple[bytes, ...]:
    run = _dkg_run()[0]
    return tuple(coin.encode_dkg_message(m) for _, m in run.states[0].transcript)


def dkg_transcripts() -> tuple[bytes, ...]:
    return (coin.encode_transcript(_dkg_run()[0].states[0].transcript),)


def coin_shares() -> tuple[bytes, ...]:
    return tuple(coin.encode_coin_share(share) for share in _dkg_run()[2])


def threshold_keys() -> tuple[bytes, ...]:
    return (coin.encode_threshold_key(_dkg_run()[1]),)


def roll_records() -> tuple[bytes, ...]:
    return (coin.encode_roll_record(_dkg_run()[3]),)


def table_operations() -> tuple[bytes, ...]:
    return (*(encode_operation(DKG, m) for m in dkg_messages()[:3]),
            *(encode_operation(SHARE, s) for s in coin_shares()[:1]),
            *(encode_operation(b"act", a) for a in craps_actions()[:3]))


def table_results() -> tuple[bytes, ...]:
    return (*(ok_result(events) for events in craps_events()[:3]),
            rejected_result("wrong_phase", "not now"))


@cache
def _craps_game() -> tuple[tuple[bytes, ...], tuple[bytes, ...], tuple[bytes, ...]]:
    """A few rounds at a real table: every action, event list and state it went through."""
    from bitcraps.games import craps

    table = craps.CrapsTable()
    state = table.initial_state(craps.TableConfig())
    actions: list[bytes] = []
    events: list[bytes] = []
    states = [table.encode_state(state)]
    for number, action in enumerate(_script(craps, state)):
        actions.append(table.encode_action(action))
        if table.validate(state, action) is None:
            seed = hashlib.sha256(b"fuzz-roll%d" % number).digest()
            state, happened = table.apply(state, action, seed)
            events.append(table.encode_events(happened))
            states.append(table.encode_state(state))
    return tuple(actions), tuple(events), tuple(states)


def _script(craps: Any, state: Any) -> list[Any]:
    alice, bob = b"alice", b"bob"
    kind: Callable[[str], Any] = craps.BetKind
    return [
        craps.Join(alice, 1000), craps.Join(bob, 500),
        craps.PlaceBet(alice, kind("pass"), 10), craps.PlaceBet(bob, kind("dont_pass"), 5),
        craps.PlaceBet(bob, kind("field"), 5),
        *(step for roll in range(1, 4) for step in (
            craps.RollRequest(alice, roll), craps.Roll(alice, roll, 3, roll + 1))),
        craps.TakeDown(bob, 1), craps.CashOut(bob), craps.Leave(bob),
    ]


def craps_actions() -> tuple[bytes, ...]:
    return _craps_game()[0]


def craps_events() -> tuple[bytes, ...]:
    return _craps_game()[1]


def craps_states() -> tuple[bytes, ...]:
    return _craps_game()[2]
