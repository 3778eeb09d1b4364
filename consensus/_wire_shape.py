"""The decoding limits each wire schema implies, read from its field kinds.

The deepest valid message (a StateReply carrying a NEW-VIEW whose VIEW-CHANGEs carry
prepared proofs of batches) nests a fixed number of arrays; anything deeper is refused by the
reader before a decoder or a `repr` walks it. Computed from the message classes, so a message
added later moves the bound with it.

Every signed envelope spends at least `MIN_ENVELOPE_BYTES` on its fixed fields (table id,
sender, signature) and holds a few arrays and items, so a frame of n bytes has well under
n // 16 arrays and n // 4 array items; the slack covers the small records around them.
"""

from __future__ import annotations

from functools import cache

from ._clients import RECORD_FIELDS
from ._codec import WireLimits
from ._messages import (
    _MESSAGES,
    MAX_BATCH_REQUESTS,
    MAX_LOG_WINDOW,
    Message,
    SignedKind,
    Struct,
    StructKind,
)
from ._schema import Kind, Lazy, Optional, Seq

BYTES_PER_ARRAY = 16
BYTES_PER_ITEM = 4
SLACK = 64


def kind_depth(kind: Kind) -> int:
    """How many arrays deep a value of `kind` nests on the wire (0 for a scalar)."""
    if isinstance(kind, Lazy):
        return kind_depth(kind.kind)
    if isinstance(kind, Optional):
        return kind_depth(kind.inner)
    if isinstance(kind, Seq):
        return 1 + kind_depth(kind.item)
    if isinstance(kind, SignedKind):
        return envelope_depth(kind.message_cls)
    if isinstance(kind, StructKind):
        return struct_depth(kind.struct)
    return 0


_STRUCT_DEPTHS: dict[type[Struct], int] = {}


def struct_depth(cls: type[Struct]) -> int:
    depth = _STRUCT_DEPTHS.get(cls)
    if depth is None:
        depth = 1 + max((kind_depth(kind) for _, kind in cls.FIELDS), default=0)
        _STRUCT_DEPTHS[cls] = depth
    return depth


def envelope_depth(cls: type[Message] | None = None) -> int:
    """An envelope around `cls` (around any message if None): the envelope list + its body."""
    bodies = _MESSAGES if cls is None else (cls,)
    return 1 + max(struct_depth(body) for body in bodies)


# A replica's snapshot (`ReplicaState.state_snapshot`): [app snapshot, client table], the
# client table a list of flat records (`ClientTable.to_wire`): three arrays deep. A record
# spends far more than BYTES_PER_ARRAY (a 32-byte key and a 32-byte digest) and than
# BYTES_PER_ITEM per field; the application's snapshot is opaque bytes here.
SNAPSHOT_DEPTH = 3


@cache
def snapshot_limits(max_client_records: int) -> WireLimits:
    """The limits of a replica's snapshot of a table holding `max_client_records` clients.

    The longest array is the client table's (one item per record) or a record's own fields,
    whichever is longer: a table capped under `RECORD_FIELDS` records still has records of
    that many fields (with the cap alone, a snapshot of a small table could not be restored,
    so a replica behind could never catch up by state transfer)."""
    return WireLimits(max_depth=SNAPSHOT_DEPTH,
                      max_array_len=max(2, RECORD_FIELDS, max_client_records),
                      bytes_per_array=BYTES_PER_ARRAY, bytes_per_item=BYTES_PER_ITEM,
                      slack=SLACK)


@cache
def envelope_limits() -> WireLimits:
    return limits_for_depth(envelope_depth())


@cache
def limits_for_depth(depth: int) -> WireLimits:
    return WireLimits(
        max_depth=depth,
        max_array_len=max(MAX_BATCH_REQUESTS, MAX_LOG_WINDOW),
        bytes_per_array=BYTES_PER_ARRAY,
        bytes_per_item=BYTES_PER_ITEM,
        slack=SLACK,
    )
