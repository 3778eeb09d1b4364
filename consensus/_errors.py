"""Error families, named for whose fault they are (the h11 convention)."""

from __future__ import annotations


class ConsensusError(Exception):
    """Base of every error the consensus package raises."""


class LocalProtocolError(ConsensusError):
    """We broke the protocol: a bug in this process. Crash loudly."""


class RemoteProtocolError(ConsensusError):
    """A peer sent something invalid. Count it, drop it, carry on."""


class DecodeError(RemoteProtocolError):
    """Bytes from the network are not one well-formed canonical message."""


class ByzantineEvidence(RemoteProtocolError):
    """A peer provably misbehaved: two of its signed messages contradict each other."""

    def __init__(self, replica: int, reason: str) -> None:
        super().__init__(f"replica {replica}: {reason}")
        self.replica = replica
        self.reason = reason
