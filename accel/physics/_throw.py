"""A craps roll's dice throw: seed and chosen values in, an animation and two hashes out."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bitcraps.accel.physics._backends import PhysicsBackend
from bitcraps.accel.physics._batch import PhysicsBatch, frame_steps
from bitcraps.accel.physics._constants import ONE, POSE_WORDS, STATE_WORDS, STEPS_PER_SECOND
from bitcraps.accel.physics._reference import ThrowOutcome
from bitcraps.accel.physics._relabel import face_labels, validate_values
from bitcraps.accel.physics._seed import initial_state

__all__ = [
    "DiePose",
    "Frame",
    "ThrowResult",
    "final_state_hash",
    "throw_dice",
    "throw_dice_batch",
    "trajectory_hash",
]

TRAJECTORY_DOMAIN = b"bitcraps/dice-trajectory/v1"
FINAL_DOMAIN = b"bitcraps/dice-final/v1"


@dataclass(frozen=True)
class DiePose:
    position_q16: tuple[int, int, int]  # millimetres * 2**16; the table's centre is 0, 0, 0
    orientation_q16: tuple[int, int, int, int]  # unit quaternion w, x, y, z * 2**16


@dataclass(frozen=True)
class Frame:
    step: int  # simulation step; one step is 1/256 s
    dice: tuple[DiePose, DiePose]


@dataclass(frozen=True)
class ThrowResult:
    landed_faces: tuple[int, int]  # face slots on top, per the physics (before relabelling)
    shown_values: tuple[int, int]  # the chosen values, which the relabelled dice show on top
    face_labels: tuple[tuple[int, ...], tuple[int, ...]]  # per die: label drawn on slot s at s-1
    final_state_hash: bytes  # 32 bytes; goes in the executed roll
    trajectory_hash: bytes  # 32 bytes; covers every step (digest) and every frame
    frames: tuple[Frame, ...]
    settle_steps: int
    settled: bool  # False: MAX_STEPS ran out first (the landed faces are still defined)

    def animation(self) -> dict[str, Any]:
        """A JSON-ready form for the web table: millimetres and unit quaternions as floats."""
        return {
            "steps_per_second": STEPS_PER_SECOND,
            "face_labels": [list(labels) for labels in self.face_labels],
            "shown_values": list(self.shown_values),
            "frames": [
                {"step": frame.step,
                 "dice": [{"position_mm": [c / ONE for c in pose.position_q16],
                           "orientation": [c / ONE for c in pose.orientation_q16]}
                          for pose in frame.dice]}
                for frame in self.frames
            ],
        }


def throw_dice(seed: bytes, values: tuple[int, int], backend: PhysicsBackend) -> ThrowResult:
    """Run the throw ``seed`` names through the physics; relabel it to show ``values`` (1..6)."""
    return throw_dice_batch([seed], [values], backend)[0]


def throw_dice_batch(seeds: Sequence[bytes], values: Sequence[tuple[int, int]],
                     backend: PhysicsBackend) -> list[ThrowResult]:
    """Many throws in one backend call; result i belongs to seeds[i] and values[i]."""
    if len(seeds) != len(values):
        raise ValueError("one pair of values per seed")
    checked = [validate_values(pair) for pair in values]
    states = np.array([initial_state(seed) for seed in seeds], dtype=np.int64)
    batch = backend.simulate(states.reshape(len(seeds), STATE_WORDS))
    return [_result(batch, index, checked[index]) for index in range(len(seeds))]


def _result(batch: PhysicsBatch, index: int, values: tuple[int, int]) -> ThrowResult:
    outcome = batch.outcome(index)
    labels = (face_labels(outcome.landed_faces[0], values[0]),
              face_labels(outcome.landed_faces[1], values[1]))
    frames = tuple(
        Frame(step, (_pose(words[:POSE_WORDS]), _pose(words[POSE_WORDS:])))
        for step, words in zip(frame_steps(outcome.settle_steps), outcome.frames, strict=True)
    )
    return ThrowResult(outcome.landed_faces, values, labels,
                       final_state_hash(outcome, values), trajectory_hash(outcome), frames,
                       outcome.settle_steps, outcome.settled)


def final_state_hash(outcome: ThrowOutcome, values: tuple[int, int]) -> bytes:
    """SHA-256 of the domain, the final state, the step count and flag, faces and values."""
    return hashlib.sha256(
        FINAL_DOMAIN + _words(outcome.final_state)
        + struct.pack("<IB", outcome.settle_steps, outcome.settled)
        + bytes(outcome.landed_faces) + bytes(values)
    ).digest()


def trajectory_hash(outcome: ThrowOutcome) -> bytes:
    """SHA-256 of the domain, step count and flag, the per-step digest, every frame (its step
    and both poses) and the final state."""
    steps = frame_steps(outcome.settle_steps)
    hasher = hashlib.sha256(TRAJECTORY_DOMAIN)
    hasher.update(struct.pack("<IBQI", outcome.settle_steps, outcome.settled,
                              outcome.step_digest, len(outcome.frames)))
    for step, words in zip(steps, outcome.frames, strict=True):
        hasher.update(struct.pack("<I", step) + _words(words))
    hasher.update(_words(outcome.final_state))
    return hasher.digest()


def _words(words: Sequence[int]) -> bytes:
    return struct.pack(f"<{len(words)}q", *words)


def _pose(words: Sequence[int]) -> DiePose:
    return DiePose((words[0], words[1], words[2]), (words[3], words[4], words[5], words[6]))
