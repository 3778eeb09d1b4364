"""What a replica persists, and the pure model of how storage keeps it.

Storage is a keyed set of records. Writing a record replaces any record with the same key;
a `StableCheckpoint` at seq s also deletes every record tied to a seq at or below s. The
SQLite store in node/ implements exactly these rules; `DurableLog` is their reference.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from ._codec import pack, unpack
from ._errors import DecodeError
from ._messages import (
    MAX_SNAPSHOT_BYTES,
    Checkpoint,
    Commit,
    CommitCertificate,
    Envelope,
    NewView,
    Prepare,
    PreparedProof,
    PrePrepare,
    SignedKind,
    Struct,
    StructKind,
    ViewChange,
)
from ._schema import Bin, Kind, Seq, UInt
from ._wire_shape import envelope_depth, limits_for_depth, struct_depth


class _AnySigned(Kind):
    def check(self, value: Any) -> None:
        if type(value) is not Envelope:
            raise ValueError("expected an envelope")

    def encode(self, value: Any) -> Any:
        return value.to_list()

    def decode(self, obj: Any) -> Any:
        return Envelope.from_list(obj)


@dataclass(frozen=True, slots=True)
class OwnMessage(Struct):
    """A message this replica signed and sent: its vote, kept so it is never contradicted."""

    CODE: ClassVar[int] = 1
    FIELDS = (("envelope", _AnySigned()),)
    envelope: Envelope[Any]

    @property
    def key(self) -> tuple[Any, ...]:
        message = self.envelope.message
        if isinstance(message, (PrePrepare, Prepare, Commit)):
            return (type(message).__name__, message.view, message.seq)
        if isinstance(message, Checkpoint):
            return ("Checkpoint", message.seq)
        return (type(message).__name__,)

    @property
    def seq(self) -> int | None:
        message = self.envelope.message
        if isinstance(message, (ViewChange, NewView)):
            return None
        return getattr(message, "seq", None)


@dataclass(frozen=True, slots=True)
class ViewState(Struct):
    """The view this replica is in, and whether it is still changing into it."""

    CODE: ClassVar[int] = 2
    FIELDS = (("view", UInt()), ("changing", UInt(1)))
    view: int
    changing: int

    key: ClassVar[tuple[str]] = ("ViewState",)
    seq: ClassVar[None] = None


@dataclass(frozen=True, slots=True)
class Committed(Struct):
    """A batch this replica executed, with the certificate that proves it committed."""

    CODE: ClassVar[int] = 3
    FIELDS = (("certificate", StructKind(CommitCertificate)),)
    certificate: CommitCertificate

    @property
    def key(self) -> tuple[Any, ...]:
        return ("Committed", self.seq)

    @property
    def seq(self) -> int:
        return self.certificate.pre_prepare.message.seq


@dataclass(frozen=True, slots=True)
class Prepared(Struct):
    """A prepared certificate this replica holds; view change must still offer it after a crash."""

    CODE: ClassVar[int] = 6
    FIELDS = (("proof", StructKind(PreparedProof)),)
    proof: PreparedProof

    @property
    def key(self) -> tuple[Any, ...]:
        return ("Prepared", self.seq)

    @property
    def seq(self) -> int:
        return self.proof.pre_prepare.message.seq


@dataclass(frozen=True, slots=True)
class StableCheckpoint(Struct):
    """The latest stable checkpoint: the state snapshot and 2f+1 signed agreements on it."""

    CODE: ClassVar[int] = 4
    FIELDS = (
        ("seq", UInt()),
        ("snapshot", Bin(0, MAX_SNAPSHOT_BYTES)),
        ("proof", Seq(SignedKind(Checkpoint), 64)),
    )
    seq: int
    snapshot: bytes
    proof: tuple[Envelope[Checkpoint], ...]

    key: ClassVar[tuple[str]] = ("StableCheckpoint",)


@dataclass(frozen=True, slots=True)
class LatestNewView(Struct):
    """The NEW-VIEW that installed the current view, to show replicas left behind."""

    CODE: ClassVar[int] = 5
    FIELDS = (("envelope", SignedKind(NewView)),)
    envelope: Envelope[NewView]

    key: ClassVar[tuple[str]] = ("LatestNewView",)
    seq: ClassVar[None] = None


Record = OwnMessage | ViewState | Committed | Prepared | StableCheckpoint | LatestNewView
_RECORD_TYPES: dict[int, type[Struct]] = {
    cls.CODE: cls
    for cls in (OwnMessage, ViewState, Committed, Prepared, StableCheckpoint, LatestNewView)
}


def encode_record(record: Record) -> bytes:
    return pack([record.CODE, record.to_list()])


def _record_depth() -> int:
    """[code, fields]: one array around each record's fields; an OwnMessage holds any envelope."""
    others = (cls for cls in _RECORD_TYPES.values() if cls is not OwnMessage)
    return max(2 + envelope_depth(), *(1 + struct_depth(cls) for cls in others))


_RECORD_LIMITS = limits_for_depth(_record_depth())


def decode_record(data: bytes) -> Record:
    """Storage bytes back to a record; DecodeError if the bytes are damaged or are not the
    record's one canonical encoding (as strict as the wire: a forged file gets no leeway)."""
    obj = unpack(data, limits=_RECORD_LIMITS)
    if type(obj) is not list or len(obj) != 2 or type(obj[0]) is not int \
            or obj[0] not in _RECORD_TYPES:
        raise DecodeError("not a persisted record")
    record: Record = _RECORD_TYPES[obj[0]].from_list(obj[1])
    if encode_record(record) != bytes(data):
        raise DecodeError("non-canonical record encoding")
    return record


def record_seq(record: Record) -> int | None:
    """The sequence number a record is tied to, if garbage collection may drop it."""
    if isinstance(record, StableCheckpoint):
        return None
    return record.seq


class DurableLog:
    """In-memory reference storage: what survives a crash in the simulator."""

    def __init__(self) -> None:
        self._records: dict[tuple[Any, ...], tuple[int, Record]] = {}
        self._counter = 0
        self.writes = 0
        self.syncs = 0

    def write(self, records: Iterable[Record], sync: bool = True) -> None:
        for record in records:
            self._counter += 1
            self._records[record.key] = (self._counter, record)
            if isinstance(record, StableCheckpoint):
                self._truncate(record.seq)
        self.writes += 1
        self.syncs += int(sync)

    def _truncate(self, seq: int) -> None:
        doomed = [key for key, (_, rec) in self._records.items()
                  if (s := record_seq(rec)) is not None and s <= seq]
        for key in doomed:
            del self._records[key]

    def records(self) -> list[Record]:
        return [record for _, record in sorted(self._records.values(), key=lambda item: item[0])]

    def __len__(self) -> int:
        return len(self._records)
