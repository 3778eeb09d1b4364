"""The numpy batch twin of the dice physics: many throws at once, bit-identical to ``_reference``.

The state of the n throws still running is one (STATE_WORDS, n) int64 array, a row per word,
so every statement of the specification is one vectorized operation over the throws. A
throw that settles leaves the working set at once (its results are written out), so a batch
costs the sum of its throws' steps, not n times the longest. Contacts touch only the throws
that have one: each plane's work runs on the gathered subset and is scattered back, which
changes nothing but the cost. No operation here shifts or divides a negative number; the
operand bounds are those the reference asserts.
"""

from __future__ import annotations

import numpy as np

from bitcraps.accel.physics._batch import PhysicsBatch, validate_states
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
    FRAC_BITS,
    FRAME_STEPS,
    FRAME_WORDS,
    GRAVITY,
    HALF_SIDE,
    INV_INERTIA,
    MAX_FRAMES,
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
    ROUND_HALF,
    SETTLE_ANG,
    SETTLE_STEPS,
    SETTLE_VEL,
    STATE_WORDS,
    VEL,
    VEL_MAX,
)
from bitcraps.accel.physics._reference import OTHER_AXES

__all__ = ["simulate_batch"]

Array = np.ndarray
SIGNS = np.array(CORNER_SIGNS, dtype=np.int64).T.reshape(3, 8, 1)  # axis, corner, 1
POSE_ROWS = np.r_[POS:POS + POSE_WORDS, DIE_WORDS + POS:DIE_WORDS + POS + POSE_WORDS]
MOTION_ROWS = [np.r_[base + VEL:base + VEL + 3] for base in (0, DIE_WORDS)]
SPIN_ROWS = [np.r_[base + ANG:base + ANG + 3] for base in (0, DIE_WORDS)]
DIGEST_PRIME_U64 = np.uint64(DIGEST_PRIME)


def mul(a: Array | int, b: Array | int) -> Array:
    product = np.multiply(a, b, dtype=np.int64)
    rounded = (np.abs(product) + ROUND_HALF) >> FRAC_BITS
    return np.where(product < 0, -rounded, rounded)


def div(a: Array | int, b: Array | int) -> Array:
    magnitude = np.abs(np.asarray(a, dtype=np.int64))
    rounded = ((magnitude << FRAC_BITS) + (np.asarray(b, dtype=np.int64) >> 1)) // b
    return np.where(np.asarray(a) < 0, -rounded, rounded)


def shr_round(a: Array, bits: int) -> Array:
    rounded = (np.abs(a) + (1 << (bits - 1))) >> bits
    return np.where(a < 0, -rounded, rounded)


