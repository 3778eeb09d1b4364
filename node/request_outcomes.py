"""What the API answers about a request's outcome: one vocabulary for single calls, batches
and lookups.

``status`` is one of:

- ``executed``: the table executed it; ``result`` (hex) and ``seq`` say how;
- ``pending``: sent, no quorum answered yet: the outcome is unknown, the node keeps
  retransmitting it, and ``GET /v1/tables/{id}/requests/{request_id}`` tells what became of
  it (a retry with the same idempotency key waits on the same request);
- ``not_executed``: it did not execute and never will (refused or expired, or never sent:
  no client was free, or the key was in use); ``error`` says why;
- ``lost``: it can no longer execute, but whether it did cannot be learnt any more.

A single call that did not execute answers with an error status (503, 409 for a key used
for another operation) whose JSON body carries the same ``status`` and, once the request
was sent, its ``request_id``: never a bare failure for a request that may still commit.
"""

from __future__ import annotations

from typing import Any

from bitcraps.consensus import Completed, Lapsed, NotExecuted

from ._control import ControlError
from .request_ledger import LOST, NOT_EXECUTED, PENDING, LedgerEntry, describe
from .table_clients import (
    IdempotencyConflict,
    OutcomeLost,
    OutcomeUnknown,
    RequestNotExecuted,
    SubmitError,
)

__all__ = ["completed_json", "entry_json", "failure_json", "submit_refusal"]


def _status(exc: SubmitError) -> str:
    if isinstance(exc, OutcomeUnknown):
        return PENDING
    if isinstance(exc, OutcomeLost):
        return LOST
    return NOT_EXECUTED


def failure_json(exc: SubmitError) -> dict[str, Any]:
    """A request that did not (yet) execute: {"status", "error", "request_id"?}."""
    shown: dict[str, Any] = {"status": _status(exc), "error": str(exc)}
    if exc.request_id is not None:
        shown["request_id"] = exc.request_id.hex()
    return shown


def submit_refusal(exc: SubmitError, table_id: str) -> ControlError:
    """The error a single call answers with: 409 for a key used for another operation,
    503 otherwise, its body carrying `failure_json`'s fields and the table id."""
    shown = failure_json(exc)
    message = shown.pop("error")
    status = 409 if isinstance(exc, IdempotencyConflict) else 503
    return ControlError(message, status, {**shown, "table_id": table_id})


def completed_json(completed: Completed, request_id: bytes | None) -> dict[str, Any]:
    shown: dict[str, Any] = {"status": "executed", "timestamp": completed.timestamp,
                             "seq": completed.seq, "result": completed.result.hex()}
    if request_id is not None:
        shown["request_id"] = request_id.hex()
    return shown


def entry_json(entry: LedgerEntry) -> dict[str, Any]:
    """A ledger entry for a lookup, with the reason a request did not execute in words."""
    shown = describe(entry)
    outcome = entry.outcome()
    if isinstance(outcome, NotExecuted):
        shown["error"] = str(RequestNotExecuted(outcome))
    elif isinstance(outcome, Lapsed):
        shown["error"] = str(OutcomeLost(outcome))
    elif outcome is None:
        shown["error"] = ("outcome unknown: the request is still being retransmitted to the "
                          "table's replicas and may yet commit")
    return shown
