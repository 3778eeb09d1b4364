"""Signing is injected: the pure core never links a crypto library itself."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from ._messages import Envelope, iter_envelopes

SignatureCheck = tuple[bytes, bytes, bytes]
"""(public key, signed bytes, signature), exactly what libsodium's verify takes."""

BatchVerifier = Callable[[Sequence[SignatureCheck]], Sequence[bool]]


class Signer(Protocol):
    @property
    def public_key(self) -> bytes: ...

    def sign(self, data: bytes) -> bytes: ...


def signature_checks(envelope: Envelope[Any]) -> list[SignatureCheck]:
    """Every signature an envelope carries, nested certificates and client requests included."""
    return [(e.sender, e.signing_bytes, e.signature) for e in iter_envelopes(envelope)]


def verify_envelope(envelope: Envelope[Any], verify_batch: BatchVerifier) -> bool:
    """True when every signature in the envelope tree is valid; the shell calls it before `step`."""
    checks = signature_checks(envelope)
    return all(verify_batch(checks))
