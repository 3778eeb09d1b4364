"""The DKG over an ordered log, on the real libsodium group: honest runs, Byzantine dealers
and complainers, silent replicas, the message rules and the transcript.

Deterministic: seeds are SHA-256 of fixed labels and the simulator's order comes from a
fixed `order_seed`, so any failure replays as is.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools

import pytest

from bitcraps.accel._ed25519_group import SodiumEd25519Group
from bitcraps.games._coin import (
    DKG_BYZANTINE_BEHAVIOURS,
    CoinRound,
    ComplaintDismissed,
    DealerDisqualified,
    DkgClose,
    DkgComplaints,
    DkgConfig,
    DkgEvent,
    DkgMessage,
    DkgNotComplete,
    DkgParticipant,
    DkgRun,
    DkgState,
    MessageAccepted,
    MessageRejected,
    Phase,
    PhaseClosed,
    SecretShareUnavailable,
    WireDecodeError,
    decode_transcript,
    encode_dkg_message,
    encode_threshold_key,
    encode_transcript,
    make_coin_share,
    replay_transcript,
    simulate_dkg,
)
from bitcraps.games._coin_group import sum_points
from bitcraps.games._coin_hash import DKG_SHARE_PAD
from bitcraps.games._coin_shamir import interpolate_scalars
from bitcraps.games._dkg_crypto import derive_secrets

GROUP = SodiumEd25519Group()
TABLE = b"dkg-test-table-1"


def seeds(n: int, label: str = "dkg") -> list[bytes]:
    return [hashlib.sha256(f"{label}/{n}/{i}".encode()).digest() for i in range(n)]


def run(n: int, behaviours: dict[int, str] | None = None, order: bytes = b"o") -> DkgRun:
    result = simulate_dkg(GROUP, DkgConfig(TABLE, n), seeds(n), behaviours, order_seed=order)
    assert result.finished, f"DKG n={n} {behaviours} did not finish in {result.rounds} rounds"
    return result


def assert_sound(result: DkgRun, byzantine: set[int]) -> None:
    """Every replica has the same key; every honest key holder's secret share matches it;
    any threshold of them interpolate to the group secret; a coin can be rolled."""
    encodings = {encode_threshold_key(state.key) for state in result.states.values()}
    assert len(encodings) == 1
    key = result.states[0].key
    dealings = result.states[0].dealings
    assert key.group_key == sum_points(GROUP, [dealings[d].commitments[0] for d in key.dealers])
    honest = [i for i in key.holders if i not in byzantine]
    secrets = {i: result.participants[i].secret_share(result.states[i]) for i in honest}
    for i, secret in secrets.items():
        assert GROUP.base_mul(secret) == key.public_shares[i]
    for subset in itertools.combinations(honest, key.threshold):
        secret = interpolate_scalars({i: secrets[i] for i in subset})
        assert GROUP.base_mul(secret) == key.group_key
    coin = CoinRound(GROUP, key, 0)
    for i in honest:
        coin.add(make_coin_share(GROUP, key, 0, i, secrets[i]))
    assert coin.complete


@pytest.mark.parametrize("n", [4, 7])
def test_honest_dkg_completes_with_every_replica(n: int) -> None:
    result = run(n)
    key = result.states[0].key
    assert key.holders == tuple(range(n))
    assert key.dealers == tuple(range(n))
    assert key.threshold == (n - 1) // 3 + 1
    assert result.rounds == 3  # keys, dealings, complaints: no timeout was needed
    assert_sound(result, set())


@pytest.mark.parametrize("n", [4, 7])
def test_order_of_the_log_does_not_matter_to_honest_results(n: int) -> None:
    keys = {encode_threshold_key(run(n, order=bytes([o])).states[0].key) for o in range(3)}
    assert len(keys) == 1  # every dealing is in, so QUAL and the key are the same


DEALER_CASES = [
    ("bad-share", "does not match the commitments"),
    ("inconsistent-commitments", "does not match the commitments"),
    ("garbage-ciphertext", "the share for replica"),
    ("wrong-commitment-count", "commitments, a degree-"),
]


@pytest.mark.parametrize(("behaviour", "reason"), DEALER_CASES, ids=[c[0] for c in DEALER_CASES])
@pytest.mark.parametrize("n", [4, 7])
def test_byzantine_dealer_is_detected_and_excluded(n: int, behaviour: str, reason: str) -> None:
    dealer = n - 1
    result = run(n, {dealer: behaviour})
    key = result.states[0].key
    assert dealer not in key.dealers
    assert set(key.dealers) == set(range(n)) - {dealer}
    events = [event for _, event in result.events]
    if behaviour == "wrong-commitment-count":
        rejected = [e for e in events if isinstance(e, MessageRejected) and e.replica == dealer]
        expected = (
            f"malformed dealing: {key.threshold + 1} commitments, a degree-"
            f"{key.threshold - 1} polynomial has {key.threshold}"
        )
        assert [e.reason for e in rejected if e.kind == "DkgDealing"] == [expected]
    else:
        disqualified = [e for e in events if isinstance(e, DealerDisqualified)]
        assert disqualified and all(e.dealer == dealer for e in disqualified)
        assert reason in disqualified[0].reason
        assert result.states[0].disqualified[dealer] == disqualified[0].reason
    assert_sound(result, {dealer})


def test_f_byzantine_dealers_at_seven() -> None:
    result = run(7, {2: "bad-share", 5: "garbage-ciphertext"})
    assert result.states[0].key.dealers == (0, 1, 3, 4, 6)
    assert_sound(result, {2, 5})
    result = run(7, {0: "silent", 3: "inconsistent-commitments"})
    key = result.states[0].key
    assert key.dealers == (1, 2, 4, 5, 6) and key.public_shares[0] is None
    assert_sound(result, {0, 3})


@pytest.mark.parametrize("n", [4, 7])
def test_false_and_forged_complaints_are_dismissed(n: int) -> None:
    byzantine = {1: "false-complaint"} if n == 4 else {1: "false-complaint", 5: "forged-complaint"}
    result = run(n, byzantine)
    key = result.states[0].key
    assert key.dealers == tuple(range(n))  # no honest dealer was disqualified
    dismissed = [e for _, e in result.events if isinstance(e, ComplaintDismissed)]
    assert {e.complainer for e in dismissed} == set(byzantine)
    assert len(dismissed) == len(byzantine) * (n - 1)
    reasons = {e.complainer: e.reason for e in dismissed}
    assert "matches the commitments" in reasons[1]
    if n == 7:
        assert "DLEQ proof does not verify" in reasons[5]
    assert_sound(result, set(byzantine))


@pytest.mark.parametrize(("n", "silent"), [(4, {2}), (7, {1, 4})])
def test_silent_replicas_cannot_block_the_dkg(n: int, silent: set[int]) -> None:
    result = run(n, {i: "silent" for i in silent})
    key = result.states[0].key
    assert set(key.holders) == set(range(n)) - silent
    assert all(key.public_shares[i] is None for i in silent)
    assert len(result.states[0].votes(Phase.KEYS) - silent) >= len(silent) + 1
    for i in silent:
        with pytest.raises(SecretShareUnavailable, match="was not in"):
            result.participants[i].secret_share(result.states[i])
    assert_sound(result, silent)


def test_every_behaviour_is_exercised() -> None:
    covered = {c[0] for c in DEALER_CASES} | {"silent", "false-complaint", "forged-complaint"}
    assert covered == set(DKG_BYZANTINE_BEHAVIOURS)


# --- driving a DKG by hand ---------------------------------------------------------------------


def _participants(n: int) -> tuple[DkgConfig, DkgState, list[DkgParticipant]]:
    config = DkgConfig(TABLE, n)
    return (
        config,
        DkgState(GROUP, config),
        [
            DkgParticipant(GROUP, config, i, seed, phase_timeout_ticks=1)
            for i, seed in enumerate(seeds(n, "hand"))
        ],
    )


def _post(state: DkgState, sender: int, message: DkgMessage) -> tuple[DkgEvent, ...]:
    return state.apply(sender, message)


def _reason(events: tuple[DkgEvent, ...]) -> str:
    assert isinstance(events[0], MessageRejected), events
    return events[0].reason


def _accepted(events: tuple[DkgEvent, ...]) -> bool:
    return isinstance(events[0], MessageAccepted)


def test_message_rules() -> None:
    config, state, people = _participants(4)
    key0 = people[0].key_message()
    forged = dataclasses.replace(people[1].key_message(), proof=key0.proof)
    rejected = [
        (_post(state, 1, key0), "posted by replica 1 in the name of 0"),
        (_post(state, 9, key0), "not a replica of this table"),
        (_post(state, 1, forged), "proof of knowledge does not verify"),
        (_post(state, 1, dataclasses.replace(forged, public_key=bytes(32))), "not a valid point"),
        (_post(state, 0, DkgClose(0, Phase.DEALINGS)), "phase DEALINGS is not open"),
        (_post(state, 0, DkgComplaints(0, ())), "phase COMPLAINTS is not open"),
    ]
    assert _accepted(_post(state, 0, key0))
    rejected.append((_post(state, 0, key0), "already registered"))
    for events, reason in rejected:
        assert len(events) == 1 and reason in _reason(events)
    assert state.transcript == ((0, key0),)  # rejected messages changed nothing
    assert _accepted(_post(state, 0, DkgClose(0, Phase.KEYS)))
    assert not _accepted(_post(state, 0, DkgClose(0, Phase.KEYS)))


def test_keys_phase_waits_for_f_plus_one_votes_and_n_minus_f_keys() -> None:
    config, state, people = _participants(4)  # f = 1: 2 votes, 3 keys
    _post(state, 0, people[0].key_message())
    _post(state, 0, DkgClose(0, Phase.KEYS))
    _post(state, 1, DkgClose(1, Phase.KEYS))
    assert state.phase is Phase.KEYS  # two votes, but only one key
    _post(state, 1, people[1].key_message())
    assert state.phase is Phase.KEYS
    events = _post(state, 2, people[2].key_message())
    assert state.phase is Phase.DEALINGS and state.holders == (0, 1, 2)
    assert events[-1] == PhaseClosed(Phase.KEYS, Phase.DEALINGS)
    assert "KEYS is not open" in _reason(_post(state, 3, people[3].key_message()))


def test_dealings_need_a_key_holder_and_a_sound_ephemeral_key() -> None:
    config, state, people = _participants(4)
    for p in people[:3]:
        _post(state, p.replica, p.key_message())
    for i in (0, 1):
        _post(state, i, DkgClose(i, Phase.KEYS))
    assert state.holders == (0, 1, 2)
    outsider = people[3].dealing(state)
    assert "not a key holder" in _reason(_post(state, 3, outsider))
    honest = people[0].dealing(state)
    assert _accepted(_post(state, 0, honest))
    # Dealer 1 reuses dealer 0's ephemeral key (to make complaints open dealer 0's shares).
    copied = dataclasses.replace(
        people[1].dealing(state), ephemeral=honest.ephemeral, ephemeral_proof=honest.ephemeral_proof
    )
    assert "ephemeral key's proof does not verify" in _reason(_post(state, 1, copied))
    assert "already dealt" in _reason(_post(state, 0, honest))


def test_complaints_must_name_distinct_dealers_that_dealt() -> None:
    result = run(4, {3: "bad-share"})
    state = DkgState(GROUP, DkgConfig(TABLE, 4))
    entries = [e for e in result.log if not isinstance(e[1], DkgComplaints)]
    for sender, message in entries:
        state.apply(sender, message)
    assert state.phase is Phase.COMPLAINTS
    victim = result.participants[0]
    [complaint] = victim.complaints(state).complaints
    twice = DkgComplaints(0, (complaint, complaint))
    assert "two complaints against one dealer" in _reason(_post(state, 0, twice))
    stranger = DkgComplaints(0, (dataclasses.replace(complaint, dealer=9),))
    assert "dealing is not in" in _reason(_post(state, 0, stranger))
    events = _post(state, 0, victim.complaints(state))
    assert isinstance(events[1], DealerDisqualified) and events[1].dealer == 3


def test_a_complaint_too_late_leaves_its_victim_without_a_share() -> None:
    """Complaints close once all key holders but f posted and f+1 voted: a victim whose
    complaint misses that point knows its share is unusable and says so."""
    result = run(4, {3: "bad-share"})  # the victim is replica 0
    state = DkgState(GROUP, DkgConfig(TABLE, 4))
    for sender, message in result.log:
        if isinstance(message, DkgComplaints) or (
            isinstance(message, DkgClose) and message.phase is Phase.COMPLAINTS
        ):
            continue
        state.apply(sender, message)
    for i in (1, 2, 3):
        _post(state, i, result.participants[i].complaints(state))
    assert state.phase is Phase.COMPLAINTS
    _post(state, 1, DkgClose(1, Phase.COMPLAINTS))
    _post(state, 2, DkgClose(2, Phase.COMPLAINTS))
    assert state.phase is Phase.COMPLETE and 3 in state.key.dealers
    with pytest.raises(SecretShareUnavailable, match="dealer 3 dealt replica 0 a bad share"):
        result.participants[0].secret_share(state)
    for i in (1, 2):
        x = result.participants[i].secret_share(state)
        assert GROUP.base_mul(x) == state.key.public_shares[i]


def test_messages_after_the_end_are_rejected() -> None:
    result = run(4)
    state = result.states[0]
    events = state.apply(0, DkgClose(0, Phase.KEYS))
    assert isinstance(events[0], MessageRejected) and "the DKG is over" in events[0].reason


def test_participant_is_a_function_of_its_seed_and_the_log() -> None:
    result = run(4)
    config = DkgConfig(TABLE, 4)
    again = DkgParticipant(GROUP, config, 2, seeds(4)[2])
    state = result.states[2]
    assert again.secret_share(state) == result.participants[2].secret_share(state)
    own = [m for sender, m in result.log if sender == 2]
    assert encode_dkg_message(again.key_message()) == encode_dkg_message(own[0])
    with pytest.raises(DkgNotComplete):
        again.secret_share(DkgState(GROUP, config))
    with pytest.raises(ValueError, match="32 random bytes"):
        derive_secrets(config, 0, b"short")
    with pytest.raises(ValueError, match="not one of the 4 replicas"):
        DkgParticipant(GROUP, config, 4, seeds(4)[0])


def test_transcript_replays_to_the_same_key() -> None:
    result = run(7, {6: "bad-share", 2: "false-complaint"})
    state = result.states[0]
    data = encode_transcript(state.transcript)
    replayed = replay_transcript(GROUP, state.config, decode_transcript(data))
    assert encode_threshold_key(replayed.key) == encode_threshold_key(state.key)
    assert replayed.disqualified == state.disqualified
    entries = list(state.transcript)
    entries[0], entries[1] = entries[1], entries[0]
    entries.insert(2, entries[0])  # a repeated key: a transcript holds accepted messages only
    with pytest.raises(WireDecodeError, match="entry 2 is rejected"):
        replay_transcript(GROUP, state.config, entries)


def test_state_is_not_complete_before_the_end() -> None:
    state = DkgState(GROUP, DkgConfig(TABLE, 4))
    with pytest.raises(DkgNotComplete, match="phase KEYS"):
        state.key  # noqa: B018 (the property raises)


def test_shares_travel_as_the_documented_hashed_elgamal() -> None:
    """pad = SHA-512(tagged: share-pad, table, dealer, holder, R, E, D)[:32], D = k * R."""
    result = run(4)
    state = result.states[0]
    dealer, holder = 2, 1
    dealing = state.dealings[dealer]
    secret_key = derive_secrets(state.config, holder, seeds(4)[holder]).key
    shared = GROUP.mul(secret_key, dealing.ephemeral)
    parts = [TABLE, dealer.to_bytes(2, "big"), holder.to_bytes(2, "big"), dealing.ephemeral,
             state.keys[holder], shared]
    framed = DKG_SHARE_PAD + b"".join(len(p).to_bytes(4, "big") + p for p in parts)
    pad = hashlib.sha512(framed).digest()[:32]
    plain = bytes(a ^ b for a, b in zip(dealing.ciphertexts[holder], pad, strict=True))
    share = int.from_bytes(plain, "little")
    assert share == result.participants[holder].share_from(state, dealer)
    expected = sum_points(GROUP, [GROUP.mul((holder + 1) ** k, c)
                                  for k, c in enumerate(dealing.commitments)])
    assert GROUP.base_mul(share) == expected
