"""OpenCL C: scalars modulo L, signed radix-16 digits, and libsodium's byte-level checks.

`sc_reduce` is Barrett reduction (Handbook of Applied Cryptography, algorithm 14.42) with
32-bit words: for x < 2^512 and mu = floor(2^512 / L), q = floor(floor(x / 2^224) * mu /
2^288) is at most 2 short of floor(x / L), so x - q L lands in [0, 3L) and at most two
subtractions of L finish the job. Everything is unsigned.
"""

SCALAR_SOURCE = r"""
/* x (64 bytes, little-endian) mod L, as 32 little-endian bytes. */
static void sc_reduce(uchar *out, const uchar *in) {
    uint x[16], q2[18], r2[17], r[9];
    for (int i = 0; i < 16; i++)
        x[i] = (uint)in[4 * i] | ((uint)in[4 * i + 1] << 8) | ((uint)in[4 * i + 2] << 16)
               | ((uint)in[4 * i + 3] << 24);
    /* q2 = floor(x / 2^224) * mu, a 9 x 9 word product */
    for (int i = 0; i < 18; i++) q2[i] = 0;
    for (int i = 0; i < 9; i++) {
        ulong carry = 0;
        for (int j = 0; j < 9; j++) {
            ulong t = (ulong)x[7 + i] * SC_MU[j] + q2[i + j] + carry;
            q2[i + j] = (uint)t;
            carry = t >> 32;
        }
        q2[i + 9] = (uint)carry;
    }
    /* r2 = q3 * L with q3 = floor(q2 / 2^288) = q2[9..17]; only words 0..8 are used */
    for (int i = 0; i < 17; i++) r2[i] = 0;
    for (int i = 0; i < 9; i++) {
        ulong carry = 0;
        for (int j = 0; j < 8; j++) {
            ulong t = (ulong)q2[9 + i] * SC_L[j] + r2[i + j] + carry;
            r2[i + j] = (uint)t;
            carry = t >> 32;
        }
        if (i + 8 < 17) r2[i + 8] = (uint)carry;
    }
    /* r = (x - r2) mod 2^288 */
    ulong borrow = 0;
    for (int i = 0; i < 9; i++) {
        ulong t = (ulong)x[i] - r2[i] - borrow;
        r[i] = (uint)t;
        borrow = (t >> 32) & 1;
    }
    for (int round = 0; round < 2; round++) {
        /* r >= L ? (L's ninth word is zero) */
        int at_least = r[8] != 0;
        if (!at_least) {
            at_least = 1;
            for (int i = 7; i >= 0; i--) {
                if (r[i] != SC_L[i]) {
                    at_least = r[i] > SC_L[i];
                    break;
                }
            }
        }
        if (!at_least) break;
        borrow = 0;
        for (int i = 0; i < 9; i++) {
            ulong t = (ulong)r[i] - (i < 8 ? SC_L[i] : 0u) - borrow;
            r[i] = (uint)t;
            borrow = (t >> 32) & 1;
        }
    }
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uchar)r[i];
        out[4 * i + 1] = (uchar)(r[i] >> 8);
        out[4 * i + 2] = (uchar)(r[i] >> 16);
        out[4 * i + 3] = (uchar)(r[i] >> 24);
    }
}

/* s < L, for 32 little-endian bytes (libsodium's sc25519_is_canonical) */
static int sc_is_canonical(const uchar *s) {
    for (int i = 31; i >= 0; i--) {
        if (s[i] != SC_L_BYTES[i]) return s[i] < SC_L_BYTES[i];
    }
    return 0;
}

/* Signed radix-16 digits d[0..63] in [-8, 8) (the last one up to 8): s = sum d[i] 16^i.
   Needs s < 2^255, which any scalar below L satisfies. */
static void sc_signed_digits(char *d, const uchar *s) {
    for (int i = 0; i < 32; i++) {
        d[2 * i] = (char)(s[i] & 15);
        d[2 * i + 1] = (char)(s[i] >> 4);
    }
    int carry = 0;
    for (int i = 0; i < 63; i++) {
        int digit = d[i] + carry;
        carry = (digit + 8) >> 4;       /* digit + 8 >= 0: no shift of a negative number */
        d[i] = (char)(digit - (carry << 4));
    }
    d[63] = (char)(d[63] + carry);
}

/* libsodium's ge25519_has_small_order: the encoding, sign bit ignored, is one of the
   seven encodings of a point of order 1, 2, 4 or 8. */
static int has_small_order(const uchar *s) {
    for (int k = 0; k < SMALL_ORDER_COUNT; k++) {
        int same = 1;
        for (int i = 0; i < 31 && same; i++) same = s[i] == SMALL_ORDER[32 * k + i];
        if (same && (s[31] & 0x7f) == SMALL_ORDER[32 * k + 31]) return 1;
    }
    return 0;
}

/* libsodium's ge25519_is_canonical: y (sign bit ignored) is below p */
static int point_is_canonical(const uchar *s) {
    if ((s[31] & 0x7f) != 0x7f || s[0] < 0xed) return 1;
    for (int i = 1; i < 31; i++) {
        if (s[i] != 0xff) return 1;
    }
    return 0;
}
"""
