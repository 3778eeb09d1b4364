"""A roll's throw: initial conditions from the seed, relabelling that always shows the chosen
values on a real die, the two hashes, the frames, and a pinned test vector of version 1 of
the specification (docs/dice-physics.md)."""

from __future__ import annotations

import hashlib
import json
from itertools import product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitcraps.accel.physics import (
    DiceValueError,
    PythonPhysics,
    SeedError,
    face_labels,
    frame_steps,
    initial_state,
    throw_dice,
    throw_dice_batch,
)
from bitcraps.accel.physics._batch import validate_states
from bitcraps.accel.physics._constants import FACE_NORMALS, ONE, STEPS_PER_SECOND

VECTOR_SEED = hashlib.sha256(b"bitcraps/dice-test-vector/v1").digest()
VECTOR_INITIAL_STATE = (
    -9013036, -173508, 6528181, -42965, 7035, 7679, -48379, 340085, -49578, 54062, 4853, -3415,
    -3784, -9442483, 1659463, 3969618, -23782, 5821, -36605, -48535, 330614, -84607, 27464,
    -1033, 6187, -255,
)
VECTOR_FINAL_STATE_HASH = "2f14cb16b57d12dc241b0e7786ca3815a24cc1c96905feb4618b15ec3a457c04"
VECTOR_TRAJECTORY_HASH = "53fa386134ca5c96dc36b151381fcc7125338aca0eaf91369a4273d37dd95483"

OPPOSITE = {1: 6, 2: 5, 3: 4, 4: 3, 5: 2, 6: 1}


@pytest.fixture(scope="module")
def reference() -> PythonPhysics:
    return PythonPhysics()


def test_version_1_test_vector(reference: PythonPhysics) -> None:
    assert initial_state(VECTOR_SEED) == VECTOR_INITIAL_STATE
    result = throw_dice(VECTOR_SEED, (2, 5), reference)
    assert result.landed_faces == (3, 3)
    assert result.settle_steps == 290 and result.settled
    assert result.final_state_hash.hex() == VECTOR_FINAL_STATE_HASH
    assert result.trajectory_hash.hex() == VECTOR_TRAJECTORY_HASH
    assert result.shown_values == (2, 5)


def _determinant(a: tuple[int, int, int], b: tuple[int, int, int],
                 c: tuple[int, int, int]) -> int:
    return (a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0])
            + a[2] * (b[0] * c[1] - b[1] * c[0]))


@pytest.mark.parametrize(("landed", "value"), list(product(range(1, 7), repeat=2)))
def test_relabelling_shows_the_value_on_a_real_die(landed: int, value: int) -> None:
    labels = face_labels(landed, value)
    assert labels[landed - 1] == value
    assert sorted(labels) == [1, 2, 3, 4, 5, 6]
    slot_of = {label: slot for slot, label in enumerate(labels, start=1)}
    for label in range(1, 7):  # opposite faces still sum to 7
        assert FACE_NORMALS[slot_of[label]] == tuple(-c for c in FACE_NORMALS[
            slot_of[OPPOSITE[label]]])
    # same handedness as the standard die: 1, 2, 3 keep their turning sense
    standard = _determinant(FACE_NORMALS[1], FACE_NORMALS[2], FACE_NORMALS[3])
    assert _determinant(*(FACE_NORMALS[slot_of[label]] for label in (1, 2, 3))) == standard
    if landed == value:
        assert labels == (1, 2, 3, 4, 5, 6)


@settings(max_examples=12)
@given(st.binary(min_size=32, max_size=32), st.integers(1, 6), st.integers(1, 6))
def test_a_throw_always_shows_the_chosen_values(seed: bytes, first: int, second: int) -> None:
    result = throw_dice(seed, (first, second), PythonPhysics())
    assert result.shown_values == (first, second)
    for die, value in enumerate((first, second)):
        labels = result.face_labels[die]
        assert labels[result.landed_faces[die] - 1] == value
    assert [frame.step for frame in result.frames] == frame_steps(result.settle_steps)


def test_the_final_state_hash_covers_the_values_and_the_trajectory_hash_does_not(
        reference: PythonPhysics) -> None:
    one, other = throw_dice_batch([VECTOR_SEED, VECTOR_SEED], [(1, 1), (6, 6)], reference)
    assert one.final_state_hash != other.final_state_hash
    assert one.trajectory_hash == other.trajectory_hash
    assert one.frames == other.frames
    different_seed = throw_dice(bytes(32), (1, 1), reference)
    assert different_seed.trajectory_hash != one.trajectory_hash


def test_frames_start_at_the_initial_state_and_animate_as_json(reference: PythonPhysics) -> None:
    result = throw_dice(VECTOR_SEED, (4, 4), reference)
    first = result.frames[0].dice[0]
    assert first.position_q16 == VECTOR_INITIAL_STATE[0:3]
    assert first.orientation_q16 == VECTOR_INITIAL_STATE[3:7]
    animation = json.loads(json.dumps(result.animation()))
    assert animation["steps_per_second"] == STEPS_PER_SECOND
    assert animation["shown_values"] == [4, 4]
    assert len(animation["frames"]) == len(result.frames)
    last = animation["frames"][-1]["dice"][1]
    assert last["position_mm"][2] == pytest.approx(8.0, abs=0.25)  # resting on a face
    assert sum(c * c for c in last["orientation"]) == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("values", [(0, 3), (3, 7), (1,), (1, 2, 3), (True, 2), (1.0, 2),
                                    [1, 2]])
def test_bad_values_are_refused(values: object, reference: PythonPhysics) -> None:
    with pytest.raises(DiceValueError):
        throw_dice(VECTOR_SEED, values, reference)  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", [b"", bytes(31), bytes(33), "x" * 32])
def test_bad_seeds_are_refused(seed: object, reference: PythonPhysics) -> None:
    with pytest.raises(SeedError):
        throw_dice(seed, (1, 2), reference)  # type: ignore[arg-type]


def test_a_batch_needs_one_pair_of_values_per_seed(reference: PythonPhysics) -> None:
    with pytest.raises(ValueError, match="one pair of values per seed"):
        throw_dice_batch([VECTOR_SEED], [(1, 2), (3, 4)], reference)
    assert throw_dice_batch([], [], reference) == []


@settings(max_examples=200)
@given(st.binary(min_size=32, max_size=32))
def test_every_seed_gives_a_valid_initial_state(seed: bytes) -> None:
    state = initial_state(seed)
    validate_states([state])  # raises if outside the specification
    x0, y0, z0 = state[0:3]
    x1, y1, z1 = state[13:16]
    assert -170 * ONE <= x0 <= -130 * ONE and 40 * ONE <= z0 <= 100 * ONE
    assert 24 * ONE <= y1 - y0 <= 40 * ONE  # the dice start apart
    assert state[7] > 0 and state[20] > 0  # thrown towards +x
