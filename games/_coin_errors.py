"""Errors of the fair-dice cryptography (threshold coin, its DKG, roll verification).

Each error says whose fault it is and what exactly is wrong, so a node can count and log a
misbehaving replica and a player's CLI can name the check a past roll failed.
"""

from __future__ import annotations

import enum


class FairDiceError(Exception):
    """Base of every error the fair-dice modules raise."""


class GroupError(FairDiceError):
    """A point is not an element of Ed25519's prime-order subgroup, or the group refused."""


class WireDecodeError(FairDiceError):
    """Bytes are not exactly one canonical, well-formed message of the fair-dice protocol."""


class ShareCheck(enum.Enum):
    """The check a coin share failed; the value is the wording shown to a player."""

    UNKNOWN_REPLICA = "the replica index is not one of the table's replicas"
    NO_KEY_SHARE = "the replica holds no key share from the table's DKG"
    WRONG_ROLL = "the share is for another roll"
    INVALID_POINT = "the share is not a valid element of the group"
    PROOF_NOT_CANONICAL = "the proof's scalars are not canonical (at least the group order)"
    PROOF_MISMATCH = "the DLEQ proof does not verify against the replica's public key share"


class InvalidCoinShare(FairDiceError):
    """A replica's coin share is wrong; `replica` and `check` name who and which check."""

    def __init__(self, replica: int, check: ShareCheck) -> None:
        super().__init__(f"coin share from replica {replica} rejected: {check.value}")
        self.replica = replica
        self.check = check


class NotEnoughShares(FairDiceError):
    """Fewer distinct valid shares than the threshold: the coin is not determined by them."""

    def __init__(self, have: int, need: int) -> None:
        super().__init__(f"{have} distinct valid coin shares, the threshold is {need}")
        self.have = have
        self.need = need


class DkgNotComplete(FairDiceError):
    """The table's key generation has not finished (or failed), so there is no key yet."""


class SecretShareUnavailable(FairDiceError):
    """This replica cannot hold a valid secret key share; the reason says why."""
