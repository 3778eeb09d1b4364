"""OpenCL C: SHA-512 (FIPS 180-4) of R || A || M, with M read in place from the batch buffer.

The 64 bytes of R and A and the message are one virtual byte stream followed by the
padding (0x80, zeros, the 128-bit big-endian bit length). Each 128-byte block is built
word by word from that stream, so a message of any length is hashed without a copy; the
message schedule is kept as a rolling window of 16 words.
"""

SHA512_SOURCE = r"""
static ulong rotr64(ulong x, uint n) { return rotate(x, (ulong)(64u - n)); }

static void sha512_compress(ulong *state, ulong *w) {
    ulong a = state[0], b = state[1], c = state[2], d = state[3];
    ulong e = state[4], f = state[5], g = state[6], h = state[7];
#pragma unroll
    for (int t = 0; t < 80; t++) {
        ulong word;
        if (t < 16) {
            word = w[t];
        } else {
            ulong w15 = w[(t - 15) & 15], w2 = w[(t - 2) & 15];
            ulong s0 = rotr64(w15, 1) ^ rotr64(w15, 8) ^ (w15 >> 7);
            ulong s1 = rotr64(w2, 19) ^ rotr64(w2, 61) ^ (w2 >> 6);
            word = w[t & 15] + s0 + w[(t - 7) & 15] + s1;
            w[t & 15] = word;
        }
        ulong t1 = h + (rotr64(e, 14) ^ rotr64(e, 18) ^ rotr64(e, 41)) + ((e & f) ^ (~e & g))
                   + SHA512_K[t] + word;
        ulong t2 = (rotr64(a, 28) ^ rotr64(a, 34) ^ rotr64(a, 39)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g; g = f; f = e; e = d + t1;
        d = c; c = b; b = a; a = t1 + t2;
    }
    state[0] += a; state[1] += b; state[2] += c; state[3] += d;
    state[4] += e; state[5] += f; state[6] += g; state[7] += h;
}

/* Byte `at` of R || A || M || 0x80 || zeros (the length words are set by the caller). */
static uchar hash_stream_byte(uint at, const uchar *r, const uchar *a,
                              __global const uchar *m, uint m_len) {
    if (at < 32) return r[at];
    if (at < 64) return a[at - 32];
    if (at - 64 < m_len) return m[at - 64];
    return (at - 64 == m_len) ? 0x80 : 0;
}

/* SHA-512(r[0..32) || a[0..32) || m[0..m_len)) into digest[64] */
static void hash_r_a_m(uchar *digest, const uchar *r, const uchar *a,
                       __global const uchar *m, uint m_len) {
    ulong state[8], w[16];
    for (int i = 0; i < 8; i++) state[i] = SHA512_IV[i];
    uint total = 64 + m_len;
    uint blocks = (total + 17 + 127) / 128;
    for (uint block = 0; block < blocks; block++) {
        uint base = block * 128;
        for (int k = 0; k < 16; k++) {
            ulong word = 0;
            uint at = base + 8 * k;
            if (at >= 64 && at + 8 <= 64 + m_len) {
                for (int b = 0; b < 8; b++) word = (word << 8) | m[at - 64 + b];
            } else {
                for (int b = 0; b < 8; b++)
                    word = (word << 8) | hash_stream_byte(at + b, r, a, m, m_len);
            }
            w[k] = word;
        }
        if (block == blocks - 1) {
            w[14] = 0;
            w[15] = (ulong)total << 3;
        }
        sha512_compress(state, w);
    }
    for (int i = 0; i < 8; i++)
        for (int b = 0; b < 8; b++) digest[8 * i + b] = (uchar)(state[i] >> (56 - 8 * b));
}
"""
