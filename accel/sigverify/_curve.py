"""Edwards25519 in plain Python integers: the host's arithmetic for tables, constants and checks.

Slow and simple on purpose. The kernel's constants and its base-point table are computed
here, and the self-test compares the kernel's field and scalar arithmetic with these
functions. Points are extended coordinates (X, Y, Z, T) with x = X/Z, y = Y/Z, xy = T/Z.
"""

from __future__ import annotations

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = (-121665 * pow(121666, P - 2, P)) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)

Point = tuple[int, int, int, int]

IDENTITY: Point = (0, 1, 1, 0)

# Ten limbs, radix 2^25.5: limb i starts at bit ceil(25.5 i) and holds 26 bits (even i)
# or 25 bits (odd i).
LIMB_OFFSETS = tuple((51 * i + 1) // 2 for i in range(10))
LIMB_BITS = tuple(26 if i % 2 == 0 else 25 for i in range(10))


def to_limbs(value: int) -> list[int]:
    """The ten limbs of a field element below 2^255 (not reduced mod p: the caller's job)."""
    if not 0 <= value < 2**255:
        raise ValueError("a field element's limbs need a value in [0, 2^255)")
    return [(value >> LIMB_OFFSETS[i]) & ((1 << LIMB_BITS[i]) - 1) for i in range(10)]


def from_limbs(limbs: list[int]) -> int:
    return sum(limb << LIMB_OFFSETS[i] for i, limb in enumerate(limbs))


def inverse(value: int) -> int:
    return pow(value, P - 2, P)


def recover_x(y: int, sign: int) -> int | None:
    """The x with sign bit `sign` on the curve at y, or None where none exists."""
    if y >= P:
        return None
    u = (y * y - 1) % P
    v = (D * y * y + 1) % P
    x = (u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P)) % P
    if (v * x * x - u) % P != 0:
        if (v * x * x + u) % P != 0:
            return None
        x = x * SQRT_M1 % P
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = P - x
    return x


BASE_Y = 4 * inverse(5) % P
_base_x = recover_x(BASE_Y, 0)
assert _base_x is not None
BASE: Point = (_base_x, BASE_Y, 1, _base_x * BASE_Y % P)


def add(p: Point, q: Point) -> Point:
    """Complete addition on the twisted Edwards curve -x^2 + y^2 = 1 + d x^2 y^2."""
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a = (y1 - x1) * (y2 - x2) % P
    b = (y1 + x1) * (y2 + x2) % P
    c = 2 * D * t1 * t2 % P
    d = 2 * z1 * z2 % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def negate(p: Point) -> Point:
    x, y, z, t = p
    return ((-x) % P, y, z, (-t) % P)


def multiply(scalar: int, p: Point) -> Point:
    result = IDENTITY
    addend = p
    while scalar:
        if scalar & 1:
            result = add(result, addend)
        addend = add(addend, addend)
        scalar >>= 1
    return result


def affine(p: Point) -> tuple[int, int]:
    x, y, z, _ = p
    z_inv = inverse(z)
    return x * z_inv % P, y * z_inv % P


def encode(p: Point) -> bytes:
    x, y = affine(p)
    return (y | (x & 1) << 255).to_bytes(32, "little")


def decode(encoding: bytes) -> Point | None:
    """The point a canonical encoding names, or None (not on the curve, or y >= p)."""
    value = int.from_bytes(encoding, "little")
    y = value & (2**255 - 1)
    x = recover_x(y, value >> 255)
    if x is None:
        return None
    return (x, y, 1, x * y % P)


def equal(p: Point, q: Point) -> bool:
    return (p[0] * q[2] - q[0] * p[2]) % P == 0 and (p[1] * q[2] - q[1] * p[2]) % P == 0


def torsion_points() -> list[Point]:
    """The eight points of order dividing 8, identity first (multiples of one of order 8)."""
    for y in range(2, 1000):
        candidate = decode(y.to_bytes(32, "little"))
        if candidate is None:
            continue
        torsion = multiply(L, candidate)  # the group has order 8L: this kills the prime part
        if not equal(multiply(4, torsion), IDENTITY):
            points = [IDENTITY]
            for _ in range(7):
                points.append(add(points[-1], torsion))
            return points
    raise RuntimeError("no point of order 8 among the first candidates")
