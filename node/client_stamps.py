"""A durable ceiling on the request timestamps this node's clients of one table have used.

Replicas ignore a client's request unless its timestamp is later than that client's last
executed one, and answer an equal one with the cached reply. The node's client keys are the
same in every run, so after a restart its clients must number on from where they stopped even
when the clock went back. Before any request at or above the ceiling leaves, the shell raises
the ceiling a block at a time (`reserve`), durably: one fsync per block, not per request; on
start every client numbers from the stored ceiling at least.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

__all__ = ["STAMP_BLOCK", "ClientStamps", "MemoryStamps", "StampFile", "StampFileError",
           "encode_stamp", "parse_stamp"]

STAMP_BLOCK = 60_000_000
"""How far one reservation reaches: a minute of microsecond timestamps."""
_MAX_DIGITS = 20
MAX_CEILING = 2**64 - 1  # a request's timestamp is a u64


class StampFileError(ValueError):
    """A stamp file's bytes that are not one ceiling; the message never quotes them."""


def parse_stamp(raw: bytes) -> int:
    """The ceiling a stamp file holds: decimal digits of a u64, no leading zero, then one
    newline (what `encode_stamp` writes, and only that); `StampFileError` for anything else."""
    text = raw[:-1] if type(raw) is bytes else b""
    if (not text or not raw.endswith(b"\n") or not text.isdigit()
            or len(text) > _MAX_DIGITS or (len(text) > 1 and text.startswith(b"0"))):
        raise StampFileError(f"a stamp file is 1..{_MAX_DIGITS} decimal digits and a newline")
    ceiling = int(text)
    if ceiling > MAX_CEILING:
        raise StampFileError("a stamp file's ceiling is a u64")
    return ceiling


def encode_stamp(ceiling: int) -> bytes:
    return b"%d\n" % ceiling


class ClientStamps(Protocol):
    @property
    def ceiling(self) -> int:
        """Every timestamp this node's clients ever used is below it."""
        ...

    def reserve(self, ceiling: int) -> None:
        """Raise the ceiling; durable when this returns (blocking: call it off the loop)."""
        ...


class MemoryStamps:
    """The ceiling kept in memory only: for tests and nodes without a data dir."""

    def __init__(self, ceiling: int = 0) -> None:
        self.ceiling = ceiling
        self.reservations = 0

    def reserve(self, ceiling: int) -> None:
        self.ceiling = max(self.ceiling, ceiling)
        self.reservations += 1


class StampFile:
    """The ceiling in a small file: written aside, fsynced, renamed into place, directory
    fsynced. A missing or damaged file reads as 0 (`damaged` says which): the replicas'
    client table still gives a floor, and the next reservation rewrites the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.damaged = False
        self.reservations = 0
        self.ceiling = self._load()

    def _load(self) -> int:
        try:
            with open(self.path, "rb") as handle:  # read bounded: the file may be forged
                raw = handle.read(_MAX_DIGITS + 2)
        except FileNotFoundError:
            return 0
        try:
            return parse_stamp(raw)
        except StampFileError:
            self.damaged = True
            return 0

    def reserve(self, ceiling: int) -> None:
        if ceiling <= self.ceiling:
            return
        partial = self.path.with_name(self.path.name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, encode_stamp(ceiling))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(partial, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        self.ceiling = ceiling
        self.reservations += 1
        self.damaged = False
