"""Fixed-point dice physics: one specification (docs/dice-physics.md), three bit-identical
implementations (pure Python, numpy, OpenCL), and the throw a craps roll animates.

    backend, reason = select_physics_backend("auto")   # log `reason` once
    result = throw_dice(seed, (3, 4), backend)          # seed: 32 bytes; values: 1..6 each
    result.shown_values == (3, 4); result.final_state_hash; result.frames
"""

from bitcraps.accel.physics._backends import (
    NUMPY_MIN_BATCH,
    NumpyPhysics,
    PhysicsBackend,
    PhysicsBackendError,
    PythonPhysics,
)
from bitcraps.accel.physics._batch import PhysicsBatch, PhysicsInputError, frame_steps
from bitcraps.accel.physics._fairness import chi2_survival, face_fairness
from bitcraps.accel.physics._opencl_sim import DeviceResultError, OpenCLPhysics, SelfTestReport
from bitcraps.accel.physics._reference import ThrowOutcome, simulate_throw
from bitcraps.accel.physics._relabel import DiceValueError, face_labels
from bitcraps.accel.physics._seed import SEED_BYTES, SeedError, initial_state
from bitcraps.accel.physics._select import (
    PREFERENCES,
    open_opencl_physics,
    select_physics_backend,
)
from bitcraps.accel.physics._selftest import PhysicsSelfTestError
from bitcraps.accel.physics._throw import (
    DiePose,
    Frame,
    ThrowResult,
    final_state_hash,
    throw_dice,
    throw_dice_batch,
    trajectory_hash,
)

__all__ = [
    "NUMPY_MIN_BATCH",
    "PREFERENCES",
    "SEED_BYTES",
    "DeviceResultError",
    "DiceValueError",
    "DiePose",
    "Frame",
    "NumpyPhysics",
    "OpenCLPhysics",
    "PhysicsBackend",
    "PhysicsBackendError",
    "PhysicsBatch",
    "PhysicsInputError",
    "PhysicsSelfTestError",
    "PythonPhysics",
    "SeedError",
    "SelfTestReport",
    "ThrowOutcome",
    "ThrowResult",
    "chi2_survival",
    "face_fairness",
    "face_labels",
    "final_state_hash",
    "frame_steps",
    "initial_state",
    "open_opencl_physics",
    "select_physics_backend",
    "simulate_throw",
    "throw_dice",
    "throw_dice_batch",
    "trajectory_hash",
]