def simulate_batch(initial_states: Array) -> PhysicsBatch:
    """Run every throw of an (n, STATE_WORDS) int64 array to its end."""
    states = validate_states(initial_states)
    n = states.shape[0]
    out = _Outputs(n)
    state = states.T.copy()  # a copy even where the transpose is already contiguous (n = 1)
    index = np.arange(n)
    digest = np.full(n, DIGEST_OFFSET, dtype=np.uint64)
    still = np.zeros(n, dtype=np.int64)
    out.frames[:, 0] = state[POSE_ROWS].T
    for step in range(1, MAX_STEPS + 1):
        if index.size == 0:
            break
        _step(state)
        for row in POSE_ROWS:
            digest = (digest ^ state[row].view(np.uint64)) * DIGEST_PRIME_U64
        still = np.where(_is_slow(state, SETTLE_VEL, SETTLE_ANG), still + 1, 0)
        done = (still >= SETTLE_STEPS) | (step == MAX_STEPS)
        if step % FRAME_STEPS == 0:
            out.frames[index, step // FRAME_STEPS] = state[POSE_ROWS].T
        if done.any():
            finished = np.flatnonzero(done)
            out.record(step, index[finished], state[:, finished], digest[finished],
                       still[finished] >= SETTLE_STEPS)
            keep = np.flatnonzero(~done)
            state, index, digest, still = state[:, keep], index[keep], digest[keep], still[keep]
    return out.batch()


class _Outputs:
    def __init__(self, n: int) -> None:
        self.final_states = np.zeros((n, STATE_WORDS), dtype=np.int64)
        self.landed_faces = np.zeros((n, 2), dtype=np.int64)
        self.settle_steps = np.zeros(n, dtype=np.int64)
        self.settled = np.zeros(n, dtype=bool)
        self.step_digests = np.zeros(n, dtype=np.uint64)
        self.frames = np.zeros((n, MAX_FRAMES, FRAME_WORDS), dtype=np.int64)

    def record(self, step: int, index: Array, state: Array, digest: Array,
               settled: Array) -> None:
        self.final_states[index] = state.T
        self.landed_faces[index, 0] = landed_faces(state, 0)
        self.landed_faces[index, 1] = landed_faces(state, DIE_WORDS)
        self.settle_steps[index] = step
        self.settled[index] = settled
        self.step_digests[index] = digest
        if step % FRAME_STEPS:
            self.frames[index, step // FRAME_STEPS + 1] = state[POSE_ROWS].T

    def batch(self) -> PhysicsBatch:
        return PhysicsBatch(self.final_states, self.landed_faces, self.settle_steps,
                            self.settled, self.step_digests, self.frames)


def rotation(state: Array, base: int) -> list[list[Array]]:
    w, x, y, z = (state[base + QUAT + i] for i in range(4))
    xx, yy, zz = mul(x, x), mul(y, y), mul(z, z)
    xy, xz, yz = mul(x, y), mul(x, z), mul(y, z)
    wx, wy, wz = mul(w, x), mul(w, y), mul(w, z)
    return [
        [ONE - 2 * (yy + zz), 2 * (xy - wz), 2 * (xz + wy)],
        [2 * (xy + wz), ONE - 2 * (xx + zz), 2 * (yz - wx)],
        [2 * (xz - wy), 2 * (yz + wx), ONE - 2 * (xx + yy)],
    ]


def landed_faces(state: Array, base: int) -> Array:
    r = rotation(state, base)
    normals_z = np.stack([r[2][2], -r[2][1], r[2][0], -r[2][0], r[2][1], -r[2][2]])
    return np.argmax(normals_z, axis=0) + 1  # argmax takes the first maximum


def _step(state: Array) -> None:
    for base in (0, DIE_WORDS):
        np.clip(state[base + VEL + 2] - GRAVITY, -VEL_MAX, VEL_MAX, out=state[base + VEL + 2])
    for base in (0, DIE_WORDS):
        _resolve_planes(state, base)
    _resolve_pair(state)
    for base in (0, DIE_WORDS):
        _integrate(state, base)


def _corner_offsets(state: Array, base: int) -> list[Array]:
    r = rotation(state, base)
    a = [[mul(r[i][j], HALF_SIDE) for j in range(3)] for i in range(3)]
    return [SIGNS[0] * a[i][0] + SIGNS[1] * a[i][1] + SIGNS[2] * a[i][2] for i in range(3)]


def _resolve_planes(state: Array, base: int) -> None:
    offsets = _corner_offsets(state, base)
    touched_floor = None
    for plane_index, (axis, sign, limit, restitution, friction) in enumerate(PLANES):
        touched = _resolve_plane(state, base, offsets, axis, sign, limit, restitution, friction)
        if plane_index == FLOOR:
            touched_floor = touched
    assert touched_floor is not None
    if touched_floor.size == 0:
        return
    spin = state[base + ANG:base + ANG + 3, touched_floor]
    spin -= shr_round(spin, ANGULAR_DAMPING_SHIFT)
    state[base + ANG:base + ANG + 3, touched_floor] = spin
    motion = state[base + VEL:base + VEL + 6, touched_floor]
    slow = ((np.abs(motion[0:3]) <= REST_VEL).all(axis=0)
            & (np.abs(motion[3:6]) <= REST_ANG).all(axis=0))
    if slow.any():
        rows = touched_floor[slow]
        motion = state[base + VEL:base + VEL + 6, rows]
        state[base + VEL:base + VEL + 6, rows] = motion - shr_round(motion, REST_DAMPING_SHIFT)


def _resolve_plane(state: Array, base: int, offsets: list[Array], axis: int, sign: int,
                   limit: int, restitution: int, friction: int) -> Array:
    """Contacts of one die with one plane; returns the indices of the throws touching it."""
    depth = limit - sign * (state[base + POS + axis] + offsets[axis])
    contact = depth >= 0
    touching = np.flatnonzero(contact.any(axis=0))
    if touching.size == 0:
        return touching
    depth, contact = depth[:, touching], contact[:, touching]
    r_all = [offsets[i][:, touching] for i in range(3)]
    b, c = OTHER_AXES[axis]
    corner_vn = (state[base + VEL + axis, touching]
                 + mul(state[base + ANG + b, touching], r_all[c])
                 - mul(state[base + ANG + c, touching], r_all[b]))
    weights = np.where(contact & (sign * corner_vn < 0), depth + CONTACT_WEIGHT_BIAS, 0)
    weight = weights.sum(axis=0)
    deepest = np.where(contact, depth, -1).max(axis=0)
    pushing = np.flatnonzero(weight > 0)
    if pushing.size:
        r = [div(mul(weights[:, pushing], r_all[i][:, pushing]).sum(axis=0), weight[pushing])
             for i in range(3)]
        _contact_impulse(state, base, touching[pushing], r, axis, sign, restitution, friction)
    deep = np.flatnonzero(deepest > PENETRATION_SLOP)
    state[base + POS + axis, touching[deep]] += sign * (deepest[deep] - PENETRATION_SLOP)
    return touching


def _contact_impulse(state: Array, base: int, rows: Array, r: list[Array], axis: int,
                     sign: int, restitution: int, friction: int) -> None:
    v = state[base + VEL:base + VEL + 3, rows]
    w = state[base + ANG:base + ANG + 3, rows]
    u = [v[0] + mul(w[1], r[2]) - mul(w[2], r[1]),
         v[1] + mul(w[2], r[0]) - mul(w[0], r[2]),
         v[2] + mul(w[0], r[1]) - mul(w[1], r[0])]
    approach = sign * u[axis]
    hit = np.flatnonzero(approach < 0)
    if hit.size == 0:
        return
    r = [component[hit] for component in r]
    u = [component[hit] for component in u]
    impulse = _impulse(r, u, axis, sign, approach[hit], restitution, friction)
    torque = [mul(r[1], impulse[2]) - mul(r[2], impulse[1]),
              mul(r[2], impulse[0]) - mul(r[0], impulse[2]),
              mul(r[0], impulse[1]) - mul(r[1], impulse[0])]
    rows = rows[hit]
    for i in range(3):
        state[base + VEL + i, rows] = np.clip(v[i, hit] + impulse[i], -VEL_MAX, VEL_MAX)
        state[base + ANG + i, rows] = np.clip(w[i, hit] + mul(INV_INERTIA, torque[i]),
                                              -ANG_MAX, ANG_MAX)


def _impulse(r: list[Array], u: list[Array], axis: int, sign: int, approach: Array,
             restitution: int, friction: int) -> list[Array]:
    bounce = np.where(-approach > BOUNCE_MIN, restitution, 0)
    change = [-u[0], -u[1], -u[2]]
    change[axis] = -mul(ONE + bounce, u[axis])
    radius2 = mul(r[0], r[0]) + mul(r[1], r[1]) + mul(r[2], r[2])
    along = mul(r[0], change[0]) + mul(r[1], change[1]) + mul(r[2], change[2])
    k_inverse = ONE + mul(INV_INERTIA, radius2)
    impulse = [div(change[i] + mul(INV_INERTIA, mul(r[i], along)), k_inverse) for i in range(3)]
    normal = sign * impulse[axis]
    limit = mul(friction, normal)
    tangents = [t for t in range(3) if t != axis]
    sticks = normal > 0
    for t in tangents:
        sticks &= np.abs(impulse[t]) <= limit
    slides = ~sticks
    if slides.any():
        k_normal = ONE + mul(INV_INERTIA, radius2 - mul(r[axis], r[axis]))
        slide_normal = div(mul(ONE + bounce, -approach), k_normal)
        slide_limit = mul(friction, slide_normal)
        for t in tangents:
            clamped = np.clip(impulse[t], -slide_limit, slide_limit)
            impulse[t] = np.where(slides, clamped, impulse[t])
        impulse[axis] = np.where(slides, sign * slide_normal, impulse[axis])
    return impulse


def _resolve_pair(state: Array) -> None:
    d = state[DIE_WORDS + POS:DIE_WORDS + POS + 3] - state[POS:POS + 3]
    near = np.flatnonzero((np.abs(d) < 2 * DICE_RADIUS).all(axis=0))
    if near.size == 0:
        return
    d = d[:, near]
    dist2 = mul(d[0], d[0]) + mul(d[1], d[1]) + mul(d[2], d[2])
    overlap = np.flatnonzero((dist2 >= DICE_MIN_DIST2) & (dist2 < DICE_CONTACT_DIST2))
    if overlap.size == 0:
        return
    rows, d, dist2 = near[overlap], d[:, overlap], dist2[overlap]
    va = state[VEL:VEL + 3, rows]
    vb = state[DIE_WORDS + VEL:DIE_WORDS + VEL + 3, rows]
    closing = mul(vb[0] - va[0], d[0]) + mul(vb[1] - va[1], d[1]) + mul(vb[2] - va[2], d[2])
    scale = np.where(closing < 0,
                     div(mul(ONE + RESTITUTION_DICE, -closing), 2 * dist2), 0)
    kick = mul(scale, d)
    state[VEL:VEL + 3, rows] = np.clip(va - kick, -VEL_MAX, VEL_MAX)
    state[DIE_WORDS + VEL:DIE_WORDS + VEL + 3, rows] = np.clip(vb + kick, -VEL_MAX, VEL_MAX)
    push = np.minimum(div(DICE_CONTACT_DIST2 - dist2, 4 * dist2), DICE_PUSH_MAX)
    shift = mul(push, d)
    state[POS:POS + 3, rows] -= shift
    state[DIE_WORDS + POS:DIE_WORDS + POS + 3, rows] += shift


def _integrate(state: Array, base: int) -> None:
    position = state[base + POS:base + POS + 3]
    np.clip(position + state[base + VEL:base + VEL + 3], -POS_MAX, POS_MAX, out=position)
    qw, qx, qy, qz = (state[base + QUAT + i] for i in range(4))
    wx, wy, wz = (state[base + ANG + i] for i in range(3))
    nw = qw - shr_round(mul(wx, qx) + mul(wy, qy) + mul(wz, qz), 1)
    nx = qx + shr_round(mul(wx, qw) + mul(wy, qz) - mul(wz, qy), 1)
    ny = qy + shr_round(mul(wy, qw) + mul(wz, qx) - mul(wx, qz), 1)
    nz = qz + shr_round(mul(wz, qw) + mul(wx, qy) - mul(wy, qx), 1)
    norm2 = mul(nw, nw) + mul(nx, nx) + mul(ny, ny) + mul(nz, nz)
    factor = shr_round(3 * ONE - norm2, 1)
    for i, component in enumerate((nw, nx, ny, nz)):
        state[base + QUAT + i] = mul(component, factor)


def _is_slow(state: Array, velocity_limit: int, spin_limit: int) -> Array:
    slow = np.ones(state.shape[1], dtype=bool)
    for rows in MOTION_ROWS:
        slow &= (np.abs(state[rows]) <= velocity_limit).all(axis=0)
    for rows in SPIN_ROWS:
        slow &= (np.abs(state[rows]) <= spin_limit).all(axis=0)
    return slow
