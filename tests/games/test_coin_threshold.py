"""The threshold coin on the real libsodium group, with keys from a real DKG run (n = 4, 7).

Every run is deterministic: DKG seeds are SHA-256 of fixed labels, so a failure replays.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from dataclasses import dataclass

import nacl.bindings as sodium
import pytest

from bitcraps.accel._ed25519_group import SodiumEd25519Group
from bitcraps.games._coin import (
    BASE,
    CoinRound,
    CoinShare,
    DkgConfig,
    InvalidCoinShare,
    NotEnoughShares,
    RollFailure,
    ShareCheck,
    ThresholdKey,
    coin_base,
    coin_seed,
    combine_coin_shares,
    decode_roll_record,
    decode_threshold_key,
    dice_from_seed,
    encode_roll_record,
    encode_threshold_key,
    make_coin_share,
    simulate_dkg,
    verify_coin_share,
    verify_roll,
)
from bitcraps.games._coin_hash import COIN_BASE, COIN_SEED, roll_bytes
from bitcraps.games._coin_shamir import interpolate_in_exponent, interpolate_scalars

GROUP = SodiumEd25519Group()
TABLE = bytes.fromhex("00112233445566778899aabbccddeeff")
ROLL = 41


@dataclass(frozen=True)
class Table:
    key: ThresholdKey
    secrets: dict[int, int]

    @property
    def f(self) -> int:
        return self.key.threshold - 1

    def shares(self, roll: int = ROLL) -> dict[int, CoinShare]:
        return {i: make_coin_share(GROUP, self.key, roll, i, x) for i, x in self.secrets.items()}


def seeds(n: int, label: str) -> list[bytes]:
    return [hashlib.sha256(f"{label}/{n}/{i}".encode()).digest() for i in range(n)]


def run_table(n: int, behaviours: dict[int, str] | None = None) -> Table:
    run = simulate_dkg(GROUP, DkgConfig(TABLE, n), seeds(n, "coin"), behaviours)
    behaviours = behaviours or {}
    key = run.states[0].key
    secrets = {
        i: run.participants[i].secret_share(run.states[i])
        for i in key.holders
        if i not in behaviours
    }
    return Table(key, secrets)


@pytest.fixture(scope="module", params=[4, 7], ids=lambda n: f"n={n}")
def table(request: pytest.FixtureRequest) -> Table:
    return run_table(request.param)


def test_the_coin_is_the_group_secret_times_the_roll_point(table: Table) -> None:
    key = table.key
    holders = sorted(table.secrets)[: key.threshold]
    secret = interpolate_scalars({i: table.secrets[i] for i in holders})
    assert GROUP.base_mul(secret) == key.group_key
    coin = combine_coin_shares(GROUP, key, ROLL, table.shares().values())
    assert coin == GROUP.mul(secret, coin_base(GROUP, TABLE, ROLL))


def test_any_threshold_of_valid_shares_gives_the_same_coin(table: Table) -> None:
    shares = table.shares()
    coins = set()
    for size in range(table.key.threshold, len(shares) + 1):
        for subset in itertools.combinations(sorted(shares), size):
            coins.add(combine_coin_shares(GROUP, table.key, ROLL, [shares[i] for i in subset]))
    assert len(coins) == 1


def test_f_shares_cannot_make_the_coin(table: Table) -> None:
    shares = table.shares()
    coin = combine_coin_shares(GROUP, table.key, ROLL, shares.values())
    for subset in itertools.combinations(sorted(shares), table.f):
        with pytest.raises(NotEnoughShares) as caught:
            combine_coin_shares(GROUP, table.key, ROLL, [shares[i] for i in subset])
        assert (caught.value.have, caught.value.need) == (table.f, table.f + 1)
        # Interpolating what f replicas hold is a different point, not the coin ...
        guess = interpolate_in_exponent(GROUP, {i: shares[i].share for i in subset})
        assert guess != coin
        # ... and each candidate for one more share completes them to a different coin:
        # f shares leave the coin undetermined.
        other = next(i for i in range(table.key.replicas) if i not in subset)
        real = {**{i: shares[i].share for i in subset}, other: shares[other].share}
        fake = {**real, other: GROUP.add(real[other], BASE)}
        assert interpolate_in_exponent(GROUP, real) == coin
        assert interpolate_in_exponent(GROUP, fake) != coin


def test_repeated_shares_count_once(table: Table) -> None:
    share = table.shares()[0]
    with pytest.raises(NotEnoughShares):
        combine_coin_shares(GROUP, table.key, ROLL, [share] * table.key.replicas)


def _bad_shares(table: Table) -> list[tuple[CoinShare, ShareCheck]]:
    shares = table.shares()
    good = shares[1]
    challenge_plus_order = (
        int.from_bytes(good.proof[:32], "little") + 2**252 + 27742317777372353535851937790883648493
    )
    return [
        (dataclasses.replace(good, share=GROUP.add(good.share, BASE)), ShareCheck.PROOF_MISMATCH),
        (dataclasses.replace(good, share=shares[2].share), ShareCheck.PROOF_MISMATCH),
        (dataclasses.replace(good, proof=shares[2].proof), ShareCheck.PROOF_MISMATCH),
        (
            dataclasses.replace(
                good, proof=good.proof[:40] + bytes([good.proof[40] ^ 1]) + good.proof[41:]
            ),
            ShareCheck.PROOF_MISMATCH,
        ),
        (
            dataclasses.replace(
                good, proof=challenge_plus_order.to_bytes(32, "little") + good.proof[32:]
            ),
            ShareCheck.PROOF_NOT_CANONICAL,
        ),
        (dataclasses.replace(good, share=bytes(32)), ShareCheck.INVALID_POINT),
        (dataclasses.replace(good, share=b"\x01" + bytes(31)), ShareCheck.INVALID_POINT),
        (dataclasses.replace(good, roll=ROLL + 1), ShareCheck.WRONG_ROLL),
        (table.shares(ROLL + 1)[1], ShareCheck.WRONG_ROLL),
        (dataclasses.replace(good, replica=table.key.replicas), ShareCheck.UNKNOWN_REPLICA),
    ]


def test_a_wrong_share_or_proof_is_rejected_and_named(table: Table) -> None:
    for bad, check in _bad_shares(table):
        with pytest.raises(InvalidCoinShare) as caught:
            verify_coin_share(GROUP, table.key, ROLL, bad)
        assert (caught.value.replica, caught.value.check) == (bad.replica, check)
        assert f"replica {bad.replica}" in str(caught.value)
        assert check.value in str(caught.value)


def test_combine_names_the_bad_share_among_good_ones(table: Table) -> None:
    shares = table.shares()
    bad = dataclasses.replace(shares[2], share=GROUP.add(shares[2].share, BASE))
    with pytest.raises(InvalidCoinShare) as caught:
        combine_coin_shares(GROUP, table.key, ROLL, [shares[0], shares[1], bad, shares[3]])
    assert (caught.value.replica, caught.value.check) == (2, ShareCheck.PROOF_MISMATCH)


def test_a_replica_without_a_key_share_is_named() -> None:
    table = run_table(4, {3: "silent"})
    assert table.key.public_shares[3] is None
    stray = dataclasses.replace(table.shares()[0], replica=3)
    with pytest.raises(InvalidCoinShare) as caught:
        verify_coin_share(GROUP, table.key, ROLL, stray)
    assert caught.value.check is ShareCheck.NO_KEY_SHARE


def test_withheld_and_bad_shares_cannot_stop_the_roll(table: Table) -> None:
    """f replicas are Byzantine: they withhold, or send bad shares; 2f+1 honest ones roll."""
    shares = table.shares()
    byzantine = list(range(table.f))
    honest = [i for i in sorted(shares) if i not in byzantine]
    records = set()
    orders = list(itertools.permutations(honest))
    for order in orders[:: max(1, len(orders) // 12)]:
        round_ = CoinRound(GROUP, table.key, ROLL)
        for replica in byzantine:
            with pytest.raises(InvalidCoinShare):
                round_.add(
                    dataclasses.replace(
                        shares[replica], share=GROUP.add(shares[replica].share, BASE)
                    )
                )
        for replica in order:
            if round_.add(shares[replica]):
                break
        assert round_.complete
        records.add((round_.record.seed, round_.record.dice))
    assert len(records) == 1


def test_coin_round_reports_progress(table: Table) -> None:
    shares = table.shares()
    round_ = CoinRound(GROUP, table.key, ROLL)
    with pytest.raises(NotEnoughShares):
        round_.record  # noqa: B018 (the property raises)
    for count, replica in enumerate(sorted(shares)[: table.key.threshold], start=1):
        assert round_.add(shares[replica]) is (count == table.key.threshold)
        assert round_.add(shares[replica]) is (count == table.key.threshold)
    record = round_.record
    assert len(record.shares) == table.key.threshold
    assert record.dice == dice_from_seed(record.seed)
    assert verify_roll(GROUP, table.key, ROLL, record.shares, record.seed, record.dice).ok


def test_seed_is_the_documented_hash_of_the_coin(table: Table) -> None:
    coin = combine_coin_shares(GROUP, table.key, ROLL, table.shares().values())
    framed = COIN_SEED
    for part in (TABLE, roll_bytes(ROLL), coin):
        framed += len(part).to_bytes(4, "big") + part
    assert coin_seed(TABLE, ROLL, coin) == hashlib.sha512(framed).digest()[:32]


def test_roll_point_is_the_documented_hash() -> None:
    framed = COIN_BASE + b"".join(len(p).to_bytes(4, "big") + p for p in (TABLE, roll_bytes(9)))
    uniform = hashlib.sha512(framed).digest()
    expected = sodium.crypto_core_ed25519_add(
        sodium.crypto_core_ed25519_from_uniform(uniform[:32]),
        sodium.crypto_core_ed25519_from_uniform(uniform[32:]),
    )
    assert coin_base(GROUP, TABLE, 9) == expected


def test_rolls_differ_and_shares_are_deterministic(table: Table) -> None:
    seeds_by_roll = {
        roll: coin_seed(
            TABLE, roll, combine_coin_shares(GROUP, table.key, roll, table.shares(roll).values())
        )
        for roll in range(5)
    }
    assert len(set(seeds_by_roll.values())) == 5
    assert table.shares(3) == table.shares(3)


def test_make_coin_share_refuses_a_secret_that_is_not_the_replicas(table: Table) -> None:
    with pytest.raises(ValueError, match="does not belong to replica 1"):
        make_coin_share(GROUP, table.key, ROLL, 1, table.secrets[0])


# --- verifying a past roll offline -----------------------------------------------------------


def _record(table: Table) -> tuple[tuple[CoinShare, ...], bytes, tuple[int, int]]:
    shares = table.shares()
    used = tuple(shares[i] for i in sorted(shares)[: table.key.threshold])
    seed = coin_seed(TABLE, ROLL, combine_coin_shares(GROUP, table.key, ROLL, used))
    return used, seed, dice_from_seed(seed)


def test_verify_roll_accepts_an_honest_roll(table: Table) -> None:
    shares, seed, dice = _record(table)
    key = decode_threshold_key(encode_threshold_key(table.key), GROUP)
    verdict = verify_roll(GROUP, key, ROLL, shares, seed, dice)
    assert verdict.ok and verdict.failure is None
    assert (verdict.seed, verdict.dice) == (seed, dice)


def test_verify_roll_names_each_failure(table: Table) -> None:
    shares, seed, dice = _record(table)
    other_dice = ((dice[0] % 6) + 1, dice[1])
    tampered = dataclasses.replace(shares[0], share=GROUP.add(shares[0].share, BASE))
    cases = [
        (verify_roll(GROUP, table.key, ROLL, shares, bytes(32), dice), RollFailure.SEED_MISMATCH),
        (verify_roll(GROUP, table.key, ROLL, shares, seed, other_dice), RollFailure.DICE_MISMATCH),
        (
            verify_roll(GROUP, table.key, ROLL, shares[:-1], seed, dice),
            RollFailure.NOT_ENOUGH_SHARES,
        ),
        (
            verify_roll(GROUP, table.key, ROLL, (tampered, *shares[1:]), seed, dice),
            RollFailure.BAD_SHARE,
        ),
        (verify_roll(GROUP, table.key, ROLL + 1, shares, seed, dice), RollFailure.BAD_SHARE),
    ]
    for verdict, failure in cases:
        assert not verdict.ok
        assert verdict.failure is failure, verdict.detail
        assert verdict.detail
    bad_share = cases[3][0]
    assert (bad_share.replica, bad_share.share_check) == (
        shares[0].replica,
        ShareCheck.PROOF_MISMATCH,
    )
    assert cases[4][0].share_check is ShareCheck.WRONG_ROLL
    assert cases[0][0].seed == seed


def test_roll_record_round_trips(table: Table) -> None:
    round_ = CoinRound(GROUP, table.key, ROLL)
    for share in table.shares().values():
        round_.add(share)
    record = round_.record
    assert decode_roll_record(encode_roll_record(record)) == record
