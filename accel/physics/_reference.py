"""The pure-Python reference of the dice physics: docs/dice-physics.md, statement by statement.

This is the twin every other implementation is compared against. It runs on Python ints
and checks every bound the specification proves (``_fixed``), so an overflow that C or numpy
would wrap silently stops it with ``FixedPointRangeError`` instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bitcraps.accel.physics._constants import (
    ANG,
    ANG_MAX,
    ANGULAR_DAMPING_SHIFT,
    BOUNCE_MIN,
    CONTACT_WEIGHT_BIAS,
    CORNER_SIGNS,
    DICE_CONTACT_DIST2,
    DICE_MIN_DIST2,
    DICE_PUSH_MAX,
    DICE_RADIUS,
    DIE_WORDS,
    DIGEST_OFFSET,
    DIGEST_PRIME,
    FLOOR,
    FRAME_STEPS,
    GRAVITY,
    HALF_SIDE,
    INV_INERTIA,
    MAX_STEPS,
    ONE,
    PENETRATION_SLOP,
    PLANES,
    POS,
    POS_MAX,
    POSE_WORDS,
    QUAT,
    REST_ANG,
    REST_DAMPING_SHIFT,
    REST_VEL,
    RESTITUTION_DICE,
    SETTLE_ANG,
    SETTLE_STEPS,
    SETTLE_VEL,
    STATE_WORDS,
    UINT64_MASK,
    VEL,
    VEL_MAX,
)
from bitcraps.accel.physics._fixed import (
    FixedPointRangeError,
    clamp,
    div,
    mul,
    shr_round,
)

__all__ = ["ThrowOutcome", "landed_face", "rotation_matrix", "simulate_throw"]

Vector = list[int]
Matrix = list[list[int]]
OTHER_AXES = ((1, 2), (2, 0), (0, 1))  # (b, c) such that (axis, b, c) is cyclic


@dataclass(frozen=True)
class ThrowOutcome:
    """What one simulated throw gives, in any implementation."""

    final_state: tuple[int, ...]  # STATE_WORDS words
    landed_faces: tuple[int, int]
    settle_steps: int
    settled: bool
    step_digest: int  # FNV-1a 64 over every step's poses
    frames: tuple[tuple[int, ...], ...]  # FRAME_WORDS words each, at frame_steps(settle_steps)


def simulate_throw(initial_state: Sequence[int]) -> ThrowOutcome:
    """Run one throw from its initial state (STATE_WORDS ints) until it settles or times out."""
    if len(initial_state) != STATE_WORDS:
        raise ValueError(f"a throw's state has {STATE_WORDS} words, not {len(initial_state)}")
    words = [int(word) for word in initial_state]
    dice = [words[0:DIE_WORDS], words[DIE_WORDS:STATE_WORDS]]
    frames = [_pose(dice)]
    digest = DIGEST_OFFSET
    still_steps = 0
    steps = 0
    settled = False
    while steps < MAX_STEPS and not settled:
        _step(dice)
        steps += 1
        digest = _fold_digest(digest, dice)
        still_steps = still_steps + 1 if _is_still(dice) else 0
        settled = still_steps >= SETTLE_STEPS
        if steps % FRAME_STEPS == 0 or settled or steps == MAX_STEPS:
            frames.append(_pose(dice))
    faces = (landed_face(dice[0]), landed_face(dice[1]))
    return ThrowOutcome(tuple(dice[0] + dice[1]), faces, steps, settled, digest, tuple(frames))


def rotation_matrix(die: Sequence[int]) -> Matrix:
    """R (local to world) from the die's quaternion; row i, column j."""
    w, x, y, z = die[QUAT:QUAT + 4]
    xx, yy, zz = mul(x, x), mul(y, y), mul(z, z)
    xy, xz, yz = mul(x, y), mul(x, z), mul(y, z)
    wx, wy, wz = mul(w, x), mul(w, y), mul(w, z)
    return [
        [ONE - 2 * (yy + zz), 2 * (xy - wz), 2 * (xz + wy)],
        [2 * (xy + wz), ONE - 2 * (xx + zz), 2 * (yz - wx)],
        [2 * (xz - wy), 2 * (yz + wx), ONE - 2 * (xx + yy)],
    ]


