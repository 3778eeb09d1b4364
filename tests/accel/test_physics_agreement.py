"""The three implementations of the dice physics give the same bits on every input.

numpy and OpenCL (PoCL's CPU device, or any other) are compared over 4096 seeded throws;
the pure-Python reference, slow, against both over 96. Hand-made states push the
specification to its corners: dice at every bound, outside the walls, touching, resting.
A difference anywhere names the throw's seed index.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from bitcraps.accel._opencl_env import open_opencl
from bitcraps.accel.physics import (
    NumpyPhysics,
    OpenCLPhysics,
    PhysicsBatch,
    PhysicsInputError,
    PythonPhysics,
    frame_steps,
    initial_state,
    simulate_throw,
    throw_dice,
)
from bitcraps.accel.physics._constants import (
    ANG,
    ANG_MAX,
    DIE_WORDS,
    HALF_SIDE,
    MAX_STEPS,
    ONE,
    POS,
    POS_MAX,
    QUAT,
    STATE_WORDS,
    VEL,
    VEL_MAX,
)

DEVICE_THROWS = 4096
REFERENCE_THROWS = 96
EDGE_HEIGHT = 741456  # 8 * sqrt(2) mm: a die turned 45 degrees stands on its lowest edge
FIELDS = ("final_states", "landed_faces", "settle_steps", "settled", "step_digests", "frames")


def _seed(index: int) -> bytes:
    return hashlib.sha256(b"bitcraps/test-physics-agreement" + index.to_bytes(4, "big")).digest()


@pytest.fixture(scope="module")
def states() -> np.ndarray:
    return np.array([initial_state(_seed(i)) for i in range(DEVICE_THROWS)], dtype=np.int64)


@pytest.fixture(scope="module")
def device() -> OpenCLPhysics:
    backend = OpenCLPhysics(open_opencl())
    backend.self_test()
    return backend


@pytest.fixture(scope="module")
def numpy_batch(states: np.ndarray) -> PhysicsBatch:
    return NumpyPhysics(small_batch_throws=0).simulate(states)


@pytest.fixture(scope="module")
def device_batch(device: OpenCLPhysics, states: np.ndarray) -> PhysicsBatch:
    batch = device.simulate(states)
    assert device.statistics()["fallback_batches"] == 0, device.last_error
    return batch


def _assert_same(left: PhysicsBatch, right: PhysicsBatch, what: str) -> None:
    for name in FIELDS:
        a, b = getattr(left, name), getattr(right, name)
        assert a.shape == b.shape, f"{what}: {name} shapes {a.shape} != {b.shape}"
        differing = np.flatnonzero([not np.array_equal(x, y) for x, y in zip(a, b, strict=True)])
        assert differing.size == 0, f"{what}: {name} differs for throws {differing[:10]}"


def test_numpy_and_opencl_agree_on_4096_throws(numpy_batch: PhysicsBatch,
                                               device_batch: PhysicsBatch) -> None:
    _assert_same(numpy_batch, device_batch, "numpy vs OpenCL")
    # The sample is not degenerate: throws settle at different steps on every face.
    assert len(set(numpy_batch.settle_steps.tolist())) > 100
    assert set(numpy_batch.landed_faces.ravel().tolist()) == {1, 2, 3, 4, 5, 6}
    assert numpy_batch.settled.mean() > 0.99


def test_the_reference_agrees_with_numpy_and_opencl(states: np.ndarray, numpy_batch: PhysicsBatch,
                                                    device_batch: PhysicsBatch) -> None:
    reference = PythonPhysics().simulate(states[:REFERENCE_THROWS])
    _assert_same(reference, numpy_batch.head(REFERENCE_THROWS), "reference vs numpy")
    _assert_same(reference, device_batch.head(REFERENCE_THROWS), "reference vs OpenCL")


def test_frames_follow_the_specified_steps(states: np.ndarray, numpy_batch: PhysicsBatch) -> None:
    for index in range(0, DEVICE_THROWS, 512):
        outcome = numpy_batch.outcome(index)
        assert len(outcome.frames) == len(frame_steps(outcome.settle_steps))
        pose = [*range(POS, QUAT + 4)]
        first = [int(states[index][i]) for i in pose + [DIE_WORDS + i for i in pose]]
        last = [outcome.final_state[i] for i in pose + [DIE_WORDS + i for i in pose]]
        assert list(outcome.frames[0]) == first
        assert list(outcome.frames[-1]) == last
        assert not numpy_batch.frames[index, len(outcome.frames):].any()


def _die(position: tuple[int, int, int], quaternion: tuple[int, int, int, int] = (ONE, 0, 0, 0),
         velocity: tuple[int, int, int] = (0, 0, 0),
         spin: tuple[int, int, int] = (0, 0, 0)) -> list[int]:
    return [*position, *quaternion, *velocity, *spin]


def _corner_states() -> np.ndarray:
    """States at the edges of what the specification covers."""
    half = HALF_SIDE
    diagonal = (46341, 46341, 0, 0)  # 90 degrees about x, norm^2 within 2**-15 of 1
    rows = [
        # resting flat, side by side, exactly touching the floor
        _die((0, 0, half)) + _die((40 * ONE, 0, half)),
        # both at every bound: the fastest throw and spin, in opposite directions
        _die((0, 0, 60 * ONE), velocity=(VEL_MAX, -VEL_MAX, VEL_MAX),
             spin=(ANG_MAX, -ANG_MAX, ANG_MAX))
        + _die((50 * ONE, 0, 60 * ONE), velocity=(-VEL_MAX, VEL_MAX, -VEL_MAX),
               spin=(-ANG_MAX, ANG_MAX, -ANG_MAX)),
        # far outside the walls and below the floor, at the position bound
        _die((POS_MAX, -POS_MAX, -POS_MAX)) + _die((-POS_MAX, POS_MAX, POS_MAX)),
        # the two centres 1 mm apart (inside the minimum distance) and then 10 mm apart
        _die((0, 0, 30 * ONE)) + _die((ONE, 0, 30 * ONE)),
        _die((0, 0, 30 * ONE), diagonal) + _die((10 * ONE, 0, 30 * ONE), velocity=(-ONE, 0, 0)),
        # in a corner of the table, spinning against both walls
        _die((200 * ONE - half, 150 * ONE - half, half), spin=(0, 0, ANG_MAX))
        + _die((-200 * ONE + half, -150 * ONE + half, half), spin=(ANG_MAX, 0, 0)),
        # balanced on an edge
        _die((0, 0, EDGE_HEIGHT), (60547, 25080, 0, 0))
        + _die((60 * ONE, 0, EDGE_HEIGHT), (60547, 0, 25080, 0)),
    ]
    return np.array(rows, dtype=np.int64)


def test_all_three_agree_on_states_at_the_corners_of_the_specification(
        device: OpenCLPhysics) -> None:
    states = _corner_states()
    reference = PythonPhysics().simulate(states)  # asserts every bound on the way
    _assert_same(reference, NumpyPhysics(small_batch_throws=0).simulate(states), "numpy")
    _assert_same(reference, device.simulate(states), "OpenCL")
    assert reference.settle_steps.max() <= MAX_STEPS


def test_throw_dice_gives_the_same_hashes_on_every_backend(device: OpenCLPhysics) -> None:
    for index in range(3):
        results = [throw_dice(_seed(index), (index + 1, 6 - index), backend)
                   for backend in (PythonPhysics(), NumpyPhysics(), device)]
        assert len({r.final_state_hash for r in results}) == 1, f"seed index {index}"
        assert len({r.trajectory_hash for r in results}) == 1, f"seed index {index}"
        assert results[0] == results[1] == results[2]


def test_no_backend_writes_to_its_input(device: OpenCLPhysics) -> None:
    states = np.array([initial_state(_seed(i)) for i in range(2)], dtype=np.int64)
    kept = states.copy()
    for backend in (PythonPhysics(), NumpyPhysics(small_batch_throws=0), device):
        backend.simulate(states[:1])  # one throw: its transpose is already contiguous
        backend.simulate(states)
        assert np.array_equal(states, kept), backend.name
    alone = device.simulate(states[:1]).outcome(0)
    assert simulate_throw(states[0]).final_state == alone.final_state


@pytest.mark.parametrize(("change", "message"), [
    (lambda s: s[:, :STATE_WORDS - 1], "shape"),
    (lambda s: s.astype(np.float64), "integers"),
    (lambda s: _set(s, VEL, VEL_MAX + 1), "velocity"),
    (lambda s: _set(s, DIE_WORDS + ANG + 2, -ANG_MAX - 1), "angular velocity"),
    (lambda s: _set(s, POS + 1, POS_MAX + 1), "position"),
    (lambda s: _set(_set(_set(_set(s, QUAT, ONE // 2), QUAT + 1, 0), QUAT + 2, 0), QUAT + 3, 0),
     "unit length"),
    (lambda s: _set(s, QUAT, 1 << 62), "out of range"),
])
def test_states_outside_the_specification_are_refused(change: object, message: str) -> None:
    states = np.array([initial_state(_seed(0))], dtype=np.int64)
    bad = change(states)  # type: ignore[operator]
    for backend in (PythonPhysics(), NumpyPhysics()):
        with pytest.raises(PhysicsInputError, match=message):
            backend.simulate(bad)


def _set(states: np.ndarray, word: int, value: int) -> np.ndarray:
    changed = states.copy()
    changed[0, word] = value
    return changed


def test_all_three_agree_when_the_step_limit_cuts_throws_short(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The same specification with MAX_STEPS = 200: most throws end unsettled at the limit,
    a few settle just before it (every throw here settles with the real limit)."""
    from bitcraps.accel.physics import _numpy_sim, _reference
    from bitcraps.accel.physics._kernel_source import kernel_source

    limit = 200
    monkeypatch.setattr(_reference, "MAX_STEPS", limit)
    monkeypatch.setattr(_numpy_sim, "MAX_STEPS", limit)
    source = kernel_source().replace(f"#define MAX_STEPS ({MAX_STEPS}L)",
                                     f"#define MAX_STEPS ({limit}L)")
    assert f"({limit}L)" in source
    device = OpenCLPhysics(open_opencl(), source=source)
    states = np.array([initial_state(_seed(i)) for i in range(48)], dtype=np.int64)
    reference = PythonPhysics().simulate(states)
    assert 0 < reference.settled.sum() < len(states) // 2
    assert (reference.settle_steps[~reference.settled] == limit).all()
    _assert_same(reference, NumpyPhysics(small_batch_throws=0).simulate(states), "numpy")
    _assert_same(reference, device.simulate(states), "OpenCL")
    assert device.statistics()["fallback_batches"] == 0
