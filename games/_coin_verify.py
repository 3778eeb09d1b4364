"""Checking a past roll offline, from the table's threshold key and the roll's record."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from ._coin_errors import InvalidCoinShare, NotEnoughShares, ShareCheck
from ._coin_group import Group
from ._coin_key import ThresholdKey
from ._coin_share import CoinShare
from ._coin_threshold import coin_seed, combine_coin_shares
from ._dice import dice_from_seed


class RollFailure(enum.Enum):
    BAD_SHARE = "a coin share is invalid"
    NOT_ENOUGH_SHARES = "fewer valid coin shares than the threshold"
    SEED_MISMATCH = "the seed is not the one the coin gives"
    DICE_MISMATCH = "the dice are not the ones the seed gives"


@dataclass(frozen=True, slots=True)
class RollVerdict:
    """`ok`, or the failure with a one-line `detail` (and for a bad share its replica and check).

    `coin`, `seed` and `dice` are what the shares really give, as far as they could be found.
    """

    roll: int
    failure: RollFailure | None
    detail: str
    replica: int | None = None
    share_check: ShareCheck | None = None
    coin: bytes | None = None
    seed: bytes | None = None
    dice: tuple[int, int] | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


def verify_roll(
    group: Group,
    key: ThresholdKey,
    roll: int,
    shares: Sequence[CoinShare],
    seed: bytes,
    dice: tuple[int, int],
) -> RollVerdict:
    """Every share valid, at least `threshold` of them, and seed and dice the ones they give."""
    try:
        coin = combine_coin_shares(group, key, roll, shares)
    except InvalidCoinShare as exc:
        return RollVerdict(roll, RollFailure.BAD_SHARE, str(exc), exc.replica, exc.check)
    except NotEnoughShares as exc:
        return RollVerdict(roll, RollFailure.NOT_ENOUGH_SHARES, str(exc))
    real_seed = coin_seed(key.table_id, roll, coin)
    real_dice = dice_from_seed(real_seed)
    if real_seed != seed:
        return RollVerdict(roll, RollFailure.SEED_MISMATCH,
                           f"roll {roll}: the claimed seed differs from the coin's",
                           coin=coin, seed=real_seed, dice=real_dice)
    if real_dice != tuple(dice):
        return RollVerdict(roll, RollFailure.DICE_MISMATCH,
                           f"roll {roll}: claimed dice {tuple(dice)}, the seed gives {real_dice}",
                           coin=coin, seed=real_seed, dice=real_dice)
    return RollVerdict(roll, None, "", coin=coin, seed=real_seed, dice=real_dice)
