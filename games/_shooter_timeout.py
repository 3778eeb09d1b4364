"""Votes that a shooter took too long, and their tally: how a griefing shooter loses the dice.

Replicas share no clock, so none of them can decide alone that a shooter has waited too long.
Each replica counts its own ticks while one turn lasts (`CrapsState.turn`: the same shooter,
roll number and hand, no roll asked for); after the table's `shooter_timeout_ticks` it posts
one signed vote naming that turn. The replicated table counts distinct replicas' votes for
the turn in progress; the (f+1)-th passes the dice, so at least one honest replica saw the
timeout. A vote for any other turn is stale and refused, the same on every replica: a turn
never repeats (`hand` grows with every change of hands), so no old vote can count again.

A vote's body is canonical msgpack ``[shooter, roll_number, hand]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._api import GameDecodeError, pack, unpack
from .craps import CrapsState

__all__ = ["TimeoutTally", "TimeoutVote", "decode_timeout_vote", "encode_timeout_vote"]

MAX_VOTE_BYTES = 128
MAX_PLAYER_BYTES = 64
MAX_INT = 2**63 - 1


@dataclass(frozen=True, slots=True)
class TimeoutVote:
    """One replica's word that this turn's shooter has not asked for the roll in time."""

    shooter: bytes
    roll_number: int
    hand: int

    def __post_init__(self) -> None:
        if type(self.shooter) is not bytes or not 1 <= len(self.shooter) <= MAX_PLAYER_BYTES:
            raise ValueError(f"a shooter is 1..{MAX_PLAYER_BYTES} bytes")
        for value in (self.roll_number, self.hand):
            if type(value) is not int or not 0 <= value <= MAX_INT:
                raise ValueError("a roll number and a hand are integers in [0, 2^63)")

    @classmethod
    def of(cls, state: CrapsState) -> TimeoutVote | None:
        """The vote against the turn now in progress (None when no turn is running)."""
        turn = state.turn
        return None if turn is None else cls(*turn)


def encode_timeout_vote(vote: TimeoutVote) -> bytes:
    return pack([vote.shooter, vote.roll_number, vote.hand])


def decode_timeout_vote(data: bytes) -> TimeoutVote:
    """A vote, or `GameDecodeError` (which never quotes the bytes)."""
    return _vote(unpack(data, MAX_VOTE_BYTES, max_depth=1))


def _vote(obj: Any) -> TimeoutVote:
    if type(obj) is not list or len(obj) != 3:
        raise GameDecodeError("a timeout vote is [shooter, roll_number, hand]")
    try:
        return TimeoutVote(*obj)
    except ValueError as exc:
        raise GameDecodeError(f"not a timeout vote: {exc}") from None


@dataclass(frozen=True, slots=True)
class TimeoutTally:
    """The distinct replicas (by index) that voted against one turn."""

    vote: TimeoutVote
    voters: frozenset[int]

    def to_wire(self) -> list[Any]:
        return [encode_timeout_vote(self.vote), sorted(self.voters)]

    @classmethod
    def from_wire(cls, obj: Any, replicas: int, needed: int) -> TimeoutTally:
        """Strict: sorted, distinct replica indices, fewer than `needed` (a tally that had
        reached it would have passed the dice and been cleared)."""
        if type(obj) is not list or len(obj) != 2 or type(obj[0]) is not bytes:
            raise GameDecodeError("a timeout tally is [vote, voters]")
        vote, voters = decode_timeout_vote(obj[0]), obj[1]
        if (type(voters) is not list or not 1 <= len(voters) < needed
                or any(type(v) is not int or not 0 <= v < replicas for v in voters)
                or voters != sorted(set(voters))):
            raise GameDecodeError("a tally's voters are sorted, distinct replica indices, "
                                  "fewer than the votes that pass the dice")
        return cls(vote, frozenset(voters))
