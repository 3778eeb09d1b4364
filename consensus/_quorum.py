"""Quorum certificates: a pre-prepare from its view's primary plus matching votes."""

from __future__ import annotations

from collections.abc import Sequence

from ._config import ReplicaConfig
from ._errors import RemoteProtocolError
from ._messages import Commit, Envelope, Prepare, PrePrepare


def check_certificate(
    config: ReplicaConfig,
    pre_prepare: Envelope[PrePrepare],
    votes: Sequence[Envelope[Prepare]] | Sequence[Envelope[Commit]],
    needed: int,
    name: str,
    primary_votes: bool,
) -> None:
    """Raise unless `votes` hold `needed` distinct replicas agreeing with the pre-prepare.

    Prepares never come from the primary (`primary_votes=False`); commits may.
    """
    message = pre_prepare.message
    primary = config.primary(message.view)
    if pre_prepare.sender != config.replicas[primary]:
        raise RemoteProtocolError(f"{name}'s pre-prepare is not from its primary")
    expected = (message.view, message.seq, message.digest)
    senders: set[int] = set()
    for vote in votes:
        index = config.index_of(vote.sender)
        if index is None or index in senders or (index == primary and not primary_votes):
            kind = type(vote.message).__name__.lower()
            raise RemoteProtocolError(f"{name} has a bad {kind} signer")
        body = vote.message
        if (body.view, body.seq, body.digest) != expected:
            raise RemoteProtocolError(f"{name}'s votes do not match its pre-prepare")
        senders.add(index)
    if len(senders) < needed:
        raise RemoteProtocolError(f"{name} lacks a quorum")
