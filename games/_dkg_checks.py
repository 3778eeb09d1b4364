"""What every replica checks, in public, about a dealing and about a complaint.

A dealing is checked when it is ordered (shape, points, the ephemeral key's proof); its
shares are secret, so only a complaint can show one is bad. A complaint is judged by
anyone: a bad proof or a share that matches the commitments dismisses it, a share that
does not decrypt to a canonical scalar or does not match the commitments disqualifies the
dealer. An honest dealer is never disqualified, and a Byzantine one cannot stop an honest
holder's complaint from opening exactly the share it sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ._coin_group import Group
from ._coin_shamir import evaluate_in_exponent, share_point
from ._dkg_config import DkgConfig
from ._dkg_crypto import complaint_proof_valid, decrypt_share, ephemeral_proof_valid
from ._dkg_messages import Complaint, DkgDealing


def dealing_fault(group: Group, config: DkgConfig, dealing: DkgDealing,
                  holders: Sequence[int]) -> str | None:
    """Why the dealing cannot be accepted, or None."""
    if len(dealing.commitments) != config.threshold:
        return (f"{len(dealing.commitments)} commitments, a degree-{config.threshold - 1} "
                f"polynomial has {config.threshold}")
    if len(dealing.ciphertexts) != len(holders):
        return f"{len(dealing.ciphertexts)} encrypted shares for {len(holders)} key holders"
    for k, commitment in enumerate(dealing.commitments):
        if not group.is_valid_point(commitment):
            return f"commitment {k} is not a valid point"
    if not group.is_valid_point(dealing.ephemeral):
        return "the ephemeral key is not a valid point"
    if not ephemeral_proof_valid(group, config, dealing):
        return "the ephemeral key's proof does not verify"
    return None


@dataclass(frozen=True, slots=True)
class Ruling:
    dealer_at_fault: bool
    reason: str


def share_matches(group: Group, dealing: DkgDealing, holder: int, share: int) -> bool:
    """share * G equals the commitments evaluated at the holder's point."""
    expected = evaluate_in_exponent(group, dealing.commitments, share_point(holder))
    return group.base_mul(share) == expected


def judge_complaint(group: Group, config: DkgConfig, complainer: int,
                    keys: Mapping[int, bytes], holders: Sequence[int], dealing: DkgDealing,
                    complaint: Complaint) -> Ruling:
    """Decide a complaint by `complainer` (a key holder) against an accepted dealing."""
    key = keys[complainer]
    if not group.is_valid_point(complaint.revealed):
        return Ruling(False, "the revealed key is not a valid point")
    if not complaint_proof_valid(group, config, complainer, key, dealing, complaint):
        return Ruling(False, "the revealed key's DLEQ proof does not verify")
    position = list(holders).index(complainer)
    share = decrypt_share(config, dealing, complainer, position, key, complaint.revealed)
    if share is None:
        return Ruling(True, f"the share for replica {complainer} is not a canonical scalar")
    if not share_matches(group, dealing, complainer, share):
        return Ruling(True, f"the share for replica {complainer} does not match the commitments")
    return Ruling(False, f"the share for replica {complainer} matches the commitments")
