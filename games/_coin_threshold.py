"""The threshold coin: shares, their verification, their combination, and the roll seed.

For roll r at table T the coin is C = x * H(T, r), where x is the table's secret no one
holds and H hashes onto the group. Replica i publishes S_i = x_i * H(T, r) with a DLEQ proof
that log_G X_i = log_H S_i. Any `threshold` valid shares give C by Lagrange interpolation in
the exponent; C is unique because every valid S_i is, so it does not matter which shares
arrive. The roll's seed is SHA-512(COIN_SEED, T, r, C) cut to 32 bytes.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._coin_errors import InvalidCoinShare, NotEnoughShares, ShareCheck
from ._coin_group import BASE, Group, hash_to_point
from ._coin_hash import (
    COIN_BASE,
    COIN_SEED,
    COIN_SHARE_PROOF,
    replica_bytes,
    roll_bytes,
    tagged_hash,
)
from ._coin_key import ThresholdKey
from ._coin_proof import ProofCheck, prove_equal_logs, verify_equal_logs
from ._coin_shamir import interpolate_in_exponent
from ._coin_share import CoinShare

SEED_BYTES = 32


def coin_base(group: Group, table_id: bytes, roll: int) -> bytes:
    """H(T, r): the point every share of this roll is a multiple of."""
    return hash_to_point(group, COIN_BASE, table_id, roll_bytes(roll))


def _proof_context(table_id: bytes, replica: int, roll: int) -> bytes:
    return tagged_hash(COIN_SHARE_PROOF, table_id, replica_bytes(replica), roll_bytes(roll))


def make_coin_share(
    group: Group, key: ThresholdKey, roll: int, replica: int, secret_share: int
) -> CoinShare:
    """This replica's share of roll `roll`; `secret_share` is its x_i from the DKG."""
    public = key.public_shares[replica] if 0 <= replica < key.replicas else None
    if public is None or group.base_mul(secret_share) != public:
        raise ValueError(f"the secret share does not belong to replica {replica} of this key")
    base = coin_base(group, key.table_id, roll)
    share = group.mul(secret_share, base)
    proof = prove_equal_logs(
        group, COIN_SHARE_PROOF, _proof_context(key.table_id, replica, roll),
        secret_share, (BASE, base), (public, share),
    )
    return CoinShare(replica, roll, share, proof)


def verify_coin_share(
    group: Group, key: ThresholdKey, roll: int, share: CoinShare, base: bytes | None = None
) -> None:
    """Raise InvalidCoinShare naming the replica and the failed check, or return."""
    replica = share.replica
    if replica >= key.replicas:
        raise InvalidCoinShare(replica, ShareCheck.UNKNOWN_REPLICA)
    public = key.public_shares[replica]
    if public is None:
        raise InvalidCoinShare(replica, ShareCheck.NO_KEY_SHARE)
    if share.roll != roll:
        raise InvalidCoinShare(replica, ShareCheck.WRONG_ROLL)
    if not group.is_valid_point(share.share):
        raise InvalidCoinShare(replica, ShareCheck.INVALID_POINT)
    if base is None:
        base = coin_base(group, key.table_id, roll)
    verdict = verify_equal_logs(
        group, COIN_SHARE_PROOF, _proof_context(key.table_id, replica, roll),
        (BASE, base), (public, share.share), share.proof,
    )
    if verdict is ProofCheck.NOT_CANONICAL:
        raise InvalidCoinShare(replica, ShareCheck.PROOF_NOT_CANONICAL)
    if verdict is ProofCheck.MISMATCH:
        raise InvalidCoinShare(replica, ShareCheck.PROOF_MISMATCH)


def combine_coin_shares(
    group: Group, key: ThresholdKey, roll: int, shares: Iterable[CoinShare]
) -> bytes:
    """The coin C from at least `threshold` shares of distinct replicas, every one valid.

    Raises InvalidCoinShare for the first bad share (a caller that collects shares from
    untrusted peers verifies each as it arrives and keeps only the valid ones) and
    NotEnoughShares below the threshold. A replica's repeated share counts once.
    """
    base = coin_base(group, key.table_id, roll)
    by_replica: dict[int, bytes] = {}
    for share in shares:
        verify_coin_share(group, key, roll, share, base)
        by_replica.setdefault(share.replica, share.share)
    if len(by_replica) < key.threshold:
        raise NotEnoughShares(len(by_replica), key.threshold)
    chosen = sorted(by_replica)[: key.threshold]
    return interpolate_in_exponent(group, {replica: by_replica[replica] for replica in chosen})


def coin_seed(table_id: bytes, roll: int, coin: bytes) -> bytes:
    """The roll's seed: what the dice and the physics animation are drawn from."""
    return tagged_hash(COIN_SEED, table_id, roll_bytes(roll), coin)[:SEED_BYTES]
