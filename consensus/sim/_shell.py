"""What every simulated node's shell does to bytes from the network: decode, then verify.

Both steps are pure functions of their input, so the simulator shares one cache of each
across its nodes (a real node keeps its own): the verifier remembers verdicts by
(public key, signature, sha256(message)), the decoder remembers envelopes by frame bytes.
Decoded envelopes are immutable, so sharing them is safe.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from .._crypto import BatchVerifier, SignatureCheck, verify_envelope
from .._errors import DecodeError
from .._messages import Envelope, decode_envelope
from ._payloads import describe_exception

MAX_FRAME_BYTES = 1 << 20
DECODE_CACHE_ENTRIES = 8192


class CachingVerifier:
    """A BatchVerifier that asks the real one only about signatures it has not seen."""

    def __init__(self, verify_batch: BatchVerifier) -> None:
        self._verify_batch = verify_batch
        self._cache: dict[tuple[bytes, bytes, bytes], bool] = {}
        self.verified = 0

    def __call__(self, checks: Sequence[SignatureCheck]) -> list[bool]:
        keys = [(pk, sig, hashlib.sha256(msg).digest()) for pk, msg, sig in checks]
        missing = [i for i, key in enumerate(keys) if key not in self._cache]
        if missing:
            verdicts = self._verify_batch([checks[i] for i in missing])
            if len(verdicts) != len(missing):
                raise ValueError("the batch verifier returned the wrong number of verdicts")
            for i, verdict in zip(missing, verdicts, strict=True):
                self._cache[keys[i]] = bool(verdict)
            self.verified += len(missing)
        return [self._cache[key] for key in keys]


class Shell:
    """Decode and verify frames, counting what is dropped and why."""

    def __init__(self, verify_batch: BatchVerifier, max_frame_bytes: int = MAX_FRAME_BYTES) -> None:
        self.verify = CachingVerifier(verify_batch)
        self.max_frame_bytes = max_frame_bytes
        self._seen: dict[bytes, tuple[Envelope[Any], bool]] = {}
        self.decode_errors = 0
        self.bad_signatures = 0
        self.decoder_faults = 0
        self._faults: list[str] = []

    def accept(self, data: bytes) -> Envelope[Any] | None:
        """The verified envelope in `data`, or None (counted) if it must be dropped."""
        seen = self._seen.get(data)
        if seen is None:
            try:
                envelope = decode_envelope(data, self.max_frame_bytes)
            except DecodeError:
                self.decode_errors += 1
                return None
            except Exception as exc:  # the decoder's bug: reported, and the frame dropped
                self.decoder_faults += 1
                self._faults.append(describe_exception(exc))
                return None
            if len(self._seen) >= DECODE_CACHE_ENTRIES:
                self._seen.clear()
            seen = (envelope, verify_envelope(envelope, self.verify))
            self._seen[data] = seen
        if not seen[1]:
            self.bad_signatures += 1
            return None
        return seen[0]

    def take_faults(self) -> list[str]:
        """What the decoder raised other than `DecodeError` since last asked (each a bug)."""
        faults, self._faults = self._faults, []
        return faults
