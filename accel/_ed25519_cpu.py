"""Ed25519 on the CPU through libsodium (PyNaCl): the reference every backend must match."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import nacl.bindings
import nacl.exceptions
import nacl.signing

SignatureCheck = tuple[bytes, bytes, bytes]
MIN_CHUNK = 16


class Ed25519Signer:
    """An Ed25519 signing key; `public_key` is the node or client identity."""

    def __init__(self, seed: bytes) -> None:
        self._key = nacl.signing.SigningKey(seed)
        self._secret = bytes(self._key._signing_key)
        self.public_key = bytes(self._key.verify_key)

    @classmethod
    def generate(cls) -> Ed25519Signer:
        return cls(os.urandom(32))

    def sign(self, data: bytes) -> bytes:
        return nacl.bindings.crypto_sign(data, self._secret)[:64]


def verify_one(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Exactly libsodium's verdict: `crypto_sign_open(signature + message, public_key)`."""
    if len(signature) != 64 or len(public_key) != 32:
        return False
    try:
        nacl.bindings.crypto_sign_open(signature + message, public_key)
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
        return False
    return True


def _verify_chunk(checks: Sequence[SignatureCheck]) -> list[bool]:
    return [verify_one(pk, msg, sig) for pk, msg, sig in checks]


class CpuBatchVerifier:
    """Verifies batches on a thread pool; libsodium releases the GIL, so cores add up."""

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads or max(1, os.cpu_count() or 1)
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="ed25519")

    def __call__(self, checks: Sequence[SignatureCheck]) -> list[bool]:
        if len(checks) < 2 * MIN_CHUNK or self.threads == 1:
            return _verify_chunk(checks)
        results: list[bool] = []
        for part in self._pool.map(_verify_chunk, self._chunks(checks)):
            results.extend(part)
        return results

    def submit(self, checks: Sequence[SignatureCheck]) -> Future[list[bool]]:
        """Start a batch on the pool and return at once; the caller works while it runs."""
        futures = [self._pool.submit(_verify_chunk, chunk) for chunk in self._chunks(checks)]
        if len(futures) == 1:
            return futures[0]
        joined: Future[list[bool]] = Future()
        if not futures:
            joined.set_result([])
            return joined
        left = [len(futures)]
        lock = threading.Lock()

        def one_done(_: Future[list[bool]]) -> None:
            with lock:
                left[0] -= 1
                if left[0]:
                    return
            try:
                joined.set_result([ok for future in futures for ok in future.result()])
            except BaseException as exc:  # a broken pool: hand the error to the waiter
                joined.set_exception(exc)

        for future in futures:
            future.add_done_callback(one_done)
        return joined

    def _chunks(self, checks: Sequence[SignatureCheck]) -> list[Sequence[SignatureCheck]]:
        if len(checks) < 2 * MIN_CHUNK or self.threads == 1:
            return [checks] if checks else []
        size = max(MIN_CHUNK, -(-len(checks) // self.threads))
        return [checks[i:i + size] for i in range(0, len(checks), size)]

    def close(self) -> None:
        self._pool.shutdown(wait=False)
