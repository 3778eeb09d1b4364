"""What a table shell spends on a peer before it knows the peer may send that: no signature
check for a replica message from a key that is no replica, the carrier's signature before
the requests it carries, and a bounded share of the replica's queue per relaying peer."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import trio
import trio.testing

from bitcraps.accel._ed25519_cpu import Ed25519Signer, verify_one
from bitcraps.consensus import (
    DurableLog,
    Envelope,
    KeyValueApp,
    Prepare,
    PrePrepare,
    Replica,
    ReplicaConfig,
    Request,
    SignatureCheck,
    signing_bytes,
)
from bitcraps.node.table_inbox import (
    PEER_MESSAGES,
    REQUESTS_IN_FLIGHT,
    RequestAdmission,
    TableInbox,
)
from bitcraps.node.table_shell import TableShell, inline_offload

TICK_S = 0.01
SIGNERS = [Ed25519Signer(hashlib.sha256(b"admission%d" % i).digest()) for i in range(4)]
CONFIG = ReplicaConfig(b"A" * 16, tuple(s.public_key for s in SIGNERS))
STRANGER = Ed25519Signer(hashlib.sha256(b"stranger").digest())


class CountingVerifier:
    """libsodium's verdicts, counting every signature it is asked about."""

    def __init__(self) -> None:
        self.signatures = 0

    def __call__(self, checks: Sequence[SignatureCheck]) -> list[bool]:
        self.signatures += len(checks)
        return [verify_one(*check) for check in checks]


async def _no_send(peer: bytes, frame: bytes) -> None:
    pass


async def running_shell(nursery: trio.Nursery, index: int,
                        verify: CountingVerifier) -> TableShell:
    replica = Replica(CONFIG, KeyValueApp(), SIGNERS[index])
    shell = TableShell(config=CONFIG, replica=replica, storage=DurableLog(),
                       signer=SIGNERS[index], verify_batch=verify, verify_inline=verify,
                       send_frame=_no_send, tick_seconds=TICK_S, offload=inline_offload)
    await nursery.start(shell.run)
    return shell


def signed(signer: Ed25519Signer, message: object) -> Envelope[object]:
    key = signer.public_key
    return Envelope(CONFIG.table_id, key, message,
                    signer.sign(signing_bytes(CONFIG.table_id, key, message)))


def forged_requests(count: int) -> tuple[Envelope[Request], ...]:
    return tuple(Envelope(CONFIG.table_id, STRANGER.public_key, Request(i + 1, b"x"),
                          b"\x07" * 64) for i in range(count))


def fresh_requests(count: int, tag: bytes) -> list[Envelope[Request]]:
    out = []
    for i in range(count):
        client = Ed25519Signer(hashlib.sha256(tag + b"%d" % i).digest())
        out.append(signed(client, Request(1, b"op")))
    return out


async def test_a_stranger_s_pre_prepare_costs_no_verification(
        autojump_clock: trio.abc.Clock) -> None:
    verify = CountingVerifier()
    async with trio.open_nursery() as nursery:
        shell = await running_shell(nursery, 1, verify)
        carrier = signed(STRANGER, PrePrepare(0, 1, forged_requests(4096)))
        assert not shell.deliver(STRANGER.public_key, carrier)
        await trio.sleep(10 * TICK_S)
        assert verify.signatures == 0
        assert shell.stats.not_replica == 1 and shell.stats.stepped == 0
        nursery.cancel_scope.cancel()


async def test_a_forged_carrier_costs_one_verification_its_requests_none(
        autojump_clock: trio.abc.Clock) -> None:
    verify = CountingVerifier()
    async with trio.open_nursery() as nursery:
        shell = await running_shell(nursery, 1, verify)
        primary = SIGNERS[0].public_key
        forged = Envelope(CONFIG.table_id, primary, PrePrepare(0, 1, forged_requests(4096)),
                          b"\x01" * 64)
        assert shell.deliver(primary, forged)
        await trio.sleep(10 * TICK_S)
        assert verify.signatures == 1
        assert shell.stats.bad_signatures == 1 and shell.stats.stepped == 0
        # A carrier that holds up has its requests checked next (only a replica's key can
        # sign one, and the replica that did is then caught by its forged requests).
        honest = signed(SIGNERS[0], PrePrepare(0, 1, forged_requests(64)))
        assert shell.deliver(primary, honest)
        await trio.sleep(10 * TICK_S)
        assert verify.signatures == 1 + 1 + 64
        assert shell.stats.bad_signatures == 2 and shell.stats.stepped == 0
        nursery.cancel_scope.cancel()


