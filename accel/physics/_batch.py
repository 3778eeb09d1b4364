"""The result of simulating many throws at once, as every backend returns it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bitcraps.accel.physics._constants import (
    ANG,
    ANG_MAX,
    DIE_WORDS,
    FRAME_STEPS,
    FRAME_WORDS,
    MAX_FRAMES,
    ONE,
    POS,
    POS_MAX,
    QUAT,
    STATE_WORDS,
    VEL,
    VEL_MAX,
)
from bitcraps.accel.physics._reference import ThrowOutcome

__all__ = ["PhysicsBatch", "PhysicsInputError", "frame_steps", "validate_states"]

# A quaternion's squared norm (Q16) must start within this range: the renormalization the
# specification uses keeps it there (docs/dice-physics.md, "Ranges").
QUAT_NORM2_MIN = ONE - ONE // 16
QUAT_NORM2_MAX = ONE + ONE // 16


class PhysicsInputError(ValueError):
    """Initial states that the specification does not cover."""


def frame_steps(settle_steps: int) -> list[int]:
    """The steps at which frames are taken: 0, every FRAME_STEPS, and the last step."""
    steps = list(range(0, settle_steps + 1, FRAME_STEPS))
    if steps[-1] != settle_steps:
        steps.append(settle_steps)
    return steps


@dataclass(frozen=True, eq=False)
class PhysicsBatch:
    """n throws' outcomes as int64 arrays (step digests uint64); compare with ``equals``."""

    final_states: np.ndarray  # (n, STATE_WORDS)
    landed_faces: np.ndarray  # (n, 2), labels 1..6
    settle_steps: np.ndarray  # (n,)
    settled: np.ndarray  # (n,) bool
    step_digests: np.ndarray  # (n,) uint64
    frames: np.ndarray  # (n, MAX_FRAMES, FRAME_WORDS); rows past the throw's frames are 0

    def __len__(self) -> int:
        return int(self.final_states.shape[0])

    def outcome(self, index: int) -> ThrowOutcome:
        count = len(frame_steps(int(self.settle_steps[index])))
        return ThrowOutcome(
            final_state=tuple(int(word) for word in self.final_states[index]),
            landed_faces=(int(self.landed_faces[index, 0]), int(self.landed_faces[index, 1])),
            settle_steps=int(self.settle_steps[index]),
            settled=bool(self.settled[index]),
            step_digest=int(self.step_digests[index]),
            frames=tuple(tuple(int(word) for word in row) for row in self.frames[index, :count]),
        )

    @classmethod
    def from_outcomes(cls, outcomes: Sequence[ThrowOutcome]) -> PhysicsBatch:
        n = len(outcomes)
        frames = np.zeros((n, MAX_FRAMES, FRAME_WORDS), dtype=np.int64)
        for index, outcome in enumerate(outcomes):
            frames[index, :len(outcome.frames)] = np.array(outcome.frames, dtype=np.int64)
        return cls(
            final_states=np.array([o.final_state for o in outcomes], dtype=np.int64)
            .reshape(n, STATE_WORDS),
            landed_faces=np.array([o.landed_faces for o in outcomes], dtype=np.int64)
            .reshape(n, 2),
            settle_steps=np.array([o.settle_steps for o in outcomes], dtype=np.int64),
            settled=np.array([o.settled for o in outcomes], dtype=bool),
            step_digests=np.array([o.step_digest for o in outcomes], dtype=np.uint64),
            frames=frames,
        )

    def head(self, count: int) -> PhysicsBatch:
        """The first ``count`` throws."""
        return PhysicsBatch(self.final_states[:count], self.landed_faces[:count],
                            self.settle_steps[:count], self.settled[:count],
                            self.step_digests[:count], self.frames[:count])

    def equals(self, other: PhysicsBatch) -> bool:
        """Bit-identical in every field."""
        return all(np.array_equal(getattr(self, name), getattr(other, name)) for name in (
            "final_states", "landed_faces", "settle_steps", "settled", "step_digests", "frames"))


def validate_states(states: np.ndarray) -> np.ndarray:
    """The initial states as a C-contiguous (n, STATE_WORDS) int64 array, or PhysicsInputError."""
    array = np.asarray(states)
    if array.ndim != 2 or array.shape[1] != STATE_WORDS:
        raise PhysicsInputError(f"initial states must have shape (n, {STATE_WORDS})")
    if array.dtype.kind not in "iu":
        raise PhysicsInputError("initial states must be integers")
    if array.size and (array.max() >= 1 << 62 or array.min() <= -(1 << 62)):
        raise PhysicsInputError("an initial state word is out of range")
    array = np.ascontiguousarray(array, dtype=np.int64)
    for die in range(2):
        base = die * DIE_WORDS
        _check_bound(array[:, base + POS:base + POS + 3], POS_MAX, "position")
        _check_bound(array[:, base + VEL:base + VEL + 3], VEL_MAX, "velocity")
        _check_bound(array[:, base + ANG:base + ANG + 3], ANG_MAX, "angular velocity")
        quat = array[:, base + QUAT:base + QUAT + 4]
        _check_bound(quat, 2 * ONE, "quaternion")
        norm2 = (quat * quat).sum(axis=1) >> 16
        if np.any(norm2 < QUAT_NORM2_MIN) or np.any(norm2 > QUAT_NORM2_MAX):
            raise PhysicsInputError("a quaternion is not of unit length (within 1/16)")
    return array


def _check_bound(words: np.ndarray, limit: int, what: str) -> None:
    if words.size and np.abs(words).max() > limit:
        raise PhysicsInputError(f"an initial {what} exceeds {limit} (raw Q16)")

