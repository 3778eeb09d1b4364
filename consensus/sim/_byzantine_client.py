"""A Byzantine client: forged signatures, replays, malformed frames, timestamp games.

It holds one real key of its own (it is a client of the scenario, so the requests it signs
validly are real submissions and may execute), and it watches the honest clients' requests
go by, as anyone on the network could. Everything else it sends must be dropped by the
shell's decoder or signature check, or be harmless to the replicas' exactly-once rule.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .._codec import pack
from .._config import ReplicaConfig
from .._crypto import Signer
from .._messages import Envelope, Message, Prepare, Request, signing_bytes
from ._rng import Rng

Frame = tuple[tuple[bytes, ...], bytes]
"""Recipient keys and the bytes to put on the wire."""

ATTACKS = ("forge", "replay", "garbage", "truncate", "oversize", "bitflip", "lower", "impostor")


@dataclass
class ByzantineClient:
    signer: Signer
    config: ReplicaConfig
    rng: Rng
    max_frame_bytes: int
    probability: float = 0.25
    timestamp: int = 1 << 20
    seen: deque[Envelope[Request]] = field(default_factory=lambda: deque(maxlen=64))
    signed: list[Envelope[Request]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def sniff(self, envelope: Envelope[Request]) -> None:
        """An honest client's request seen on the network."""
        self.seen.append(envelope)

    def act(self) -> list[Frame]:
        """This tick's attack, if any. Validly signed requests are also left in `signed`."""
        if not self.rng.chance(self.probability):
            return []
        attack = self.rng.choice(ATTACKS)
        self.counts[attack] = self.counts.get(attack, 0) + 1
        data = getattr(self, "_" + attack)()
        return [(self._recipients(), data)]

    def take_signed(self) -> list[Envelope[Request]]:
        signed, self.signed = self.signed, []
        return signed

    def _recipients(self) -> tuple[bytes, ...]:
        replicas = self.config.replicas
        return tuple(self.rng.sample(replicas, self.rng.randint(1, len(replicas))))

    def _sign(self, message: Message, sender: bytes | None = None) -> Envelope[Any]:
        table = self.config.table_id
        key = self.signer.public_key
        signature = self.signer.sign(signing_bytes(table, key, message))
        return Envelope(table, sender or key, message, signature)

    def _operation(self) -> bytes:
        key = b"k%d" % self.rng.below(4)
        return pack([b"add", key, self.rng.randint(-1000, 1000)])

    def _valid_frame(self) -> bytes:
        if self.seen and self.rng.chance(0.5):
            return self.rng.choice(self.seen).wire
        return self._lower()

    def _forge(self) -> bytes:
        """A request claiming an honest client (or us) as sender, with a bad signature."""
        request = Request(self.rng.randint(1, 100), self._operation())
        if self.seen and self.rng.chance(0.5):
            return self._sign(request, sender=self.rng.choice(self.seen).sender).wire
        victim = self.rng.choice(self.seen).sender if self.seen else self.signer.public_key
        signature = self.rng.token_bytes(64)
        return Envelope(self.config.table_id, victim, request, signature).wire

    def _replay(self) -> bytes:
        return self.rng.choice(self.seen).wire if self.seen else self._garbage()

    def _garbage(self) -> bytes:
        return self.rng.token_bytes(self.rng.randint(0, 300))

    def _truncate(self) -> bytes:
        frame = self._valid_frame()
        return frame[: self.rng.below(len(frame))]

    def _oversize(self) -> bytes:
        frame = self._valid_frame()
        pad = self.max_frame_bytes + 1 - len(frame) + self.rng.below(64)
        return frame + bytes(max(1, pad))

    def _bitflip(self) -> bytes:
        frame = bytearray(self._valid_frame())
        i = self.rng.below(len(frame))
        frame[i] ^= 1 << self.rng.below(8)
        return bytes(frame)

    def _lower(self) -> bytes:
        """A validly signed request of ours with a timestamp at or below one already sent."""
        if self.rng.chance(0.3):
            self.timestamp += self.rng.randint(1, 50)
        else:
            self.timestamp = max(1, self.timestamp - self.rng.randint(0, 20))
        envelope = self._sign(Request(self.timestamp, self._operation()))
        self.signed.append(envelope)
        return envelope.wire

    def _impostor(self) -> bytes:
        """A replica message signed by a client key: valid signature, wrong role."""
        return self._sign(Prepare(0, self.rng.randint(1, 8), self.rng.token_bytes(32))).wire