def landed_face(die: Sequence[int]) -> int:
    """The label whose outward normal has the largest world z; ties go to the lower label."""
    r = rotation_matrix(die)
    normals_z = (r[2][2], -r[2][1], r[2][0], -r[2][0], r[2][1], -r[2][2])
    best = 0
    for label_index in range(1, 6):
        if normals_z[label_index] > normals_z[best]:
            best = label_index
    return best + 1


def _step(dice: list[Vector]) -> None:
    for die in dice:
        die[VEL + 2] = clamp(die[VEL + 2] - GRAVITY, VEL_MAX)
    for die in dice:
        _resolve_planes(die)
    _resolve_pair(dice[0], dice[1])
    for die in dice:
        _integrate(die)


def _corner_offsets(die: Vector) -> list[Vector]:
    r = rotation_matrix(die)
    a = [[mul(r[i][j], HALF_SIDE) for j in range(3)] for i in range(3)]
    return [
        [sx * a[i][0] + sy * a[i][1] + sz * a[i][2] for i in range(3)]
        for sx, sy, sz in CORNER_SIGNS
    ]


def _resolve_planes(die: Vector) -> None:
    offsets = _corner_offsets(die)
    touched_floor = False
    for index, (axis, sign, limit, restitution, friction) in enumerate(PLANES):
        touched = _resolve_plane(die, offsets, axis, sign, limit, restitution, friction)
        if touched and index == FLOOR:
            touched_floor = True
    if not touched_floor:
        return
    for i in range(ANG, ANG + 3):
        die[i] -= shr_round(die[i], ANGULAR_DAMPING_SHIFT)
    if _is_slow(die, REST_VEL, REST_ANG):
        for i in range(VEL, VEL + 6):
            die[i] -= shr_round(die[i], REST_DAMPING_SHIFT)


def _resolve_plane(die: Vector, offsets: list[Vector], axis: int, sign: int, limit: int,
                   restitution: int, friction: int) -> bool:
    centre = die[POS + axis]
    b, c = OTHER_AXES[axis]
    wb, wc = die[ANG + b], die[ANG + c]
    vn = die[VEL + axis]
    weight = 0
    total = [0, 0, 0]
    deepest = -1
    for r in offsets:
        depth = limit - sign * (centre + r[axis])
        if depth < 0:
            continue
        deepest = max(deepest, depth)
        corner_vn = vn + mul(wb, r[c]) - mul(wc, r[b])
        if sign * corner_vn < 0:
            corner_weight = depth + CONTACT_WEIGHT_BIAS
            weight += corner_weight
            total[0] += mul(corner_weight, r[0])
            total[1] += mul(corner_weight, r[1])
            total[2] += mul(corner_weight, r[2])
    if deepest < 0:
        return False
    if weight > 0:
        r = [div(total[0], weight), div(total[1], weight), div(total[2], weight)]
        v = die[VEL:VEL + 3]
        w = die[ANG:ANG + 3]
        u = [
            v[0] + mul(w[1], r[2]) - mul(w[2], r[1]),
            v[1] + mul(w[2], r[0]) - mul(w[0], r[2]),
            v[2] + mul(w[0], r[1]) - mul(w[1], r[0]),
        ]
        approach = sign * u[axis]
        if approach < 0:
            _apply_impulse(die, r, u, axis, sign, approach, restitution, friction)
    if deepest > PENETRATION_SLOP:
        die[POS + axis] += sign * (deepest - PENETRATION_SLOP)
    return True


