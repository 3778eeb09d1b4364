"""One roll's coin, collected share by share until the threshold is reached."""

from __future__ import annotations

from ._coin_errors import NotEnoughShares
from ._coin_group import Group
from ._coin_key import ThresholdKey
from ._coin_record import RollRecord
from ._coin_shamir import interpolate_in_exponent
from ._coin_share import CoinShare
from ._coin_threshold import coin_base, coin_seed, verify_coin_share
from ._dice import dice_from_seed


class CoinRound:
    """Feed it shares in any order (the log's, the network's); bad ones raise and are not kept.

    Once `threshold` replicas' valid shares are in, the coin, seed and dice are fixed: they
    are the same whichever shares came first, so a replica that withholds its share delays
    nothing while `threshold` others are honest. Later shares are not needed and are ignored.
    """

    def __init__(self, group: Group, key: ThresholdKey, roll: int) -> None:
        self._group = group
        self._key = key
        self.roll = roll
        self._base = coin_base(group, key.table_id, roll)
        self._shares: dict[int, CoinShare] = {}
        self._record: RollRecord | None = None

    @property
    def complete(self) -> bool:
        return self._record is not None

    def add(self, share: CoinShare) -> bool:
        """Take one share; True once the roll is determined. Raises InvalidCoinShare."""
        if self._record is not None or share.replica in self._shares:
            return self._record is not None
        verify_coin_share(self._group, self._key, self.roll, share, self._base)
        self._shares[share.replica] = share
        if len(self._shares) == self._key.threshold:
            self._record = self._finish()
        return self._record is not None

    def _finish(self) -> RollRecord:
        shares = tuple(self._shares[replica] for replica in sorted(self._shares))
        coin = interpolate_in_exponent(self._group, {s.replica: s.share for s in shares})
        seed = coin_seed(self._key.table_id, self.roll, coin)
        return RollRecord(self.roll, shares, seed, dice_from_seed(seed))

    @property
    def record(self) -> RollRecord:
        """The shares used, the seed and the dice; raises NotEnoughShares before the threshold."""
        if self._record is None:
            raise NotEnoughShares(len(self._shares), self._key.threshold)
        return self._record
