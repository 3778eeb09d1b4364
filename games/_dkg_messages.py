"""The DKG's messages: each a record in a table's ordered log, posted by `replica`.

Every message is a frozen dataclass that checks its shape when built; what its points and
proofs mean is checked by `DkgState` when the message reaches its place in the log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._coin_errors import WireDecodeError
from ._coin_group import POINT_BYTES
from ._coin_key import MAX_REPLICAS
from ._coin_proof import PROOF_BYTES
from ._coin_wire import (
    FORMAT_VERSION,
    TYPE_DKG_CLOSE,
    TYPE_DKG_COMPLAINTS,
    TYPE_DKG_DEALING,
    TYPE_DKG_KEY,
    open_record,
    pack,
    record_type,
    unpack,
    want_byte_strings,
    want_bytes,
    want_list,
    want_uint,
)
from ._dkg_config import OPEN_PHASES, Phase

MAX_DKG_MESSAGE_BYTES = 16 * 1024


def _check_replica(name: str, value: object) -> None:
    if type(value) is not int or not 0 <= value < MAX_REPLICAS:
        raise ValueError(f"{name} must be a replica index in [0, {MAX_REPLICAS})")


def _check_bytes(name: str, value: object, size: int) -> None:
    if type(value) is not bytes or len(value) != size:
        raise ValueError(f"{name} must be {size} bytes")


def _check_points(name: str, value: object, min_items: int) -> None:
    if type(value) is not tuple or not min_items <= len(value) <= MAX_REPLICAS:
        raise ValueError(f"{name} must be a tuple of {min_items}..{MAX_REPLICAS} items")
    for item in value:
        _check_bytes(name, item, POINT_BYTES)


@dataclass(frozen=True, slots=True)
class DkgKey:
    """Replica's encryption key E = k * G for this table's DKG, with a Schnorr proof of k."""

    replica: int
    public_key: bytes
    proof: bytes

    def __post_init__(self) -> None:
        _check_replica("DkgKey.replica", self.replica)
        _check_bytes("DkgKey.public_key", self.public_key, POINT_BYTES)
        _check_bytes("DkgKey.proof", self.proof, PROOF_BYTES)

    def to_wire(self) -> list[Any]:
        return [FORMAT_VERSION, TYPE_DKG_KEY, self.replica, self.public_key, self.proof]


@dataclass(frozen=True, slots=True)
class DkgDealing:
    """A dealer's Feldman commitments C_k = a_k * G and one encrypted share per key holder.

    `ephemeral` R = r * G (with a Schnorr proof of r bound to the dealer) keys the
    encryption: the share for holder i is padded with a hash of r * E_i, and
    `ciphertexts[j]` belongs to the j-th key holder in ascending replica order.
    """

    replica: int
    ephemeral: bytes
    ephemeral_proof: bytes
    commitments: tuple[bytes, ...]
    ciphertexts: tuple[bytes, ...]

    def __post_init__(self) -> None:
        _check_replica("DkgDealing.replica", self.replica)
        _check_bytes("DkgDealing.ephemeral", self.ephemeral, POINT_BYTES)
        _check_bytes("DkgDealing.ephemeral_proof", self.ephemeral_proof, PROOF_BYTES)
        _check_points("DkgDealing.commitments", self.commitments, 1)
        _check_points("DkgDealing.ciphertexts", self.ciphertexts, 1)

    def to_wire(self) -> list[Any]:
        return [FORMAT_VERSION, TYPE_DKG_DEALING, self.replica, self.ephemeral,
                self.ephemeral_proof, list(self.commitments), list(self.ciphertexts)]


@dataclass(frozen=True, slots=True)
class Complaint:
    """The complainer's share from `dealer` is bad: here is D = k * R, proven with a DLEQ
    proof (log_G E = log_R D), so anyone can decrypt that share and check it."""

    dealer: int
    revealed: bytes
    proof: bytes

    def __post_init__(self) -> None:
        _check_replica("Complaint.dealer", self.dealer)
        _check_bytes("Complaint.revealed", self.revealed, POINT_BYTES)
        _check_bytes("Complaint.proof", self.proof, PROOF_BYTES)

    def to_wire(self) -> list[Any]:
        return [self.dealer, self.revealed, self.proof]


@dataclass(frozen=True, slots=True)
class DkgComplaints:
    """A key holder's verdict on every dealing: its complaints, none if all shares were good."""

    replica: int
    complaints: tuple[Complaint, ...]

    def __post_init__(self) -> None:
        _check_replica("DkgComplaints.replica", self.replica)
        if type(self.complaints) is not tuple or len(self.complaints) > MAX_REPLICAS:
            raise ValueError(f"DkgComplaints.complaints must be a tuple of at most {MAX_REPLICAS}")
        if not all(isinstance(c, Complaint) for c in self.complaints):
            raise ValueError("DkgComplaints.complaints must hold Complaint values")

    def to_wire(self) -> list[Any]:
        return [FORMAT_VERSION, TYPE_DKG_COMPLAINTS, self.replica,
                [c.to_wire() for c in self.complaints]]


