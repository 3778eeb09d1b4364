"""Every honest message fits a transport frame: the worst NEW-VIEW, built, and the primary's
window byte budget that makes it so; the simulator's network drops (and reports) the rest."""

from __future__ import annotations

from typing import Any

import pytest

from bitcraps.consensus import Commit, NewView, PrePrepare, Request, ViewChange
from bitcraps.consensus._frame_bounds import FRAME_LIMIT_BYTES, worst_new_view_bytes
from bitcraps.consensus._messages import (
    Checkpoint,
    Envelope,
    Prepare,
    PreparedProof,
)
from bitcraps.consensus.sim._network import Network
from bitcraps.consensus.sim._rng import Rng
from bitcraps.consensus.sim._scenario import LinkFaults
from test_replica import TABLE, Cluster, ReplicaConfig, put, sign, signer

WIDE = (1 << 64) - 1  # every integer at its widest encoding
SIG = b"\x07" * 64


def _env(key: bytes, message: Any) -> Envelope[Any]:
    return Envelope(TABLE, key, message, SIG)


def _batches(total_bytes: int, seqs: int) -> list[tuple[Envelope[Request], ...]]:
    """Requests of the largest operations (and one to top up) spread over `seqs` batches."""
    requests: list[Envelope[Request]] = []
    size = 0
    while True:
        op = min(64 * 1024, total_bytes - size - 136)
        if op < 0:
            break
        request = _env(bytes([len(requests) % 251]) * 32, Request(WIDE, b"o" * op))
        size += len(request.wire)
        requests.append(request)
    batches: list[list[Envelope[Request]]] = [[] for _ in range(seqs)]
    for i, request in enumerate(requests):
        batches[i % seqs].append(request)
    return [tuple(b) for b in batches]


def _worst_new_view(config: ReplicaConfig) -> Envelope[NewView]:
    keys, window, quorum = config.replicas, config.log_window_seqs, config.quorum
    budget = config.window_budget_bytes
    proof = tuple(_env(k, Checkpoint(WIDE, b"c" * 32)) for k in keys)
    view_changes = []
    for v in range(quorum):
        proofs = []
        for seq, batch in enumerate(_batches(budget, window)):
            pre_prepare = _env(keys[0], PrePrepare(WIDE, WIDE - seq, batch))
            digest = pre_prepare.message.digest
            prepares = tuple(_env(k, Prepare(WIDE, WIDE - seq, digest))
                             for k in keys[1:quorum])
            proofs.append(PreparedProof(pre_prepare, prepares))
        view_changes.append(_env(keys[v], ViewChange(WIDE, WIDE, proof, tuple(proofs))))
    re_proposals = tuple(_env(keys[1], PrePrepare(WIDE, WIDE - seq, batch))
                         for seq, batch in enumerate(_batches(quorum * budget, window)))
    return _env(keys[1], NewView(WIDE, tuple(view_changes), re_proposals))


@pytest.mark.parametrize("n,window", [(4, 64), (7, 64), (4, 16), (7, 8)])
def test_the_worst_new_view_an_honest_primary_builds_fits_a_frame(n: int, window: int) -> None:
    """A quorum of VIEW-CHANGEs, each with a full window's budget of the largest requests and
    every prepared certificate, plus re-proposals of a quorum of budgets: under 1 MiB, and the
    computed bound is an upper bound of what was built."""
    config = ReplicaConfig(TABLE, tuple(signer(i + 1).public_key for i in range(n)),
                           checkpoint_interval_seqs=4, log_window_seqs=window)
    built = len(_worst_new_view(config).wire)
    bound = worst_new_view_bytes(n, window, config.window_budget_bytes)
    assert built <= bound <= FRAME_LIMIT_BYTES, (built, bound)
    assert built > 0.9 * FRAME_LIMIT_BYTES, "the budget is not needlessly small"


def test_the_primary_keeps_a_window_of_prepared_batches_within_its_byte_budget() -> None:
    """Ten 60 KB requests and no commits: the primary proposes only what the budget holds
    (then empty batches to the checkpoint), so each VIEW-CHANGE stays within it. Without the
    budget the primary would fill the window and its VIEW-CHANGEs would carry all of them."""
    budget = 150_000
    cluster = Cluster(4, clients=0, window_max_bytes=budget, max_inflight_batches=8)
    cluster.drop = lambda source, dest, envelope: type(envelope.message) is Commit
    for i in range(10):
        request = sign(signer(50 + i), Request(1, put(b"k%d" % i, b"v" * 60_000)))
        for node in range(4):
            cluster.inject(node, request)
    cluster.run()
    cluster.tick(3 * cluster.config.view_change_timeout_ticks)
    view_changes = [e for node in cluster.nodes for e in node.sent
                    if type(e.message) is ViewChange]
    assert view_changes
    for envelope in view_changes:
        carried = sum(len(r.wire) for proof in envelope.message.prepared
                      for r in proof.pre_prepare.message.requests)
        assert carried <= budget, carried
    assert cluster.oversized == 0


def test_the_simulated_network_drops_and_counts_a_frame_over_the_limit() -> None:
    network = Network(Rng("frames"), LinkFaults(), 0)
    network.send(0, 1, b"x" * (FRAME_LIMIT_BYTES + 1), 0)
    network.send(0, 1, b"x" * FRAME_LIMIT_BYTES, 0)
    assert network.stats.oversized == 1
    assert [len(d.data) for d in network.due(5)] == [FRAME_LIMIT_BYTES]