async def test_one_peer_relaying_fresh_keys_holds_a_bounded_share_of_the_queue(
        autojump_clock: trio.abc.Clock) -> None:
    """The table cannot commit (its other replicas are away), so nothing leaves the
    primary's queue: one peer's flood of 1,000 fresh keys, in waves its inbox queue takes,
    still gets only `REQUESTS_IN_FLIGHT` of them in, and another peer's player gets in."""
    verify = CountingVerifier()
    flooder, player = b"F" * 32, b"P" * 32
    async with trio.open_nursery() as nursery:
        shell = await running_shell(nursery, 0, verify)
        flood = fresh_requests(1000, b"flood")
        for wave in range(0, len(flood), 100):
            for envelope in flood[wave:wave + 100]:
                assert shell.deliver(flooder, envelope)
            await trio.sleep(TICK_S)
        legit = fresh_requests(1, b"player")[0]
        assert shell.deliver(player, legit)
        await trio.sleep(TICK_S)
        pending = shell.replica.statistics()["pending_requests"]
        assert pending == REQUESTS_IN_FLIGHT + 1
        assert shell.stats.throttled == len(flood) - REQUESTS_IN_FLIGHT
        assert verify.signatures == REQUESTS_IN_FLIGHT + 1  # the refused cost nothing
        nursery.cancel_scope.cancel()


async def test_the_inbox_takes_peers_in_turn() -> None:
    inbox = TableInbox(CONFIG, lambda client: 0)
    loud, quiet = SIGNERS[1], SIGNERS[2]
    for seq in range(1, PEER_MESSAGES + 1):
        assert inbox.put(loud.public_key, signed(loud, Prepare(0, seq, b"\x00" * 32))) is None
    late = signed(loud, Prepare(0, PEER_MESSAGES + 1, b"\x00" * 32))
    assert inbox.put(loud.public_key, late) == "queue_full"
    assert inbox.put(quiet.public_key, signed(quiet, Prepare(0, 1, b"\x00" * 32))) is None
    first = await inbox.receive_until(trio.current_time() + 1, 2)
    assert [peer for peer, _ in first] == [loud.public_key, quiet.public_key]
    assert inbox.statistics().dropped_by_key == {loud.public_key: 1}


def test_admission_frees_a_place_once_its_request_executes_or_expires() -> None:
    executed: dict[bytes, int] = {}
    admission = RequestAdmission(2, 10, lambda client: executed.get(client, 0),
                                 larger={b"R": 3})
    assert admission.admit(b"P", b"c1", 1, now_ticks=1)
    assert admission.admit(b"P", b"c2", 1, now_ticks=1)
    assert admission.admit(b"P", b"c1", 1, now_ticks=1)  # a retransmission: same place
    assert not admission.admit(b"P", b"c3", 1, now_ticks=1)
    executed[b"c1"] = 1
    assert not admission.admit(b"P", b"c3", 1, now_ticks=1)  # one sweep per tick
    assert admission.admit(b"P", b"c3", 1, now_ticks=2)      # c1 executed: its place is free
    assert not admission.admit(b"P", b"c4", 1, now_ticks=3)
    assert admission.admit(b"P", b"c4", 1, now_ticks=20)     # c2 expired (held since tick 1)
    assert [admission.admit(b"R", b"r%d" % i, 1, now_ticks=20) for i in range(4)] \
        == [True, True, True, False]                          # a replica's larger share
    executed.update({b"c3": 1, b"c4": 1, b"r0": 1, b"r1": 1, b"r2": 1})
    admission.admit(b"Q", b"q", 1, now_ticks=40)              # the periodic sweep
    assert admission.in_flight(b"P") == admission.in_flight(b"R") == 0
    assert set(admission._held) == {b"Q"}