@dataclass(frozen=True, slots=True)
class DkgClose:
    """The replica waited long enough in `phase` and votes to close it."""

    replica: int
    phase: Phase

    def __post_init__(self) -> None:
        _check_replica("DkgClose.replica", self.replica)
        if not isinstance(self.phase, Phase) or self.phase not in OPEN_PHASES:
            raise ValueError("DkgClose.phase must be KEYS, DEALINGS or COMPLAINTS")

    def to_wire(self) -> list[Any]:
        return [FORMAT_VERSION, TYPE_DKG_CLOSE, self.replica, int(self.phase)]


DkgMessage = DkgKey | DkgDealing | DkgComplaints | DkgClose


def _key(obj: Any) -> DkgKey:
    replica, public_key, proof = open_record(obj, TYPE_DKG_KEY, 3, "DkgKey")
    return DkgKey(want_uint(replica, "DkgKey.replica", MAX_REPLICAS - 1),
                  want_bytes(public_key, "DkgKey.public_key", POINT_BYTES),
                  want_bytes(proof, "DkgKey.proof", PROOF_BYTES))


def _dealing(obj: Any) -> DkgDealing:
    replica, ephemeral, proof, commitments, ciphertexts = open_record(
        obj, TYPE_DKG_DEALING, 5, "DkgDealing")
    return DkgDealing(
        want_uint(replica, "DkgDealing.replica", MAX_REPLICAS - 1),
        want_bytes(ephemeral, "DkgDealing.ephemeral", POINT_BYTES),
        want_bytes(proof, "DkgDealing.ephemeral_proof", PROOF_BYTES),
        want_byte_strings(commitments, "DkgDealing.commitments", POINT_BYTES, MAX_REPLICAS),
        want_byte_strings(ciphertexts, "DkgDealing.ciphertexts", POINT_BYTES, MAX_REPLICAS),
    )


def _complaint(obj: Any) -> Complaint:
    fields = want_list(obj, "Complaint", 3)
    if len(fields) != 3:
        raise WireDecodeError("Complaint: expected 3 fields")
    return Complaint(want_uint(fields[0], "Complaint.dealer", MAX_REPLICAS - 1),
                     want_bytes(fields[1], "Complaint.revealed", POINT_BYTES),
                     want_bytes(fields[2], "Complaint.proof", PROOF_BYTES))


def _complaints(obj: Any) -> DkgComplaints:
    replica, complaints = open_record(obj, TYPE_DKG_COMPLAINTS, 2, "DkgComplaints")
    items = want_list(complaints, "DkgComplaints.complaints", MAX_REPLICAS)
    return DkgComplaints(want_uint(replica, "DkgComplaints.replica", MAX_REPLICAS - 1),
                         tuple(_complaint(item) for item in items))


def _close(obj: Any) -> DkgClose:
    replica, phase = open_record(obj, TYPE_DKG_CLOSE, 2, "DkgClose")
    phase_value = want_uint(phase, "DkgClose.phase", max(OPEN_PHASES))
    return DkgClose(want_uint(replica, "DkgClose.replica", MAX_REPLICAS - 1), Phase(phase_value))


_DECODERS: dict[int, Callable[[Any], DkgMessage]] = {
    TYPE_DKG_KEY: _key, TYPE_DKG_DEALING: _dealing,
    TYPE_DKG_COMPLAINTS: _complaints, TYPE_DKG_CLOSE: _close,
}


def dkg_message_from_wire(obj: Any) -> DkgMessage:
    decoder = _DECODERS.get(record_type(obj))
    if decoder is None:
        raise WireDecodeError(f"record type {record_type(obj)} is not a DKG message")
    try:
        return decoder(obj)
    except ValueError as exc:
        raise WireDecodeError(str(exc)) from None


def encode_dkg_message(message: DkgMessage) -> bytes:
    return pack(message.to_wire())


def decode_dkg_message(data: bytes) -> DkgMessage:
    """Strict decoding: one DKG message or WireDecodeError, for any input."""
    return dkg_message_from_wire(unpack(data, MAX_DKG_MESSAGE_BYTES, 3, 2 + MAX_REPLICAS))
