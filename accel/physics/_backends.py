"""The physics backend interface and its two CPU twins.

Every backend answers ``simulate(initial_states) -> PhysicsBatch`` with the same bits; they
differ only in speed. The pure-Python reference is fastest for a handful of throws (numpy
pays a fixed cost per step for each of ~1,000 array operations, whatever the batch), numpy
for many.
"""

from __future__ import annotations

import threading
from typing import Protocol

import numpy as np

from bitcraps.accel.physics._batch import PhysicsBatch, validate_states
from bitcraps.accel.physics._numpy_sim import simulate_batch
from bitcraps.accel.physics._reference import simulate_throw

__all__ = [
    "NUMPY_MIN_BATCH",
    "NumpyPhysics",
    "PhysicsBackend",
    "PhysicsBackendError",
    "PythonPhysics",
]

# Below this many throws the numpy backend runs them on the Python reference instead: on
# the 2-core development machine numpy takes ~420 ms for one throw and ~15 ms per throw at
# 64 throws, the reference ~15 ms per throw at any batch size (docs/dice-physics.md).
NUMPY_MIN_BATCH = 64


class PhysicsBackendError(RuntimeError):
    """A backend that cannot be used; the message says why, in one line."""


class PhysicsBackend(Protocol):
    """What the node calls to simulate throws."""

    name: str  # "python", "numpy" or "opencl"
    description: str  # what runs the throws, for logs

    def simulate(self, initial_states: np.ndarray) -> PhysicsBatch:
        """Simulate (n, STATE_WORDS) int64 initial states; bit-identical on every backend."""
        ...

    def statistics(self) -> dict[str, int]:
        """Counters since the backend was made."""
        ...


class PythonPhysics:
    """The pure-Python reference, one throw after another."""

    name = "python"
    description = "the pure-Python reference"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._batches = 0
        self._throws = 0

    def simulate(self, initial_states: np.ndarray) -> PhysicsBatch:
        states = validate_states(initial_states)
        with self._lock:
            self._batches += 1
            self._throws += len(states)
        return PhysicsBatch.from_outcomes([simulate_throw(row) for row in states])

    def statistics(self) -> dict[str, int]:
        with self._lock:
            return {"batches": self._batches, "throws": self._throws}


class NumpyPhysics:
    """The numpy batch twin; batches under ``small_batch_throws`` run on the reference."""

    name = "numpy"

    def __init__(self, small_batch_throws: int = NUMPY_MIN_BATCH) -> None:
        if small_batch_throws < 0:
            raise ValueError("small_batch_throws must be >= 0")
        self.small_batch_throws = small_batch_throws
        self.description = (f"numpy (batches under {small_batch_throws} throws on the "
                            f"pure-Python reference)" if small_batch_throws else "numpy")
        self._reference = PythonPhysics()
        self._lock = threading.Lock()
        self._batches = 0
        self._throws = 0
        self._numpy_batches = 0

    def simulate(self, initial_states: np.ndarray) -> PhysicsBatch:
        states = validate_states(initial_states)
        small = len(states) < self.small_batch_throws
        with self._lock:
            self._batches += 1
            self._throws += len(states)
            self._numpy_batches += 0 if small else 1
        if small:
            return self._reference.simulate(states)
        return simulate_batch(states)

    def statistics(self) -> dict[str, int]:
        with self._lock:
            return {"batches": self._batches, "throws": self._throws,
                    "numpy_batches": self._numpy_batches,
                    "python_batches": self._batches - self._numpy_batches}
