"""The OpenCL C twin of the dice physics: one work-item per throw, bit-identical to ``_reference``.

OpenCL C's ``long`` is exactly 64 bits. Every shift and division below works on ``ulong``
magnitudes (sign-magnitude, as the specification defines its rounding), so nothing relies on
what C leaves to the implementation for negative operands; the operand bounds that keep
every product below 2**62 are proved in docs/dice-physics.md. No floats, no atomics: a
work-item reads its throw's initial state and writes only its own outputs.
"""

from __future__ import annotations

from bitcraps.accel.physics._constants import PLANES, kernel_defines

__all__ = ["KERNEL_NAME", "PRIMITIVES_KERNEL_NAME", "PRIMITIVE_RESULTS", "kernel_source"]

KERNEL_NAME = "simulate_throws"
PRIMITIVES_KERNEL_NAME = "fixed_point_primitives"
PRIMITIVE_RESULTS = 5  # per (a, b): mul(a, b), div(a, b), shr_round(a, 1), shr_round(a, 6), clamp

KERNEL_BODY = r"""
#define POS 0
#define QUAT 3
#define VEL 7
#define ANG 10

inline long fx_abs(long a) { return a < 0 ? -a : a; }

inline long fx_mul(long a, long b) {
    ulong m = (ulong)fx_abs(a) * (ulong)fx_abs(b);
    long r = (long)((m + (ulong)ROUND_HALF) >> FRAC_BITS);
    return ((a < 0) != (b < 0)) ? -r : r;
}

inline long fx_div(long a, long b) {
    ulong r = (((ulong)fx_abs(a) << FRAC_BITS) + ((ulong)b >> 1)) / (ulong)b;
    return a < 0 ? -(long)r : (long)r;
}

inline long fx_shr_round(long a, int bits) {
    long r = (long)(((ulong)fx_abs(a) + (1UL << (bits - 1))) >> bits);
    return a < 0 ? -r : r;
}

inline long fx_clamp(long a, long limit) {
    return a < -limit ? -limit : (a > limit ? limit : a);
}

inline void rotation(const long *die, long *m) {
    long w = die[QUAT], x = die[QUAT + 1], y = die[QUAT + 2], z = die[QUAT + 3];
    long xx = fx_mul(x, x), yy = fx_mul(y, y), zz = fx_mul(z, z);
    long xy = fx_mul(x, y), xz = fx_mul(x, z), yz = fx_mul(y, z);
    long wx = fx_mul(w, x), wy = fx_mul(w, y), wz = fx_mul(w, z);
    m[0] = ONE - 2 * (yy + zz); m[1] = 2 * (xy - wz);       m[2] = 2 * (xz + wy);
    m[3] = 2 * (xy + wz);       m[4] = ONE - 2 * (xx + zz); m[5] = 2 * (yz - wx);
    m[6] = 2 * (xz - wy);       m[7] = 2 * (yz + wx);       m[8] = ONE - 2 * (xx + yy);
}

inline long landed_face(const long *die) {
    long m[9];
    rotation(die, m);
    long normals_z[6] = { m[8], -m[7], m[6], -m[6], m[7], -m[8] };
    int best = 0;
    for (int i = 1; i < 6; i++) {
        if (normals_z[i] > normals_z[best]) best = i;
    }
    return best + 1;
}

inline void impulse_of(const long *r, const long *u, int axis, long sign, long approach,
                       long restitution, long friction, long *impulse) {
    long bounce = -approach > BOUNCE_MIN ? restitution : 0;
    long change[3] = { -u[0], -u[1], -u[2] };
    change[axis] = -fx_mul(ONE + bounce, u[axis]);
    long radius2 = fx_mul(r[0], r[0]) + fx_mul(r[1], r[1]) + fx_mul(r[2], r[2]);
    long along = fx_mul(r[0], change[0]) + fx_mul(r[1], change[1]) + fx_mul(r[2], change[2]);
    long k_inverse = ONE + fx_mul(INV_INERTIA, radius2);
    for (int i = 0; i < 3; i++) {
        impulse[i] = fx_div(change[i] + fx_mul(INV_INERTIA, fx_mul(r[i], along)), k_inverse);
    }
    long normal = sign * impulse[axis];
    long limit = fx_mul(friction, normal);
    int sticks = normal > 0;
    for (int t = 0; t < 3; t++) {
        if (t != axis && fx_abs(impulse[t]) > limit) sticks = 0;
    }
    if (!sticks) {
        long k_normal = ONE + fx_mul(INV_INERTIA, radius2 - fx_mul(r[axis], r[axis]));
        normal = fx_div(fx_mul(ONE + bounce, -approach), k_normal);
        limit = fx_mul(friction, normal);
        for (int t = 0; t < 3; t++) impulse[t] = fx_clamp(impulse[t], limit);
        impulse[axis] = sign * normal;
    }
}

inline void apply_impulse(long *die, const long *r, const long *u, int axis, long sign,
                          long approach, long restitution, long friction) {
    long impulse[3];
    impulse_of(r, u, axis, sign, approach, restitution, friction, impulse);
    long torque[3] = {
        fx_mul(r[1], impulse[2]) - fx_mul(r[2], impulse[1]),
        fx_mul(r[2], impulse[0]) - fx_mul(r[0], impulse[2]),
        fx_mul(r[0], impulse[1]) - fx_mul(r[1], impulse[0]),
    };
    for (int i = 0; i < 3; i++) {
        die[VEL + i] = fx_clamp(die[VEL + i] + impulse[i], VEL_MAX);
        die[ANG + i] = fx_clamp(die[ANG + i] + fx_mul(INV_INERTIA, torque[i]), ANG_MAX);
    }
}

inline int resolve_plane(long *die, long offsets[8][3], int axis, long sign, long limit,
                         long restitution, long friction) {
    long centre = die[POS + axis];
    int b = (axis + 1) % 3, c = (axis + 2) % 3;
    long wb = die[ANG + b], wc = die[ANG + c], vn = die[VEL + axis];
    long weight = 0, deepest = -1;
    long total[3] = { 0, 0, 0 };
    for (int k = 0; k < 8; k++) {
        long *r = offsets[k];
        long depth = limit - sign * (centre + r[axis]);
        if (depth < 0) continue;
        if (depth > deepest) deepest = depth;
        long corner_vn = vn + fx_mul(wb, r[c]) - fx_mul(wc, r[b]);
        if (sign * corner_vn < 0) {
            long corner_weight = depth + CONTACT_WEIGHT_BIAS;
            weight += corner_weight;
            for (int i = 0; i < 3; i++) total[i] += fx_mul(corner_weight, r[i]);
        }
    }
    if (deepest < 0) return 0;
    if (weight > 0) {
        long r[3] = { fx_div(total[0], weight), fx_div(total[1], weight),
                      fx_div(total[2], weight) };
        long *v = die + VEL, *w = die + ANG;
        long u[3] = {
            v[0] + fx_mul(w[1], r[2]) - fx_mul(w[2], r[1]),
            v[1] + fx_mul(w[2], r[0]) - fx_mul(w[0], r[2]),
            v[2] + fx_mul(w[0], r[1]) - fx_mul(w[1], r[0]),
        };
        long approach = sign * u[axis];
        if (approach < 0) apply_impulse(die, r, u, axis, sign, approach, restitution, friction);
    }
    if (deepest > PENETRATION_SLOP) die[POS + axis] += sign * (deepest - PENETRATION_SLOP);
    return 1;
}

inline int is_slow(const long *die, long velocity_limit, long spin_limit) {
    for (int i = 0; i < 3; i++) {
        if (fx_abs(die[VEL + i]) > velocity_limit || fx_abs(die[ANG + i]) > spin_limit) return 0;
    }
    return 1;
}

inline void resolve_planes(long *die) {
    long m[9], a[9], offsets[8][3];
    rotation(die, m);
    for (int i = 0; i < 9; i++) a[i] = fx_mul(m[i], HALF_SIDE);
    for (int k = 0; k < 8; k++) {
        long sx = (k & 1) ? 1 : -1, sy = (k & 2) ? 1 : -1, sz = (k & 4) ? 1 : -1;
        for (int i = 0; i < 3; i++) {
            offsets[k][i] = sx * a[3 * i] + sy * a[3 * i + 1] + sz * a[3 * i + 2];
        }
    }
    int touched_floor = 0;
    for (int p = 0; p < 5; p++) {
        int touched = resolve_plane(die, offsets, (int)PLANE_TABLE[5 * p], PLANE_TABLE[5 * p + 1],
                                    PLANE_TABLE[5 * p + 2], PLANE_TABLE[5 * p + 3],
                                    PLANE_TABLE[5 * p + 4]);
        if (p == 0) touched_floor = touched;
    }
    if (!touched_floor) return;
    for (int i = 0; i < 3; i++) {
        die[ANG + i] -= fx_shr_round(die[ANG + i], ANGULAR_DAMPING_SHIFT);
    }
    if (is_slow(die, REST_VEL, REST_ANG)) {
        for (int i = VEL; i < VEL + 6; i++) die[i] -= fx_shr_round(die[i], REST_DAMPING_SHIFT);
    }
}

inline void resolve_pair(long *a, long *b) {
    long d[3];
    for (int i = 0; i < 3; i++) {
        d[i] = b[POS + i] - a[POS + i];
        if (fx_abs(d[i]) >= 2 * DICE_RADIUS) return;
    }
    long dist2 = fx_mul(d[0], d[0]) + fx_mul(d[1], d[1]) + fx_mul(d[2], d[2]);
    if (dist2 < DICE_MIN_DIST2 || dist2 >= DICE_CONTACT_DIST2) return;
    long closing = 0;
    for (int i = 0; i < 3; i++) closing += fx_mul(b[VEL + i] - a[VEL + i], d[i]);
    if (closing < 0) {
        long scale = fx_div(fx_mul(ONE + RESTITUTION_DICE, -closing), 2 * dist2);
        for (int i = 0; i < 3; i++) {
            long kick = fx_mul(scale, d[i]);
            a[VEL + i] = fx_clamp(a[VEL + i] - kick, VEL_MAX);
            b[VEL + i] = fx_clamp(b[VEL + i] + kick, VEL_MAX);
        }
    }
    long push = fx_div(DICE_CONTACT_DIST2 - dist2, 4 * dist2);
    if (push > DICE_PUSH_MAX) push = DICE_PUSH_MAX;
    for (int i = 0; i < 3; i++) {
        long shift = fx_mul(push, d[i]);
        a[POS + i] -= shift;
        b[POS + i] += shift;
    }
}

inline void integrate(long *die) {
    for (int i = 0; i < 3; i++) die[POS + i] = fx_clamp(die[POS + i] + die[VEL + i], POS_MAX);
    long qw = die[QUAT], qx = die[QUAT + 1], qy = die[QUAT + 2], qz = die[QUAT + 3];
    long wx = die[ANG], wy = die[ANG + 1], wz = die[ANG + 2];
    long nw = qw - fx_shr_round(fx_mul(wx, qx) + fx_mul(wy, qy) + fx_mul(wz, qz), 1);
    long nx = qx + fx_shr_round(fx_mul(wx, qw) + fx_mul(wy, qz) - fx_mul(wz, qy), 1);
    long ny = qy + fx_shr_round(fx_mul(wy, qw) + fx_mul(wz, qx) - fx_mul(wx, qz), 1);
    long nz = qz + fx_shr_round(fx_mul(wz, qw) + fx_mul(wx, qy) - fx_mul(wy, qx), 1);
    long norm2 = fx_mul(nw, nw) + fx_mul(nx, nx) + fx_mul(ny, ny) + fx_mul(nz, nz);
    long factor = fx_shr_round(3 * ONE - norm2, 1);
    die[QUAT] = fx_mul(nw, factor);
    die[QUAT + 1] = fx_mul(nx, factor);
    die[QUAT + 2] = fx_mul(ny, factor);
    die[QUAT + 3] = fx_mul(nz, factor);
}

inline void write_frame(__global long *frames, const long *s, int slot) {
    __global long *frame = frames + slot * FRAME_WORDS;
    for (int i = 0; i < POSE_WORDS; i++) {
        frame[i] = s[i];
        frame[POSE_WORDS + i] = s[DIE_WORDS + i];
    }
}

__kernel void fixed_point_primitives(__global const long *a, __global const long *b,
                                     __global long *out, const int n) {
    int i = get_global_id(0);
    if (i >= n) return;
    out[5 * i] = fx_mul(a[i], b[i]);
    out[5 * i + 1] = fx_div(a[i], b[i]);
    out[5 * i + 2] = fx_shr_round(a[i], 1);
    out[5 * i + 3] = fx_shr_round(a[i], 6);
    out[5 * i + 4] = fx_clamp(a[i], b[i]);
}

__kernel void simulate_throws(__global const long *initial, __global long *final_states,
                              __global long *info, __global ulong *digests,
                              __global long *frames, const int n) {
    int gid = get_global_id(0);
    if (gid >= n) return;
    long s[STATE_WORDS];
    for (int i = 0; i < STATE_WORDS; i++) s[i] = initial[gid * STATE_WORDS + i];
    __global long *my_frames = frames + (long)gid * MAX_FRAMES * FRAME_WORDS;
    write_frame(my_frames, s, 0);
    ulong digest = DIGEST_OFFSET;
    int still = 0, steps = 0, settled = 0;
    while (steps < MAX_STEPS && !settled) {
        for (int d = 0; d < 2; d++) {
            long *die = s + d * DIE_WORDS;
            die[VEL + 2] = fx_clamp(die[VEL + 2] - GRAVITY, VEL_MAX);
        }
        resolve_planes(s);
        resolve_planes(s + DIE_WORDS);
        resolve_pair(s, s + DIE_WORDS);
        integrate(s);
        integrate(s + DIE_WORDS);
        steps++;
        for (int d = 0; d < 2; d++) {
            for (int i = 0; i < POSE_WORDS; i++) {
                digest = (digest ^ (ulong)s[d * DIE_WORDS + i]) * DIGEST_PRIME;
            }
        }
        still = (is_slow(s, SETTLE_VEL, SETTLE_ANG) && is_slow(s + DIE_WORDS, SETTLE_VEL,
                                                               SETTLE_ANG)) ? still + 1 : 0;
        settled = still >= SETTLE_STEPS;
        if (steps % FRAME_STEPS == 0) {
            write_frame(my_frames, s, steps / FRAME_STEPS);
        } else if (settled || steps == MAX_STEPS) {
            write_frame(my_frames, s, steps / FRAME_STEPS + 1);
        }
    }
    int frame_count = steps / FRAME_STEPS + (steps % FRAME_STEPS ? 2 : 1);
    for (int i = frame_count * FRAME_WORDS; i < MAX_FRAMES * FRAME_WORDS; i++) my_frames[i] = 0;
    for (int i = 0; i < STATE_WORDS; i++) final_states[gid * STATE_WORDS + i] = s[i];
    info[gid * 4] = steps;
    info[gid * 4 + 1] = settled;
    info[gid * 4 + 2] = landed_face(s);
    info[gid * 4 + 3] = landed_face(s + DIE_WORDS);
    digests[gid] = digest;
}
"""


def kernel_source() -> str:
    """The complete kernel: the specification's constants, the plane table, then the code."""
    table = ", ".join(f"{value}L" for plane in PLANES for value in plane)
    return (kernel_defines()
            + f"__constant long PLANE_TABLE[{5 * len(PLANES)}] = {{ {table} }};\n" + KERNEL_BODY)
