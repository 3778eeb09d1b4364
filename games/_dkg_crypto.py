"""The DKG's cryptography: a replica's secrets, its key proof, dealing, share encryption
and publicly verifiable complaints.

Share encryption is hashed ElGamal with one ephemeral key per dealing: the share s for key
holder i (key E_i = k_i * G) travels as s XOR pad, pad = SHA-512(DKG_SHARE_PAD, table,
dealer, i, R, E_i, D)[:32] with D = r * E_i = k_i * R. A complaint reveals D with a DLEQ
proof, so anyone can recompute the pad and check the share against the commitments. The
dealer proves it knows r (bound to its index), so it cannot reuse another dealer's R to
make a complaint reveal a DH value that opens someone else's share.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ._coin_group import (
    BASE,
    ORDER,
    SCALAR_BYTES,
    Group,
    hash_to_scalar,
    parse_scalar,
    scalar_bytes,
)
from ._coin_hash import (
    DKG_COMPLAINT_PROOF,
    DKG_EPHEMERAL_PROOF,
    DKG_KEY_PROOF,
    DKG_SECRET,
    DKG_SHARE_PAD,
    replica_bytes,
    tagged_hash,
)
from ._coin_proof import ProofCheck, prove_equal_logs, verify_equal_logs
from ._coin_shamir import evaluate, share_point
from ._dkg_config import DkgConfig
from ._dkg_messages import Complaint, DkgDealing, DkgKey

SEED_BYTES = 32


@dataclass(frozen=True, slots=True)
class ReplicaSecrets:
    """Everything secret a replica uses in one table's DKG, derived from its seed."""

    key: int
    coefficients: tuple[int, ...]
    ephemeral: int


def derive_secrets(config: DkgConfig, replica: int, seed: bytes) -> ReplicaSecrets:
    """Expand the caller's 32 random bytes (the node draws them from os.urandom and keeps
    them until the DKG is over) into the DKG key, polynomial and ephemeral key."""
    if type(seed) is not bytes or len(seed) != SEED_BYTES:
        raise ValueError(f"a DKG seed is {SEED_BYTES} random bytes")
    prefix = (seed, config.table_id, replica_bytes(replica))
    key = hash_to_scalar(DKG_SECRET, *prefix, b"key")
    coefficients = tuple(
        hash_to_scalar(DKG_SECRET, *prefix, b"coefficient", replica_bytes(k))
        for k in range(config.threshold)
    )
    ephemeral = hash_to_scalar(DKG_SECRET, *prefix, b"ephemeral")
    if 0 in (key, ephemeral, *coefficients):
        raise ValueError("the seed derives a zero scalar; draw another seed")
    return ReplicaSecrets(key, coefficients, ephemeral)


def _context(domain: bytes, config: DkgConfig, *replicas: int) -> bytes:
    return tagged_hash(domain, config.table_id, *(replica_bytes(r) for r in replicas))


def make_key(group: Group, config: DkgConfig, replica: int, key: int) -> DkgKey:
    public = group.base_mul(key)
    proof = prove_equal_logs(group, DKG_KEY_PROOF, _context(DKG_KEY_PROOF, config, replica),
                             key, (BASE,), (public,))
    return DkgKey(replica, public, proof)


def key_proof_valid(group: Group, config: DkgConfig, message: DkgKey) -> bool:
    """The caller has checked that `message.public_key` is a valid point."""
    context = _context(DKG_KEY_PROOF, config, message.replica)
    return verify_equal_logs(group, DKG_KEY_PROOF, context, (BASE,), (message.public_key,),
                             message.proof) is ProofCheck.VALID


def share_pad(config: DkgConfig, dealer: int, holder: int, ephemeral: bytes,
              holder_key: bytes, shared: bytes) -> bytes:
    return tagged_hash(DKG_SHARE_PAD, config.table_id, replica_bytes(dealer),
                       replica_bytes(holder), ephemeral, holder_key, shared)[:SCALAR_BYTES]


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def encrypt_share(config: DkgConfig, dealer: int, holder: int, ephemeral: bytes,
                  holder_key: bytes, shared: bytes, share: int) -> bytes:
    return _xor(scalar_bytes(share), share_pad(config, dealer, holder, ephemeral, holder_key,
                                               shared))


def decrypt_share(config: DkgConfig, dealing: DkgDealing, holder: int, position: int,
                  holder_key: bytes, shared: bytes) -> int | None:
    """The share in `dealing.ciphertexts[position]`, or None if it is not a canonical scalar."""
    pad = share_pad(config, dealing.replica, holder, dealing.ephemeral, holder_key, shared)
    return parse_scalar(_xor(dealing.ciphertexts[position], pad))


def deal(
    group: Group,
    config: DkgConfig,
    dealer: int,
    coefficients: Sequence[int],
    ephemeral: int,
    holder_keys: Mapping[int, bytes],
) -> DkgDealing:
    """A dealing of the polynomial with these coefficients to the key holders."""
    if not coefficients or not all(0 < a < ORDER for a in coefficients):
        raise ValueError("coefficients must be non-zero scalars")
    if not 0 < ephemeral < ORDER:
        raise ValueError("the ephemeral key must be a non-zero scalar")
    commitments = tuple(group.base_mul(a) for a in coefficients)
    public_ephemeral = group.base_mul(ephemeral)
    ciphertexts = tuple(
        encrypt_share(config, dealer, holder, public_ephemeral, holder_keys[holder],
                      group.mul(ephemeral, holder_keys[holder]),
                      evaluate(coefficients, share_point(holder)))
        for holder in sorted(holder_keys)
    )
    proof = prove_equal_logs(group, DKG_EPHEMERAL_PROOF,
                             _context(DKG_EPHEMERAL_PROOF, config, dealer),
                             ephemeral, (BASE,), (public_ephemeral,))
    return DkgDealing(dealer, public_ephemeral, proof, commitments, ciphertexts)


def ephemeral_proof_valid(group: Group, config: DkgConfig, dealing: DkgDealing) -> bool:
    """The caller has checked that `dealing.ephemeral` is a valid point."""
    context = _context(DKG_EPHEMERAL_PROOF, config, dealing.replica)
    return verify_equal_logs(group, DKG_EPHEMERAL_PROOF, context, (BASE,),
                             (dealing.ephemeral,), dealing.ephemeral_proof) is ProofCheck.VALID


def make_complaint(group: Group, config: DkgConfig, complainer: int, key: int,
                   dealing: DkgDealing) -> Complaint:
    """Reveal D = key * R for `dealing`, with the DLEQ proof that makes it checkable."""
    public = group.base_mul(key)
    revealed = group.mul(key, dealing.ephemeral)
    context = _context(DKG_COMPLAINT_PROOF, config, complainer, dealing.replica)
    proof = prove_equal_logs(group, DKG_COMPLAINT_PROOF, context, key,
                             (BASE, dealing.ephemeral), (public, revealed))
    return Complaint(dealing.replica, revealed, proof)


def complaint_proof_valid(group: Group, config: DkgConfig, complainer: int,
                          complainer_key: bytes, dealing: DkgDealing,
                          complaint: Complaint) -> bool:
    """The caller has checked that `complaint.revealed` is a valid point."""
    context = _context(DKG_COMPLAINT_PROOF, config, complainer, dealing.replica)
    return verify_equal_logs(group, DKG_COMPLAINT_PROOF, context, (BASE, dealing.ephemeral),
                             (complainer_key, complaint.revealed),
                             complaint.proof) is ProofCheck.VALID
