"""Every protocol message: frozen, slotted dataclasses that validate themselves when built.

A message travels inside an `Envelope` that names the table, the sender's Ed25519 public
key and carries the sender's signature over domain-separated canonical bytes. Certificates
(prepared proofs, checkpoint proofs, commit certificates) nest whole signed envelopes, so
they can be checked by anyone who receives them, however many hops they took.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar, overload

from ._codec import MAX_MESSAGE_BYTES, pack, unpack
from ._errors import DecodeError
from ._schema import Bin, Bytes32, Kind, Lazy, Optional, Seq, UInt

PROTOCOL_VERSION = 1
TABLE_ID_BYTES = 16
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64
MAX_REPLICAS = 64
MAX_BATCH_REQUESTS = 4096
MAX_LOG_WINDOW = 4096
MAX_OPERATION_BYTES = 64 * 1024
MAX_RESULT_BYTES = 64 * 1024
MAX_SNAPSHOT_BYTES = 8 * 1024 * 1024
DEFAULT_REQUEST_WINDOW_SEQS = 4096
"""How many seqs a request may execute within (`ReplicaConfig.request_window_seqs`)."""
STATE_CHUNK_BYTES = 256 * 1024
"""A snapshot crosses the wire in chunks of this size (the last may be shorter): every frame
of a state transfer stays far below the transports' 1 MiB frame limit, whatever the state."""
MAX_STATE_CHUNKS = -(-MAX_SNAPSHOT_BYTES // STATE_CHUNK_BYTES)

SIGNING_DOMAIN = b"bitcraps/v1/envelope\x00"
BATCH_DOMAIN = b"bitcraps/v1/batch\x00"


class Struct:
    """A fixed list of typed fields; the field order is the wire order."""

    __slots__ = ()
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = ()

    def __post_init__(self) -> None:
        for name, kind in self.FIELDS:
            try:
                kind.check(getattr(self, name))
            except ValueError as exc:
                raise ValueError(f"{type(self).__name__}.{name}: {exc}") from None

    def to_list(self) -> list[Any]:
        return [kind.encode(getattr(self, name)) for name, kind in self.FIELDS]

    @classmethod
    def from_list(cls, obj: Any) -> Any:
        if type(obj) is not list or len(obj) != len(cls.FIELDS):
            raise DecodeError(f"{cls.__name__}: expected a list of {len(cls.FIELDS)} fields")
        values = []
        for (name, kind), item in zip(cls.FIELDS, obj, strict=True):
            try:
                values.append(kind.decode(item))
            except DecodeError as exc:
                raise DecodeError(f"{cls.__name__}.{name}: {exc}") from None
        try:
            return cls(*values)
        except ValueError as exc:
            raise DecodeError(str(exc)) from None


class Message(Struct):
    """A Struct that can be the body of an envelope."""

    __slots__ = ()
    TYPE: ClassVar[int] = 0


M = TypeVar("M", bound=Message)
T = TypeVar("T")


class _cached(Generic[T]):
    """`functools.cached_property` without its lock (3.11 takes one on every first access).

    Envelopes are built by the thousand and each computes its body, wire bytes and digest
    once; the lock was a measurable share of decoding. The value lands in the instance's
    `__dict__`, which shadows this non-data descriptor from then on.
    """

    def __init__(self, func: Callable[[Any], T]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> _cached[T]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...

    def __get__(self, instance: object, owner: type | None = None) -> T | _cached[T]:
        if instance is None:
            return self
        value = self.func(instance)
        instance.__dict__[self.name] = value
        return value


@dataclass(frozen=True, eq=False)
class Envelope(Generic[M]):
    """A signed message. Equality and hashing are by canonical wire bytes."""

    table_id: bytes
    sender: bytes
    message: M
    signature: bytes
    version: int = PROTOCOL_VERSION

    def __post_init__(self) -> None:
        if type(self.version) is not int or self.version != PROTOCOL_VERSION:
            raise ValueError(f"unsupported protocol version {self.version!r}")
        if type(self.table_id) is not bytes or len(self.table_id) != TABLE_ID_BYTES:
            raise ValueError(f"table_id must be {TABLE_ID_BYTES} bytes")
        if type(self.sender) is not bytes or len(self.sender) != PUBLIC_KEY_BYTES:
            raise ValueError(f"sender must be a {PUBLIC_KEY_BYTES}-byte public key")
        if type(self.signature) is not bytes or len(self.signature) != SIGNATURE_BYTES:
            raise ValueError(f"signature must be {SIGNATURE_BYTES} bytes")
        if not isinstance(self.message, Message) or type(self.message) not in _BY_CLASS:
            raise ValueError(f"not a protocol message: {type(self.message).__name__}")

    @_cached
    def _body(self) -> list[Any]:
        return self.message.to_list()

    def to_list(self) -> list[Any]:
        return [
            self.version,
            self.message.TYPE,
            self.table_id,
            self.sender,
            self._body,
            self.signature,
        ]

    @_cached
    def wire(self) -> bytes:
        return pack(self.to_list())

    @_cached
    def signing_bytes(self) -> bytes:
        wire = self.__dict__.get("wire")
        if wire is not None and wire[:1] == b"\x96" and wire[-66:-64] == b"\xc4\x40":
            # The wire list is the signed list plus the signature: same bytes in between,
            # so a decoded envelope (its wire already known) need not pack its body again.
            return SIGNING_DOMAIN + b"\x95" + wire[1:-66]
        return signing_bytes(self.table_id, self.sender, self.message, self._body)

    @_cached
    def digest(self) -> bytes:
        return hashlib.sha256(self.wire).digest()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Envelope) and self.wire == other.wire

    def __hash__(self) -> int:
        return hash(self.wire)

    @classmethod
    def from_list(cls, obj: Any, expected: type[Message] | None = None) -> Envelope[Any]:
        if type(obj) is not list or len(obj) != 6:
            raise DecodeError("envelope: expected a list of 6 fields")
        version, type_code, table_id, sender, body, signature = obj
        # Never the repr of a decoded value in a message: a deep list's repr raises.
        if type(version) is not int or version != PROTOCOL_VERSION:
            raise DecodeError(f"envelope: unsupported protocol version ({_describe(version)})")
        message_cls = _BY_TYPE.get(type_code) if type(type_code) is int else None
        if message_cls is None:
            raise DecodeError(f"envelope: unknown message type ({_describe(type_code)})")
        if expected is not None and message_cls is not expected:
            raise DecodeError(
                f"envelope: expected {expected.__name__}, got {message_cls.__name__}"
            )
        message = message_cls.from_list(body)
        try:
            return Envelope(table_id, sender, message, signature, version)
        except ValueError as exc:
            raise DecodeError(f"envelope: {exc}") from None


def signing_bytes(
    table_id: bytes, sender: bytes, message: Message, body: list[Any] | None = None
) -> bytes:
    """The exact bytes an envelope's signature covers (domain-separated)."""
    if body is None:
        body = message.to_list()
    return SIGNING_DOMAIN + pack([PROTOCOL_VERSION, message.TYPE, table_id, sender, body])


def _describe(value: Any) -> str:
    """What a decoded value is, without its repr (safe for any value, however deep)."""
    if type(value) is int:
        return f"integer {value}" if -(2**64) < value < 2**64 else "a huge integer"
    if type(value) in (bytes, list):
        return f"{type(value).__name__} of length {len(value)}"
    return type(value).__name__


def decode_envelope(data: bytes, max_bytes: int = MAX_MESSAGE_BYTES) -> Envelope[Any]:
    """Bytes from the network to one envelope, or DecodeError. Signatures are not checked."""
    from ._wire_shape import envelope_limits  # it reads this module's message classes

    envelope = Envelope.from_list(unpack(data, max_bytes, envelope_limits()))
    if envelope.wire != bytes(data):
        raise DecodeError("non-canonical encoding")
    return envelope


class StructKind(Kind):
    def __init__(self, struct: type[Struct]) -> None:
        self.struct = struct

    def check(self, value: Any) -> None:
        if type(value) is not self.struct:
            raise ValueError(f"expected {self.struct.__name__}")

    def encode(self, value: Any) -> Any:
        return value.to_list()

    def decode(self, obj: Any) -> Any:
        return self.struct.from_list(obj)


class SignedKind(Kind):
    def __init__(self, message_cls: type[Message]) -> None:
        self.message_cls = message_cls

    def check(self, value: Any) -> None:
        if type(value) is not Envelope or type(value.message) is not self.message_cls:
            raise ValueError(f"expected a signed {self.message_cls.__name__}")

    def encode(self, value: Any) -> Any:
        return value.to_list()

    def decode(self, obj: Any) -> Any:
        return Envelope.from_list(obj, self.message_cls)


def _signed(name: str) -> Kind:
    return Lazy(lambda: SignedKind(_BY_NAME[name]))


def _struct(name: str) -> Kind:
    return Lazy(lambda: StructKind(_STRUCTS[name]))


def _quorum_of(name: str) -> Kind:
    return Seq(_signed(name), MAX_REPLICAS)


VIEW = UInt()
SEQ = UInt()


@dataclass(frozen=True, slots=True)
class Request(Message):
    """A client's operation, signed by the client (the envelope's sender).

    `horizon_seq` is the last sequence number at which it may execute: replicas execute it
    only at a seq s with horizon_seq - request_window_seqs < s <= horizon_seq (see
    `_clients`). An honest client sets it to the last executed seq it knows plus the window.
    The default suits a fresh table's first `DEFAULT_REQUEST_WINDOW_SEQS` seqs (tests)."""

    TYPE: ClassVar[int] = 1
    FIELDS = (("timestamp", UInt()), ("operation", Bin(0, MAX_OPERATION_BYTES)),
              ("horizon_seq", SEQ))
    timestamp: int
    operation: bytes
    horizon_seq: int = DEFAULT_REQUEST_WINDOW_SEQS


@dataclass(frozen=True, slots=True)
class PrePrepare(Message):
    TYPE: ClassVar[int] = 2
    FIELDS = (
        ("view", VIEW),
        ("seq", SEQ),
        ("requests", Seq(_signed("Request"), MAX_BATCH_REQUESTS)),
    )
    view: int
    seq: int
    requests: tuple[Envelope[Request], ...]

    @property
    def digest(self) -> bytes:
        return batch_digest(self.requests)


@dataclass(frozen=True, slots=True)
class Prepare(Message):
    TYPE: ClassVar[int] = 3
    FIELDS = (("view", VIEW), ("seq", SEQ), ("digest", Bytes32()))
    view: int
    seq: int
    digest: bytes


@dataclass(frozen=True, slots=True)
class Commit(Message):
    TYPE: ClassVar[int] = 4
    FIELDS = (("view", VIEW), ("seq", SEQ), ("digest", Bytes32()))
    view: int
    seq: int
    digest: bytes


@dataclass(frozen=True, slots=True)
class Checkpoint(Message):
    TYPE: ClassVar[int] = 5
    FIELDS = (("seq", SEQ), ("state_digest", Bytes32()))
    seq: int
    state_digest: bytes


@dataclass(frozen=True, slots=True)
class PreparedProof(Struct):
    """A pre-prepare and 2f matching prepares from other replicas: (v, n, d) prepared."""

    FIELDS = (("pre_prepare", _signed("PrePrepare")), ("prepares", _quorum_of("Prepare")))
    pre_prepare: Envelope[PrePrepare]
    prepares: tuple[Envelope[Prepare], ...]


@dataclass(frozen=True, slots=True)
class CommitCertificate(Struct):
    """A pre-prepare and 2f+1 matching commits: the batch is committed at its seq."""

    FIELDS = (("pre_prepare", _signed("PrePrepare")), ("commits", _quorum_of("Commit")))
    pre_prepare: Envelope[PrePrepare]
    commits: tuple[Envelope[Commit], ...]


@dataclass(frozen=True, slots=True)
class ViewChange(Message):
    TYPE: ClassVar[int] = 6
    FIELDS = (
        ("new_view", VIEW),
        ("stable_seq", SEQ),
        ("checkpoint_proof", _quorum_of("Checkpoint")),
        ("prepared", Seq(_struct("PreparedProof"), MAX_LOG_WINDOW)),
    )
    new_view: int
    stable_seq: int
    checkpoint_proof: tuple[Envelope[Checkpoint], ...]
    prepared: tuple[PreparedProof, ...]


@dataclass(frozen=True, slots=True)
class NewView(Message):
    TYPE: ClassVar[int] = 7
    FIELDS = (
        ("view", VIEW),
        ("view_changes", _quorum_of("ViewChange")),
        ("pre_prepares", Seq(_signed("PrePrepare"), MAX_LOG_WINDOW)),
    )
    view: int
    view_changes: tuple[Envelope[ViewChange], ...]
    pre_prepares: tuple[Envelope[PrePrepare], ...]


OUTCOME_EXECUTED = 0
"""The request executed; `result` is the application's answer."""
OUTCOME_EXPIRED = 1
"""Ordered at a seq past its `horizon_seq`: it did not execute and never will."""
OUTCOME_TOO_EARLY = 2
"""Ordered at a seq s with horizon_seq >= s + request_window_seqs: refused, not executed."""
OUTCOME_TABLE_FULL = 3
"""The client table is full of active clients and this client has no record: refused, not
executed; retry later (records of idle clients become evictable as seqs advance)."""
MAX_OUTCOME = OUTCOME_TABLE_FULL


@dataclass(frozen=True, slots=True)
class Reply(Message):
    """A replica's answer to one request: `seq` is the sequence number it was ordered at
    (every honest replica sends the same one), `outcome` whether it executed (only then is
    `result` the application's; honest replicas send a refusal with an empty one)."""

    TYPE: ClassVar[int] = 8
    FIELDS = (
        ("view", VIEW),
        ("client", Bin(PUBLIC_KEY_BYTES, PUBLIC_KEY_BYTES)),
        ("timestamp", UInt()),
        ("result", Bin(0, MAX_RESULT_BYTES)),
        ("seq", SEQ),
        ("outcome", UInt(MAX_OUTCOME)),
    )
    view: int
    client: bytes
    timestamp: int
    result: bytes
    seq: int = 0
    outcome: int = OUTCOME_EXECUTED


@dataclass(frozen=True, slots=True)
class FetchState(Message):
    """A replica that fell behind asks for everything after `last_executed_seq`."""

    TYPE: ClassVar[int] = 9
    FIELDS = (("last_executed_seq", SEQ),)
    last_executed_seq: int


@dataclass(frozen=True, slots=True)
class StateManifest(Struct):
    """A snapshot's size and the digest of each of its chunks, in order.

    The state digest a checkpoint quorum signs is the hash of exactly this (see `_chunks`), so
    a manifest that matches a checked checkpoint proof vouches for every chunk it lists.
    """

    FIELDS = (
        ("snapshot_bytes", UInt(MAX_SNAPSHOT_BYTES)),
        ("chunk_digests", Seq(Bytes32(), MAX_STATE_CHUNKS)),
    )
    snapshot_bytes: int
    chunk_digests: tuple[bytes, ...]

    def __post_init__(self) -> None:
        Struct.__post_init__(self)
        if len(self.chunk_digests) != -(-self.snapshot_bytes // STATE_CHUNK_BYTES):
            raise ValueError("StateManifest: the chunk count does not match the snapshot size")

    def chunk_bytes(self, index: int) -> int:
        """How long chunk `index` is: full chunks, then the remainder."""
        return min(STATE_CHUNK_BYTES, self.snapshot_bytes - index * STATE_CHUNK_BYTES)


@dataclass(frozen=True, slots=True)
class StateReply(Message):
    """A stable checkpoint's manifest (None if the asker needs no snapshot), its proof, and
    the committed suffix after it (bounded in bytes: the asker asks again for the rest)."""

    TYPE: ClassVar[int] = 10
    FIELDS = (
        ("checkpoint_seq", SEQ),
        ("manifest", Optional(_struct("StateManifest"))),
        ("checkpoint_proof", _quorum_of("Checkpoint")),
        ("suffix", Seq(_struct("CommitCertificate"), MAX_LOG_WINDOW)),
        ("new_view", Optional(_signed("NewView"))),
    )
    checkpoint_seq: int
    manifest: StateManifest | None
    checkpoint_proof: tuple[Envelope[Checkpoint], ...]
    suffix: tuple[CommitCertificate, ...]
    new_view: Envelope[NewView] | None


@dataclass(frozen=True, slots=True)
class FetchChunk(Message):
    """Ask for one chunk of the stable checkpoint at `checkpoint_seq`."""

    TYPE: ClassVar[int] = 11
    FIELDS = (("checkpoint_seq", SEQ), ("index", UInt(MAX_STATE_CHUNKS - 1)))
    checkpoint_seq: int
    index: int


@dataclass(frozen=True, slots=True)
class StateChunk(Message):
    """One chunk of a stable checkpoint's snapshot; checked against its manifest on receipt."""

    TYPE: ClassVar[int] = 12
    FIELDS = (
        ("checkpoint_seq", SEQ),
        ("index", UInt(MAX_STATE_CHUNKS - 1)),
        ("data", Bin(0, STATE_CHUNK_BYTES)),
    )
    checkpoint_seq: int
    index: int
    data: bytes


_MESSAGES: tuple[type[Message], ...] = (
    Request, PrePrepare, Prepare, Commit, Checkpoint, ViewChange, NewView, Reply, FetchState,
    StateReply, FetchChunk, StateChunk,
)
_BY_TYPE: dict[int, type[Message]] = {cls.TYPE: cls for cls in _MESSAGES}
_BY_CLASS: frozenset[type[Message]] = frozenset(_MESSAGES)
_BY_NAME: dict[str, type[Message]] = {cls.__name__: cls for cls in _MESSAGES}
_STRUCTS: dict[str, type[Struct]] = {
    "PreparedProof": PreparedProof,
    "CommitCertificate": CommitCertificate,
    "StateManifest": StateManifest,
}


def batch_digest(requests: tuple[Envelope[Request], ...]) -> bytes:
    """The digest a batch is voted on: independent of view and sequence number."""
    hasher = hashlib.sha256(BATCH_DOMAIN)
    for request in requests:
        hasher.update(request.digest)
    return hasher.digest()


def iter_envelopes(envelope: Envelope[Any]) -> Iterator[Envelope[Any]]:
    """The envelope and every signed envelope nested inside it, depth first."""
    found: list[Envelope[Any]] = []
    _collect(envelope, found)
    return iter(found)


# Per struct class, the fields that may hold envelopes: integers and byte strings never do.
# A plain list walk over those fields only; a pre-prepare's batch is walked on every receipt.
_NESTING: dict[type[Struct], tuple[str, ...]] = {}


def _nesting_fields(cls: type[Struct]) -> tuple[str, ...]:
    fields = _NESTING.get(cls)
    if fields is None:
        fields = tuple(name for name, kind in cls.FIELDS if not isinstance(kind, (UInt, Bin)))
        _NESTING[cls] = fields
    return fields


def _collect(envelope: Envelope[Any], found: list[Envelope[Any]]) -> None:
    found.append(envelope)
    message = envelope.message
    for name in _nesting_fields(type(message)):
        _collect_value(getattr(message, name), found)


def _collect_value(value: Any, found: list[Envelope[Any]]) -> None:
    if type(value) is Envelope:
        _collect(value, found)
    elif type(value) is tuple:
        for item in value:
            _collect_value(item, found)
    elif isinstance(value, Struct):
        for name in _nesting_fields(type(value)):
            _collect_value(getattr(value, name), found)
