"""Relabel a landed die so it shows the value the seed chose (docs/dice-physics.md, "Relabelling").

The physics says which face slot ended up on top; the seed says which value the roll has.
The die is drawn with its labels turned by one proper rotation of the cube, so it stays a
real die (opposite faces sum to 7, same handedness) and the chosen value sits on the slot
that landed up. Of the rotations that do this, the one with the smallest angle (largest
trace) is taken, ties broken by the matrix entries in row-major order, smallest first.
"""

from __future__ import annotations

import itertools
from functools import lru_cache

from bitcraps.accel.physics._constants import FACE_NORMALS

__all__ = ["DiceValueError", "face_labels", "validate_values"]

Matrix = tuple[tuple[int, int, int], tuple[int, int, int], tuple[int, int, int]]


class DiceValueError(ValueError):
    """A die value or face outside 1..6."""


def validate_values(values: tuple[int, int]) -> tuple[int, int]:
    if (not isinstance(values, tuple) or len(values) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 6
                       for v in values)):
        raise DiceValueError(f"dice values must be a pair of ints 1..6, not {values!r}")
    return values


def face_labels(landed_face: int, value: int) -> tuple[int, int, int, int, int, int]:
    """The label to draw on each face slot (slot s at index s - 1) so ``value`` is on top.

    Slot s is the face whose outward normal is FACE_NORMALS[s] in the die's own frame; the
    physics' landed face is such a slot.
    """
    if not (1 <= landed_face <= 6 and 1 <= value <= 6):
        raise DiceValueError(f"face {landed_face} and value {value} must be 1..6")
    return _labels(landed_face, value)


@lru_cache(maxsize=36)
def _labels(landed_face: int, value: int) -> tuple[int, int, int, int, int, int]:
    rotation = next(m for m in _rotations()
                    if _apply(m, FACE_NORMALS[value]) == FACE_NORMALS[landed_face])
    slot_of_label = {label: _slot(_apply(rotation, normal))
                     for label, normal in FACE_NORMALS.items()}
    labels = [0] * 6
    for label, slot in slot_of_label.items():
        labels[slot - 1] = label
    return (labels[0], labels[1], labels[2], labels[3], labels[4], labels[5])


@lru_cache(maxsize=1)
def _rotations() -> tuple[Matrix, ...]:
    """The 24 rotations of the cube, smallest angle first, then by entries."""
    found = []
    for permutation in itertools.permutations(range(3)):
        for signs in itertools.product((-1, 1), repeat=3):
            matrix = _signed_permutation(permutation, signs)
            if _determinant(matrix) == 1:
                found.append(matrix)
    found.sort(key=lambda m: (-(m[0][0] + m[1][1] + m[2][2]), m))
    return tuple(found)


def _signed_permutation(permutation: tuple[int, ...], signs: tuple[int, ...]) -> Matrix:
    """Row i has signs[i] in column permutation[i] and zeros elsewhere."""
    def row(i: int) -> tuple[int, int, int]:
        return (signs[i] if permutation[i] == 0 else 0, signs[i] if permutation[i] == 1 else 0,
                signs[i] if permutation[i] == 2 else 0)

    return (row(0), row(1), row(2))


def _determinant(m: Matrix) -> int:
    return (m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]))


def _apply(m: Matrix, v: tuple[int, int, int]) -> tuple[int, int, int]:
    return (m[0][0] * v[0] + m[0][1] * v[1] + m[0][2] * v[2],
            m[1][0] * v[0] + m[1][1] * v[1] + m[1][2] * v[2],
            m[2][0] * v[0] + m[2][1] * v[1] + m[2][2] * v[2])


def _slot(normal: tuple[int, int, int]) -> int:
    return next(slot for slot, n in FACE_NORMALS.items() if n == normal)
