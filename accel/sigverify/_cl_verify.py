"""OpenCL C: the verification kernel (one work-item per signature) and the self-test kernels.

A batch arrives as four buffers: signatures (64 bytes each), public keys (32 bytes each),
every message back to back, and count + 1 offsets into the messages. Each work-item writes
one verdict byte, a `Verdict` code (0 accepts). The self-test kernels expose the field,
scalar, hash and base-point arithmetic so the host can check them against Python.
"""

from ._cl_field import FIELD_SOURCE
from ._cl_group import GROUP_SOURCE
from ._cl_scalar import SCALAR_SOURCE
from ._cl_sha512 import SHA512_SOURCE
from ._constants import constants_source

VERIFY_SOURCE = r"""
#define ACCEPT 0
#define S_NOT_CANONICAL 1
#define R_SMALL_ORDER 2
#define A_NOT_CANONICAL 3
#define A_SMALL_ORDER 4
#define A_NOT_ON_CURVE 5
#define EQUATION_FAILS 6

static uchar verify_signature(const uchar *sig, const uchar *key, __global const uchar *message,
                              uint message_len, __global const uint *table) {
    if (!sc_is_canonical(sig + 32)) return S_NOT_CANONICAL;
    if (has_small_order(sig)) return R_SMALL_ORDER;
    if (!point_is_canonical(key)) return A_NOT_CANONICAL;
    if (has_small_order(key)) return A_SMALL_ORDER;
    ge_p3 negated_a;
    if (!ge_decode_negated(&negated_a, key)) return A_NOT_ON_CURVE;

    uchar digest[64], k[32];
    hash_r_a_m(digest, sig, key, message, message_len);
    sc_reduce(k, digest);

    char digits[64];
    ge_p3 sb, ka;
    sc_signed_digits(digits, sig + 32);
    ge_base_multiple(&sb, digits, table);
    sc_signed_digits(digits, k);
    ge_point_multiple(&ka, digits, &negated_a);

    ge_cached addend;
    ge_done sum;
    ge_p3 check;
    ge_to_cached(&addend, &sb);
    ge_add_cached(&sum, &ka, &addend, 0);
    ge_done_to_p3(&check, &sum);
    uchar encoded[32];
    ge_p3_tobytes(encoded, &check);
    for (int i = 0; i < 32; i++) {
        if (encoded[i] != sig[i]) return EQUATION_FAILS;
    }
    return ACCEPT;
}

__kernel void ed25519_verify(__global const uchar *signatures, __global const uchar *keys,
                             __global const uchar *messages, __global const uint *offsets,
                             __global const uint *table, __global uchar *verdicts,
                             uint count) {
    uint id = get_global_id(0);
    if (id >= count) return;
    uchar sig[64], key[32];
    for (int i = 0; i < 64; i++) sig[i] = signatures[64 * (size_t)id + i];
    for (int i = 0; i < 32; i++) key[i] = keys[32 * (size_t)id + i];
    uint start = offsets[id];
    verdicts[id] = verify_signature(sig, key, messages + start, offsets[id + 1] - start, table);
}

/* For each pair (a, b) of 32-byte encodings (bits 0..254): a*b, a^2, a+b, a-b, 1/a,
   a^((p-5)/8) and a itself, each canonical, 7 x 32 bytes per pair. */
__kernel void selftest_field(__global const uchar *a_bytes, __global const uchar *b_bytes,
                             __global uchar *out, uint count) {
    uint id = get_global_id(0);
    if (id >= count) return;
    uchar s[32];
    fe a, b, r[7];
    for (int i = 0; i < 32; i++) s[i] = a_bytes[32 * id + i];
    fe_frombytes(&a, s);
    for (int i = 0; i < 32; i++) s[i] = b_bytes[32 * id + i];
    fe_frombytes(&b, s);
    fe_mul(&r[0], &a, &b);
    fe_sq(&r[1], &a);
    fe_add(&r[2], &a, &b);
    fe_sub(&r[3], &a, &b);
    fe_invert(&r[4], &a);
    fe_pow22523(&r[5], &a);
    r[6] = a;
    for (int k = 0; k < 7; k++) {
        fe_tobytes(s, &r[k]);
        for (int i = 0; i < 32; i++) out[(7 * id + k) * 32 + i] = s[i];
    }
}

/* For each 64-byte input: the input mod L (32 bytes). */
__kernel void selftest_scalar(__global const uchar *in, __global uchar *out, uint count) {
    uint id = get_global_id(0);
    if (id >= count) return;
    uchar x[64], r[32];
    for (int i = 0; i < 64; i++) x[i] = in[64 * id + i];
    sc_reduce(r, x);
    for (int i = 0; i < 32; i++) out[32 * id + i] = r[i];
}

/* For each (R, A, M) of a batch laid out as for ed25519_verify: SHA-512(R || A || M). */
__kernel void selftest_hash(__global const uchar *signatures, __global const uchar *keys,
                            __global const uchar *messages, __global const uint *offsets,
                            __global uchar *out, uint count) {
    uint id = get_global_id(0);
    if (id >= count) return;
    uchar r[32], a[32], digest[64];
    for (int i = 0; i < 32; i++) r[i] = signatures[64 * id + i];
    for (int i = 0; i < 32; i++) a[i] = keys[32 * id + i];
    hash_r_a_m(digest, r, a, messages + offsets[id], offsets[id + 1] - offsets[id]);
    for (int i = 0; i < 64; i++) out[64 * id + i] = digest[i];
}

/* For each scalar s < L (32 bytes) and encoding of A: s*B and s*(-A), encoded (64 bytes;
   the second half is zero where A does not decode). */
__kernel void selftest_group(__global const uchar *scalars, __global const uchar *points,
                             __global const uint *table, __global uchar *out, uint count) {
    uint id = get_global_id(0);
    if (id >= count) return;
    uchar s[32], a[32], encoded[64];
    char digits[64];
    ge_p3 p, negated_a;
    for (int i = 0; i < 32; i++) s[i] = scalars[32 * id + i];
    for (int i = 0; i < 32; i++) a[i] = points[32 * id + i];
    sc_signed_digits(digits, s);
    ge_base_multiple(&p, digits, table);
    ge_p3_tobytes(encoded, &p);
    for (int i = 32; i < 64; i++) encoded[i] = 0;
    if (ge_decode_negated(&negated_a, a)) {
        ge_point_multiple(&p, digits, &negated_a);
        ge_p3_tobytes(encoded + 32, &p);
    }
    for (int i = 0; i < 64; i++) out[64 * id + i] = encoded[i];
}
"""


def kernel_source() -> str:
    """The whole OpenCL program: constants, field, scalars, SHA-512, group, kernels."""
    return "\n".join([constants_source(), FIELD_SOURCE, SCALAR_SOURCE, SHA512_SOURCE,
                      GROUP_SOURCE, VERIFY_SOURCE])
