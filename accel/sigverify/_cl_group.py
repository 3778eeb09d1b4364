"""OpenCL C: the group -x^2 + y^2 = 1 + d x^2 y^2 (mod p) and S*B - k*A.

Points are extended coordinates (Hisil, Wong, Carter, Dawson 2008): `ge_p3` is
(X, Y, Z, T) with x = X/Z, y = Y/Z, xy = T/Z; `ge_p2` drops T. Doubling and addition give
a `ge_done` (E, F, G, H), from which the point is (EF, GH, FG, EH), so a caller pays for
T only when an addition follows. An addend is `ge_cached` (Y+X, Y-X, Z, 2dT), or
`ge_niels` (y+x, y-x, 2dxy) with Z = 1 for the base-point table's affine entries.

S*B uses the base-point table: entry (k, j) is j * 256^k * B for k < 32, 1 <= j <= 8.
With S's signed radix-16 digits s_i, S*B = 16 * sum_k s_{2k+1} T(k) + sum_k s_{2k} T(k):
64 table additions and 4 doublings. k*(-A) runs the usual signed 4-bit window over eight
multiples of -A computed per work-item: 252 doublings and at most 64 additions.
"""

GROUP_SOURCE = r"""
typedef struct { fe X, Y, Z; } ge_p2;
typedef struct { fe X, Y, Z, T; } ge_p3;
typedef struct { fe E, F, G, H; } ge_done;
typedef struct { fe YplusX, YminusX, Z, T2d; } ge_cached;
typedef struct { fe yplusx, yminusx, xy2d; } ge_niels;

#define NIELS_WORDS 30
#define TABLE_ROWS 32
#define TABLE_COLUMNS 8

static void ge_identity(ge_p3 *h) {
    fe_set(&h->X, 0);
    fe_set(&h->Y, 1);
    fe_set(&h->Z, 1);
    fe_set(&h->T, 0);
}

static void ge_done_to_p2(ge_p2 *r, const ge_done *p) {
    fe_mul(&r->X, &p->E, &p->F);
    fe_mul(&r->Y, &p->G, &p->H);
    fe_mul(&r->Z, &p->F, &p->G);
}

static void ge_done_to_p3(ge_p3 *r, const ge_done *p) {
    fe_mul(&r->X, &p->E, &p->F);
    fe_mul(&r->Y, &p->G, &p->H);
    fe_mul(&r->Z, &p->F, &p->G);
    fe_mul(&r->T, &p->E, &p->H);
}

static void ge_to_cached(ge_cached *r, const ge_p3 *p) {
    fe d2;
    fe_from_constant(&d2, FE_D2);
    fe_add(&r->YplusX, &p->Y, &p->X);
    fe_sub(&r->YminusX, &p->Y, &p->X);
    r->Z = p->Z;
    fe_mul(&r->T2d, &p->T, &d2);
}

/* 2P for a = -1: with A = X^2, B = Y^2, C = 2Z^2, H = A + B: E = H - (X+Y)^2, G = A - B,
   F = C + G. */
static void ge_double(ge_done *r, const fe *X, const fe *Y, const fe *Z) {
    fe a, b, c, t;
    fe_sq(&a, X);
    fe_sq(&b, Y);
    fe_sq(&c, Z);
    fe_add(&c, &c, &c);
    fe_add(&r->H, &a, &b);
    fe_add(&t, X, Y);
    fe_sq(&t, &t);
    fe_sub(&r->E, &r->H, &t);
    fe_sub(&r->G, &a, &b);
    fe_add(&r->F, &c, &r->G);
}

/* P + Q or P - Q (negate: -Q swaps Y+X with Y-X and negates T). */
static void ge_add_cached(ge_done *r, const ge_p3 *p, const ge_cached *q, int negate) {
    fe sum, diff, a, b, c, d;
    fe_add(&sum, &p->Y, &p->X);
    fe_sub(&diff, &p->Y, &p->X);
    fe_mul(&a, &diff, negate ? &q->YplusX : &q->YminusX);
    fe_mul(&b, &sum, negate ? &q->YminusX : &q->YplusX);
    fe_mul(&c, &p->T, &q->T2d);
    fe_mul(&d, &p->Z, &q->Z);
    fe_add(&d, &d, &d);
    fe_sub(&r->E, &b, &a);
    fe_add(&r->H, &b, &a);
    if (negate) {
        fe_add(&r->F, &d, &c);
        fe_sub(&r->G, &d, &c);
    } else {
        fe_sub(&r->F, &d, &c);
        fe_add(&r->G, &d, &c);
    }
}

static void ge_add_niels(ge_done *r, const ge_p3 *p, const ge_niels *q, int negate) {
    fe sum, diff, a, b, c, d;
    fe_add(&sum, &p->Y, &p->X);
    fe_sub(&diff, &p->Y, &p->X);
    fe_mul(&a, &diff, negate ? &q->yplusx : &q->yminusx);
    fe_mul(&b, &sum, negate ? &q->yminusx : &q->yplusx);
    fe_mul(&c, &p->T, &q->xy2d);
    fe_add(&d, &p->Z, &p->Z);
    fe_sub(&r->E, &b, &a);
    fe_add(&r->H, &b, &a);
    if (negate) {
        fe_add(&r->F, &d, &c);
        fe_sub(&r->G, &d, &c);
    } else {
        fe_sub(&r->F, &d, &c);
        fe_add(&r->G, &d, &c);
    }
}

/* P = 16 P */
static void ge_times16(ge_p3 *p) {
    ge_done t;
    ge_p2 q;
    ge_double(&t, &p->X, &p->Y, &p->Z);
    for (int i = 0; i < 3; i++) {
        ge_done_to_p2(&q, &t);
        ge_double(&t, &q.X, &q.Y, &q.Z);
    }
    ge_done_to_p3(p, &t);
}

static void table_entry(ge_niels *q, __global const uint *table, int row, int multiple) {
    __global const uint *entry = table + (row * TABLE_COLUMNS + multiple - 1) * NIELS_WORDS;
    fe_from_global(&q->yplusx, entry);
    fe_from_global(&q->yminusx, entry + 10);
    fe_from_global(&q->xy2d, entry + 20);
}

static void ge_add_table(ge_p3 *p, __global const uint *table, int row, int digit) {
    if (digit == 0) return;
    ge_niels q;
    ge_done t;
    table_entry(&q, table, row, digit > 0 ? digit : -digit);
    ge_add_niels(&t, p, &q, digit < 0);
    ge_done_to_p3(p, &t);
}

/* S*B from S's signed digits and the base-point table */
static void ge_base_multiple(ge_p3 *h, const char *digits, __global const uint *table) {
    ge_identity(h);
    for (int k = 0; k < TABLE_ROWS; k++) ge_add_table(h, table, k, digits[2 * k + 1]);
    ge_times16(h);
    for (int k = 0; k < TABLE_ROWS; k++) ge_add_table(h, table, k, digits[2 * k]);
}

/* k*P from k's signed digits */
static void ge_point_multiple(ge_p3 *h, const char *digits, const ge_p3 *p) {
    ge_cached multiples[8];            /* 1P .. 8P */
    ge_p3 sum = *p;
    ge_done t;
    ge_to_cached(&multiples[0], p);
    for (int j = 1; j < 8; j++) {
        ge_add_cached(&t, &sum, &multiples[0], 0);
        ge_done_to_p3(&sum, &t);
        ge_to_cached(&multiples[j], &sum);
    }
    int top = 63;
    while (top > 0 && digits[top] == 0) top--;
    ge_identity(h);
    for (int i = top; i >= 0; i--) {
        if (i != top) ge_times16(h);
        int digit = digits[i];
        if (digit != 0) {
            ge_add_cached(&t, h, &multiples[(digit > 0 ? digit : -digit) - 1], digit < 0);
            ge_done_to_p3(h, &t);
        }
    }
}

static void ge_p3_tobytes(uchar *s, const ge_p3 *p) {
    fe z_inverse, x, y;
    fe_invert(&z_inverse, &p->Z);
    fe_mul(&x, &p->X, &z_inverse);
    fe_mul(&y, &p->Y, &z_inverse);
    fe_tobytes(s, &y);
    s[31] ^= (uchar)(fe_is_negative(&x) << 7);
}

/* -A from A's encoding, as libsodium's ge25519_frombytes_negate_vartime: y from bits
   0..254, x = u v^3 (u v^7)^((p-5)/8) with u = y^2 - 1, v = d y^2 + 1, corrected by
   sqrt(-1) when v x^2 = -u, and given the sign opposite to bit 255. Returns 0 when no
   x exists. */
static int ge_decode_negated(ge_p3 *h, const uchar *s) {
    fe u, v, v3, vxx, check, d, one;
    fe_frombytes(&h->Y, s);
    fe_set(&h->Z, 1);
    fe_set(&one, 1);
    fe_from_constant(&d, FE_D);
    fe_sq(&u, &h->Y);
    fe_mul(&v, &u, &d);
    fe_sub(&u, &u, &one);
    fe_add(&v, &v, &one);
    fe_sq(&v3, &v);
    fe_mul(&v3, &v3, &v);              /* v^3 */
    fe_sq(&h->X, &v3);
    fe_mul(&h->X, &h->X, &v);
    fe_mul(&h->X, &h->X, &u);          /* u v^7 */
    fe_pow22523(&h->X, &h->X);
    fe_mul(&h->X, &h->X, &v3);
    fe_mul(&h->X, &h->X, &u);          /* u v^3 (u v^7)^((p-5)/8) */
    fe_sq(&vxx, &h->X);
    fe_mul(&vxx, &vxx, &v);
    fe_sub(&check, &vxx, &u);
    if (!fe_is_zero(&check)) {
        fe_add(&check, &vxx, &u);
        if (!fe_is_zero(&check)) return 0;
        fe sqrt_m1;
        fe_from_constant(&sqrt_m1, FE_SQRT_M1);
        fe_mul(&h->X, &h->X, &sqrt_m1);
    }
    if (fe_is_negative(&h->X) == (s[31] >> 7)) fe_neg(&h->X, &h->X);
    fe_mul(&h->T, &h->X, &h->Y);
    return 1;
}
"""
