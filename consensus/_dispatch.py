"""Routes a verified envelope to the module that handles its message type."""

from __future__ import annotations

from typing import Any

from . import _checkpoint, _normal_case, _snapshot_fetch, _state_transfer, _view_change
from ._errors import RemoteProtocolError
from ._messages import (
    Checkpoint,
    Commit,
    Envelope,
    FetchChunk,
    FetchState,
    NewView,
    Prepare,
    PrePrepare,
    Reply,
    Request,
    StateChunk,
    StateReply,
    ViewChange,
)
from ._state import ReplicaState


def handle(r: ReplicaState, envelope: Envelope[Any]) -> None:
    if any(e.table_id != r.config.table_id for e in _nested_tables(envelope)):
        raise RemoteProtocolError("message carries an envelope for another table")
    message = envelope.message
    if type(message) is Request:
        _normal_case.on_request(r, envelope)
        return
    if type(message) is Reply:
        raise RemoteProtocolError("replicas do not take replies")
    sender = r.index.get(envelope.sender)
    if sender is None:
        raise RemoteProtocolError(f"{type(message).__name__} from a key that is not a replica")
    handle_replica_message(r, envelope, sender)


def _nested_tables(envelope: Envelope[Any]) -> list[Envelope[Any]]:
    from ._messages import iter_envelopes

    return list(iter_envelopes(envelope))


def handle_replica_message(r: ReplicaState, envelope: Envelope[Any], sender: int) -> None:
    message = envelope.message
    kind = type(message)
    if kind is PrePrepare:
        _normal_case.on_pre_prepare(r, envelope, sender)
    elif kind is Prepare:
        _normal_case.on_prepare(r, envelope, sender)
    elif kind is Commit:
        _normal_case.on_commit(r, envelope, sender)
    elif kind is Checkpoint:
        _checkpoint.on_checkpoint(r, envelope, sender)
    elif kind is ViewChange:
        _view_change.on_view_change(r, envelope, sender)
    elif kind is NewView:
        _view_change.on_new_view(r, envelope, sender)
    elif kind is FetchState:
        _state_transfer.on_fetch_state(r, envelope, sender)
    elif kind is StateReply:
        _state_transfer.on_state_reply(r, envelope, sender)
    elif kind is FetchChunk:
        _snapshot_fetch.on_fetch_chunk(r, envelope, sender)
    elif kind is StateChunk:
        _snapshot_fetch.on_state_chunk(r, envelope, sender)
    elif kind is Request:
        _normal_case.on_request(r, envelope)
    else:
        raise RemoteProtocolError(f"unexpected {kind.__name__}")
