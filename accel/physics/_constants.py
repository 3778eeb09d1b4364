"""Every number of the dice-physics specification (docs/dice-physics.md), in raw fixed point.

One source for all three implementations: the Python reference and the numpy batch read
these names, and the OpenCL kernel receives them as ``#define`` lines generated from
``kernel_defines()``. Values are Q47.16 integers (``FRAC_BITS`` fractional bits) in the
simulation's units: millimetres, radians and *steps* (one step is 1/256 s), so a velocity
is in mm/step and no product with the timestep is ever needed.
"""

from __future__ import annotations

FRAC_BITS = 16
ONE = 1 << FRAC_BITS
ROUND_HALF = 1 << (FRAC_BITS - 1)
STEPS_PER_SECOND = 256

MAX_STEPS = 1024
FRAME_STEPS = 8
SETTLE_STEPS = 32
MAX_FRAMES = MAX_STEPS // FRAME_STEPS + 2

DICE = 2
DIE_WORDS = 13  # px py pz, qw qx qy qz, vx vy vz, wx wy wz
STATE_WORDS = DICE * DIE_WORDS
POSE_WORDS = 7  # px py pz qw qx qy qz
FRAME_WORDS = DICE * POSE_WORDS

# Word offsets inside one die's 13 words.
POS = 0
QUAT = 3
VEL = 7
ANG = 10

HALF_SIDE = 8 * ONE  # a 16 mm die
TABLE_HALF_X = 200 * ONE  # walls at x = -200 mm and x = +200 mm
TABLE_HALF_Y = 150 * ONE  # walls at y = -150 mm and y = +150 mm

POS_MAX = 512 * ONE
VEL_MAX = 64 * ONE  # mm/step (16.4 m/s)
ANG_MAX = ONE // 2  # rad/step (128 rad/s)

GRAVITY = 9810  # 9810 mm/s^2 * (1/256 s)^2 = 9810/65536 mm/step^2
INV_INERTIA = 1536  # unit mass, cube inertia m*s^2/6 = 256/6 mm^2: inverse 6/256 per mm^2
RESTITUTION_FLOOR = 19661  # 0.30
RESTITUTION_WALL = 32768  # 0.50
RESTITUTION_DICE = 32768  # 0.50
BOUNCE_MIN = 25600  # 100 mm/s: slower approaches do not bounce
FRICTION_FLOOR = 29491  # 0.45
FRICTION_WALL = 16384  # 0.25
PENETRATION_SLOP = ONE // 8  # deeper penetration is pushed back out
CONTACT_WEIGHT_BIAS = ONE // 64  # a corner's weight in the contact point: depth + this
ANGULAR_DAMPING_SHIFT = 6  # while touching the floor: w -= w / 64 per step
REST_VEL = 7680  # 30 mm/s: a die this slow on the floor is damped harder
REST_ANG = 768  # 3 rad/s
REST_DAMPING_SHIFT = 3  # v -= v / 8 and w -= w / 8 per step

DICE_RADIUS = 9 * ONE  # the die-die collision sphere
DICE_CONTACT_DIST2 = 324 * ONE  # (2 * 9 mm)^2 in mm^2
DICE_MIN_DIST2 = ONE  # 1 mm^2: closer centres do not collide (no direction)
DICE_PUSH_MAX = ONE // 2  # at most half the centre distance per die per step

SETTLE_VEL = 512  # 2 mm/s per component
SETTLE_ANG = 64  # 0.25 rad/s per component

DIGEST_OFFSET = 0xCBF29CE484222325  # FNV-1a 64-bit offset basis
DIGEST_PRIME = 0x100000001B3  # FNV-1a 64-bit prime
UINT64_MASK = (1 << 64) - 1

# The five planes in the order contacts are resolved: (axis, sign, limit, restitution,
# friction). A point p is inside the table when sign * p[axis] >= limit.
FLOOR = 0
PLANES: tuple[tuple[int, int, int, int, int], ...] = (
    (2, 1, 0, RESTITUTION_FLOOR, FRICTION_FLOOR),
    (0, 1, -TABLE_HALF_X, RESTITUTION_WALL, FRICTION_WALL),
    (0, -1, -TABLE_HALF_X, RESTITUTION_WALL, FRICTION_WALL),
    (1, 1, -TABLE_HALF_Y, RESTITUTION_WALL, FRICTION_WALL),
    (1, -1, -TABLE_HALF_Y, RESTITUTION_WALL, FRICTION_WALL),
)

# Corner k of a die sits at local (sx, sy, sz) * HALF_SIDE with sx = +1 when bit 0 of k is
# set, else -1; sy from bit 1; sz from bit 2.
CORNER_SIGNS: tuple[tuple[int, int, int], ...] = tuple(
    (1 if k & 1 else -1, 1 if k & 2 else -1, 1 if k & 4 else -1) for k in range(8)
)

# Face labels by local outward normal: 1 +z, 2 -y, 3 +x, 4 -x, 5 +y, 6 -z (opposite faces
# sum to 7; 1, 2, 3 run counter-clockwise around their shared corner).
FACE_NORMALS: dict[int, tuple[int, int, int]] = {
    1: (0, 0, 1), 2: (0, -1, 0), 3: (1, 0, 0), 4: (-1, 0, 0), 5: (0, 1, 0), 6: (0, 0, -1),
}

KERNEL_CONSTANTS = (
    "FRAC_BITS", "ONE", "ROUND_HALF", "MAX_STEPS", "FRAME_STEPS", "SETTLE_STEPS", "MAX_FRAMES",
    "DIE_WORDS", "STATE_WORDS", "POSE_WORDS", "FRAME_WORDS", "HALF_SIDE", "POS_MAX", "VEL_MAX",
    "ANG_MAX", "GRAVITY", "INV_INERTIA", "RESTITUTION_DICE", "BOUNCE_MIN", "PENETRATION_SLOP",
    "CONTACT_WEIGHT_BIAS", "ANGULAR_DAMPING_SHIFT", "REST_VEL", "REST_ANG", "REST_DAMPING_SHIFT",
    "DICE_RADIUS", "DICE_CONTACT_DIST2", "DICE_MIN_DIST2", "DICE_PUSH_MAX", "SETTLE_VEL",
    "SETTLE_ANG", "DIGEST_OFFSET", "DIGEST_PRIME",
)


def kernel_defines() -> str:
    """The constants as OpenCL ``#define`` lines (64-bit literals)."""
    values = globals()
    lines = []
    for name in KERNEL_CONSTANTS:
        value = values[name]
        suffix = "UL" if name.startswith("DIGEST_") else "L"
        lines.append(f"#define {name} ({value}{suffix})")
    return "\n".join(lines) + "\n"
