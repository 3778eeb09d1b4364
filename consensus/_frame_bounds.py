"""The largest message an honest replica builds, computed from a table's parameters.

Transports carry frames of at most `FRAME_LIMIT_BYTES`. Most messages are small whatever
happens; two grow with the log window: a VIEW-CHANGE carries a prepared certificate (the
whole pre-prepare, batch included) for every seq after its stable checkpoint, and a NEW-VIEW
carries a quorum of VIEW-CHANGEs plus a re-proposal of every prepared batch. Batches alone
(`batch_max_bytes`) cannot bound that, so the requests proposed in one log window are
bounded in bytes too: `window_budget_bytes` below, enforced by the primary when it cuts a
batch and by every backup when it accepts a pre-prepare (`_normal_case`).

With every VIEW-CHANGE in a NEW-VIEW within that budget, the NEW-VIEW carries at most a
quorum of budgets in its VIEW-CHANGEs and as much again in re-proposals (one batch per seq,
each from one of them), plus fixed per-envelope costs; `worst_new_view_bytes` adds them up
with every integer at its widest encoding, and the budget is the largest that keeps this under
the frame limit (never less than one request of the largest operation, which must fit).
A StateReply carries a NEW-VIEW only when both fit one frame; otherwise the NEW-VIEW follows
in a frame of its own (`_state_transfer`).

Not covered (needs view changes that carry prepared certificates by digest, with batches
fetched separately): Byzantine primaries in successive views feeding different honest
replicas different full batches, so that the union a NEW-VIEW re-proposes holds more than a
budget per VIEW-CHANGE; and tables whose replica count and window leave a budget smaller than
one request (`fits_frame` is then False). The simulator drops any frame over the limit and
reports one from an honest replica as a violation, so such a case shows up with its seed.
"""

from __future__ import annotations

FRAME_LIMIT_BYTES = 1 << 20
"""The transports' frame limit (libp2p, memory, the simulator's network)."""

ENVELOPE_BYTES = 121
"""An envelope's fixed part: list header, version, type, table id, sender, signature."""
UINT_BYTES = 9
VOTE_BYTES = ENVELOPE_BYTES + 1 + 2 * UINT_BYTES + 34
"""A signed PREPARE, COMMIT (view, seq, digest) or, a little smaller, CHECKPOINT."""
REQUEST_OVERHEAD_BYTES = ENVELOPE_BYTES + 1 + UINT_BYTES + 5
PRE_PREPARE_OVERHEAD_BYTES = ENVELOPE_BYTES + 1 + 2 * UINT_BYTES + 5
LIST_HEADER_BYTES = 5


def quorum_of(n: int) -> int:
    f = (n - 1) // 3
    return (n + f + 2) // 2


def view_change_overhead_bytes(n: int, window_seqs: int) -> int:
    """A VIEW-CHANGE's bytes besides the requests in its prepared certificates."""
    prepares = quorum_of(n) - 1
    proof = 1 + PRE_PREPARE_OVERHEAD_BYTES + LIST_HEADER_BYTES + prepares * VOTE_BYTES
    checkpoint_proof = LIST_HEADER_BYTES + n * VOTE_BYTES
    body = 1 + 2 * UINT_BYTES + checkpoint_proof + LIST_HEADER_BYTES + window_seqs * proof
    return ENVELOPE_BYTES + body


def worst_new_view_bytes(n: int, window_seqs: int, budget_bytes: int) -> int:
    """The most bytes a NEW-VIEW takes when each VIEW-CHANGE in it carries at most
    `budget_bytes` of signed requests."""
    quorum = quorum_of(n)
    view_changes = quorum * (view_change_overhead_bytes(n, window_seqs) + budget_bytes)
    re_proposals = window_seqs * PRE_PREPARE_OVERHEAD_BYTES + quorum * budget_bytes
    body = 1 + UINT_BYTES + 2 * LIST_HEADER_BYTES + view_changes + re_proposals
    return ENVELOPE_BYTES + body


def window_budget_bytes(n: int, window_seqs: int, max_request_bytes: int) -> int:
    """The largest window budget whose worst NEW-VIEW fits a frame, and at least one request."""
    fixed = worst_new_view_bytes(n, window_seqs, 0)
    per_budget = 2 * quorum_of(n)
    return max(max_request_bytes, (FRAME_LIMIT_BYTES - fixed) // per_budget)


def fits_frame(n: int, window_seqs: int, budget_bytes: int) -> bool:
    return worst_new_view_bytes(n, window_seqs, budget_bytes) <= FRAME_LIMIT_BYTES
