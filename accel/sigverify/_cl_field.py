"""OpenCL C: arithmetic modulo p = 2^255 - 19 on ten unsigned 32-bit limbs, radix 2^25.5.

Limb i holds bits [ceil(25.5 i), ceil(25.5 (i+1))): 26 bits for even i, 25 for odd i.
Every `fe` that leaves a function here is *carried*: each limb within its width, except
limb 1, which may exceed 2^25 by at most 2^17 after a multiplication. Under that bound
a product's ten partial sums stay below 2^60 (a term is at most 2 * 19 * 2^26 * 2^26,
plus the factor-2 for two odd limbs), so they accumulate in 64-bit unsigned integers
with no overflow. Subtraction adds 2p limb by limb before subtracting (2p's limbs are at
least as large as any carried limb), so no limb ever goes negative and no signed shift
is needed anywhere.

A product's term f_i g_j lands at bit offset o_i + o_j, which is o_{i+j} plus one when
both i and j are odd (hence the doubling) and wraps past 2^255 when i + j >= 10, where
2^255 = 19 (mod p) (hence the 19).
"""

FIELD_SOURCE = r"""
typedef struct { uint v[10]; } fe;

#define LIMB_BITS(i) (((i) & 1) ? 25u : 26u)
#define LIMB_MASK(i) (((i) & 1) ? 0x1ffffffu : 0x3ffffffu)

__constant uint LIMB_OFFSET[10] = {0, 26, 51, 77, 102, 128, 153, 179, 204, 230};
/* 2p, limb by limb: added before a subtraction so that no limb goes negative. */
__constant uint TWO_P[10] = {0x7ffffdau, 0x3fffffeu, 0x7fffffeu, 0x3fffffeu, 0x7fffffeu,
                             0x3fffffeu, 0x7fffffeu, 0x3fffffeu, 0x7fffffeu, 0x3fffffeu};

static void fe_set(fe *h, uint small) {
    h->v[0] = small;
    #pragma unroll
    for (int i = 1; i < 10; i++) h->v[i] = 0;
}

static void fe_from_constant(fe *h, __constant const uint *limbs) {
    #pragma unroll
    for (int i = 0; i < 10; i++) h->v[i] = limbs[i];
}

static void fe_from_global(fe *h, __global const uint *limbs) {
    #pragma unroll
    for (int i = 0; i < 10; i++) h->v[i] = limbs[i];
}

/* Bring limbs of up to 31 bits back within their widths; the carry out of the top limb
   re-enters at the bottom times 19. */
static void fe_carry(fe *h) {
    uint carry;
    #pragma unroll
    for (int i = 0; i < 9; i++) {
        carry = h->v[i] >> LIMB_BITS(i);
        h->v[i] &= LIMB_MASK(i);
        h->v[i + 1] += carry;
    }
    carry = h->v[9] >> 25;
    h->v[9] &= 0x1ffffffu;
    h->v[0] += 19u * carry;
    carry = h->v[0] >> 26;
    h->v[0] &= 0x3ffffffu;
    h->v[1] += carry;
}

/* The same, from 64-bit partial sums (below 2^62). */
static void fe_carry_wide(fe *h, ulong *t) {
    ulong carry;
    #pragma unroll
    for (int i = 0; i < 9; i++) {
        carry = t[i] >> LIMB_BITS(i);
        t[i] &= LIMB_MASK(i);
        t[i + 1] += carry;
    }
    carry = t[9] >> 25;
    t[9] &= 0x1ffffffu;
    t[0] += 19ul * carry;
    carry = t[0] >> 26;
    t[0] &= 0x3ffffffu;
    t[1] += carry;
    #pragma unroll
    for (int i = 0; i < 10; i++) h->v[i] = (uint)t[i];
}

static void fe_add(fe *h, const fe *f, const fe *g) {
    #pragma unroll
    for (int i = 0; i < 10; i++) h->v[i] = f->v[i] + g->v[i];
    fe_carry(h);
}

static void fe_sub(fe *h, const fe *f, const fe *g) {
    #pragma unroll
    for (int i = 0; i < 10; i++) h->v[i] = f->v[i] + TWO_P[i] - g->v[i];
    fe_carry(h);
}

static void fe_neg(fe *h, const fe *f) {
    fe zero;
    fe_set(&zero, 0);
    fe_sub(h, &zero, f);
}

static void fe_mul(fe *h, const fe *f, const fe *g) {
    ulong t[10];
    uint g19[10];
    #pragma unroll
    for (int j = 0; j < 10; j++) {
        t[j] = 0;
        g19[j] = 19u * g->v[j];
    }
    #pragma unroll
    for (int i = 0; i < 10; i++) {
        ulong fi = f->v[i];
        ulong fi_odd = fi << (i & 1);   /* against odd j: doubled when i is odd too */
        #pragma unroll
        for (int j = 0; j < 10; j++) {
            ulong a = (j & 1) ? fi_odd : fi;
            ulong b = (i + j < 10) ? g->v[j] : g19[j];
            t[(i + j < 10) ? i + j : i + j - 10] += a * b;
        }
    }
    fe_carry_wide(h, t);
}

static void fe_sq(fe *h, const fe *f) {
    ulong t[10];
    uint f19[10];
    #pragma unroll
    for (int j = 0; j < 10; j++) {
        t[j] = 0;
        f19[j] = 19u * f->v[j];
    }
    #pragma unroll
    for (int i = 0; i < 10; i++) {
        ulong fi = f->v[i];
        t[(2 * i < 10) ? 2 * i : 2 * i - 10] +=
            (fi << (i & 1)) * (ulong)((2 * i < 10) ? f->v[i] : f19[i]);
        #pragma unroll
        for (int j = i + 1; j < 10; j++) {
            /* f_i f_j and f_j f_i: twice, and twice again when both are odd */
            ulong a = fi << (1 + ((i & j) & 1));
            ulong b = (i + j < 10) ? f->v[j] : f19[j];
            t[(i + j < 10) ? i + j : i + j - 10] += a * b;
        }
    }
    fe_carry_wide(h, t);
}

/* h = f^(2^n) */
static void fe_sq_times(fe *h, const fe *f, int n) {
    fe_sq(h, f);
    for (int i = 1; i < n; i++) fe_sq(h, h);
}

/* The unique representative below p, limbs exactly within their widths. */
static void fe_canonical(fe *h) {
    fe_carry(h);
    uint q = (h->v[0] + 19u) >> 26;   /* q = 1 exactly when the value is at least p */
    #pragma unroll
    for (int i = 1; i < 10; i++) q = (h->v[i] + q) >> LIMB_BITS(i);
    h->v[0] += 19u * q;
    #pragma unroll
    for (int i = 0; i < 9; i++) {
        uint carry = h->v[i] >> LIMB_BITS(i);
        h->v[i] &= LIMB_MASK(i);
        h->v[i + 1] += carry;
    }
    h->v[9] &= 0x1ffffffu;            /* drops the 2^255 that q*19 carried into */
}

static void fe_tobytes(uchar *s, const fe *f) {
    fe t = *f;
    fe_canonical(&t);
    ulong acc = 0;
    uint bits = 0;
    int k = 0;
    #pragma unroll
    for (int i = 0; i < 10; i++) {
        acc |= (ulong)t.v[i] << bits;
        bits += LIMB_BITS(i);
        while (bits >= 8) {
            s[k++] = (uchar)acc;
            acc >>= 8;
            bits -= 8;
        }
    }
    s[31] = (uchar)acc;
}

/* Bits 0..254 of a little-endian encoding (bit 255 is the caller's). Not reduced: a
   value in [p, 2^255) stays as it is, which arithmetic mod p does not mind. */
static void fe_frombytes(fe *h, const uchar *s) {
    #pragma unroll
    for (int i = 0; i < 10; i++) {
        uint at = LIMB_OFFSET[i] >> 3;
        uint word = (uint)s[at] | ((uint)s[at + 1] << 8) | ((uint)s[at + 2] << 16)
                    | ((uint)s[at + 3] << 24);
        h->v[i] = (word >> (LIMB_OFFSET[i] & 7)) & LIMB_MASK(i);
    }
}

static int fe_is_negative(const fe *f) {
    uchar s[32];
    fe_tobytes(s, f);
    return s[0] & 1;
}

static int fe_is_zero(const fe *f) {
    uchar s[32];
    fe_tobytes(s, f);
    uchar any = 0;
    #pragma unroll
    for (int i = 0; i < 32; i++) any |= s[i];
    return any == 0;
}

/* z^(2^250 - 1), and z^11 on the side: the common trunk of inversion and square root. */
static void fe_pow_trunk(fe *z_250, fe *z_11, const fe *z) {
    fe z2, z9, z_5, z_10, z_20, z_50, z_100, t;
    fe_sq(&z2, z);
    fe_sq_times(&t, &z2, 2);
    fe_mul(&z9, &t, z);
    fe_mul(z_11, &z9, &z2);
    fe_sq(&t, z_11);
    fe_mul(&z_5, &t, &z9);                 /* 2^5 - 1 */
    fe_sq_times(&t, &z_5, 5);
    fe_mul(&z_10, &t, &z_5);               /* 2^10 - 1 */
    fe_sq_times(&t, &z_10, 10);
    fe_mul(&z_20, &t, &z_10);              /* 2^20 - 1 */
    fe_sq_times(&t, &z_20, 20);
    fe_mul(&t, &t, &z_20);                 /* 2^40 - 1 */
    fe_sq_times(&t, &t, 10);
    fe_mul(&z_50, &t, &z_10);              /* 2^50 - 1 */
    fe_sq_times(&t, &z_50, 50);
    fe_mul(&z_100, &t, &z_50);             /* 2^100 - 1 */
    fe_sq_times(&t, &z_100, 100);
    fe_mul(&t, &t, &z_100);                /* 2^200 - 1 */
    fe_sq_times(&t, &t, 50);
    fe_mul(z_250, &t, &z_50);              /* 2^250 - 1 */
}

/* z^(p-2) = z^(2^255 - 21) = z^-1 (and 0 for 0) */
static void fe_invert(fe *h, const fe *z) {
    fe z_250, z_11, t;
    fe_pow_trunk(&z_250, &z_11, z);
    fe_sq_times(&t, &z_250, 5);
    fe_mul(h, &t, &z_11);
}

/* z^((p-5)/8) = z^(2^252 - 3) */
static void fe_pow22523(fe *h, const fe *z) {
    fe z_250, z_11, t;
    fe_pow_trunk(&z_250, &z_11, z);
    fe_sq_times(&t, &z_250, 2);
    fe_mul(h, &t, z);
}
"""