def _apply_impulse(die: Vector, r: Vector, u: Vector, axis: int, sign: int, approach: int,
                   restitution: int, friction: int) -> None:
    bounce = restitution if -approach > BOUNCE_MIN else 0
    change = [-u[0], -u[1], -u[2]]
    change[axis] = -mul(ONE + bounce, u[axis])
    radius2 = mul(r[0], r[0]) + mul(r[1], r[1]) + mul(r[2], r[2])
    along = mul(r[0], change[0]) + mul(r[1], change[1]) + mul(r[2], change[2])
    k_inverse = ONE + mul(INV_INERTIA, radius2)
    impulse = [div(change[i] + mul(INV_INERTIA, mul(r[i], along)), k_inverse) for i in range(3)]
    normal = sign * impulse[axis]
    limit = mul(friction, normal)
    sticks = normal > 0 and all(abs(impulse[t]) <= limit for t in range(3) if t != axis)
    if not sticks:
        k_normal = ONE + mul(INV_INERTIA, radius2 - mul(r[axis], r[axis]))
        normal = div(mul(ONE + bounce, -approach), k_normal)
        limit = mul(friction, normal)
        for t in range(3):
            impulse[t] = clamp(impulse[t], limit)
        impulse[axis] = sign * normal
    torque = [
        mul(r[1], impulse[2]) - mul(r[2], impulse[1]),
        mul(r[2], impulse[0]) - mul(r[0], impulse[2]),
        mul(r[0], impulse[1]) - mul(r[1], impulse[0]),
    ]
    for i in range(3):
        die[VEL + i] = clamp(die[VEL + i] + impulse[i], VEL_MAX)
        die[ANG + i] = clamp(die[ANG + i] + mul(INV_INERTIA, torque[i]), ANG_MAX)


def _resolve_pair(a: Vector, b: Vector) -> None:
    d = [b[POS + i] - a[POS + i] for i in range(3)]
    if any(abs(component) >= 2 * DICE_RADIUS for component in d):
        return
    dist2 = mul(d[0], d[0]) + mul(d[1], d[1]) + mul(d[2], d[2])
    if dist2 < DICE_MIN_DIST2 or dist2 >= DICE_CONTACT_DIST2:
        return
    closing = sum(mul(b[VEL + i] - a[VEL + i], d[i]) for i in range(3))
    if closing < 0:
        scale = div(mul(ONE + RESTITUTION_DICE, -closing), 2 * dist2)
        for i in range(3):
            kick = mul(scale, d[i])
            a[VEL + i] = clamp(a[VEL + i] - kick, VEL_MAX)
            b[VEL + i] = clamp(b[VEL + i] + kick, VEL_MAX)
    push = min(div(DICE_CONTACT_DIST2 - dist2, 4 * dist2), DICE_PUSH_MAX)
    for i in range(3):
        shift = mul(push, d[i])
        a[POS + i] -= shift
        b[POS + i] += shift


def _integrate(die: Vector) -> None:
    for i in range(3):
        die[POS + i] = clamp(die[POS + i] + die[VEL + i], POS_MAX)
    qw, qx, qy, qz = die[QUAT:QUAT + 4]
    wx, wy, wz = die[ANG:ANG + 3]
    nw = qw - shr_round(mul(wx, qx) + mul(wy, qy) + mul(wz, qz), 1)
    nx = qx + shr_round(mul(wx, qw) + mul(wy, qz) - mul(wz, qy), 1)
    ny = qy + shr_round(mul(wy, qw) + mul(wz, qx) - mul(wx, qz), 1)
    nz = qz + shr_round(mul(wz, qw) + mul(wx, qy) - mul(wy, qx), 1)
    norm2 = mul(nw, nw) + mul(nx, nx) + mul(ny, ny) + mul(nz, nz)
    if not ONE // 2 <= norm2 <= 2 * ONE:
        raise FixedPointRangeError(f"quaternion norm^2 {norm2} left [0.5, 2]")
    factor = shr_round(3 * ONE - norm2, 1)
    die[QUAT:QUAT + 4] = [mul(nw, factor), mul(nx, factor), mul(ny, factor), mul(nz, factor)]


def _is_slow(die: Vector, velocity_limit: int, spin_limit: int) -> bool:
    for i in range(3):
        if abs(die[VEL + i]) > velocity_limit or abs(die[ANG + i]) > spin_limit:
            return False
    return True


def _is_still(dice: list[Vector]) -> bool:
    return all(_is_slow(die, SETTLE_VEL, SETTLE_ANG) for die in dice)


def _fold_digest(digest: int, dice: list[Vector]) -> int:
    for die in dice:
        for word in die[POS:POS + POSE_WORDS]:
            digest = ((digest ^ (word & UINT64_MASK)) * DIGEST_PRIME) & UINT64_MASK
    return digest


def _pose(dice: list[Vector]) -> tuple[int, ...]:
    return tuple(dice[0][POS:POS + POSE_WORDS] + dice[1][POS:POS + POSE_WORDS])
