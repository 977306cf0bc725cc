/* Hsiao (72,64) SECDED over uint64 words with a separate check byte per word.
 *
 * The code (column order, decoder) is defined in native/_secded_code.py; secded_tables.h is
 * generated from it. Syndrome s = H_data . data XOR check; s == 0 for a clean word.
 *
 * Variants (see satnode.h): all compute syndromes for a block of words and fall into the
 * per-word decoder only when the block has a non-zero syndrome, so scrubbing clean memory is a
 * read-only streaming pass.
 *  1 table:   8 byte-table lookups per word (2 KiB of tables, L1-resident).
 *  2 AVX2:    32 words per step; an in-register byte transpose (pshufb + 24 unpacks) gathers
 *             byte position j of 32 words into one register, then two 16-entry nibble lookups
 *             (vpshufb) per position give the syndrome contributions.
 *  3 GFNI:    as 2, but one GF2P8AFFINEQB per position multiplies the bytes by the 8x8 bit
 *             matrix of that position (replaces the nibble lookups).
 *  4 AVX-512: 64 words per step; VPERMB transposes each 8-word register so that qword lane j
 *             holds byte j of 8 words, GF2P8AFFINEQB applies lane j's matrix, and a 3-level
 *             shuffle/XOR tree reduces the 8 lanes of 8 registers to 64 syndromes.
 */
#include "kernels.h"
#include "secded_tables.h"

enum { IMPL_TABLE = 1, IMPL_AVX2 = 2, IMPL_GFNI = 3, IMPL_AVX512 = 4 };

int satnode_secded_impl(int requested) {
    unsigned int f = satnode_cpu_features();
    int best = IMPL_TABLE;
    if (f & SATNODE_CPU_AVX2) best = IMPL_AVX2;
    if (f & SATNODE_CPU_GFNI) best = IMPL_GFNI;
    if (f & SATNODE_CPU_AVX512VBMI) best = IMPL_AVX512;
    if (requested == 0) return best;
    if (requested < IMPL_TABLE || requested > best) return -1;
    return requested;
}

static inline uint8_t syn_table(uint64_t w) {
    return (uint8_t)(SECDED_BYTE[0][w & 0xFF] ^ SECDED_BYTE[1][(w >> 8) & 0xFF] ^
                     SECDED_BYTE[2][(w >> 16) & 0xFF] ^ SECDED_BYTE[3][(w >> 24) & 0xFF] ^
                     SECDED_BYTE[4][(w >> 32) & 0xFF] ^ SECDED_BYTE[5][(w >> 40) & 0xFF] ^
                     SECDED_BYTE[6][(w >> 48) & 0xFF] ^ SECDED_BYTE[7][w >> 56]);
}

typedef struct {
    int64_t *counts; /* [data singles, check singles, doubles, odd uncorrectable] */
    int64_t *idx;
    size_t cap;
    int64_t nbad;
} scan_state;

/* Decode and (if fix) correct words [i0, i1); the slow path, entered only for dirty blocks. */
static void scan_words(uint64_t *data, uint8_t *checks, size_t i0, size_t i1, int fix,
                       scan_state *st) {
    for (size_t i = i0; i < i1; i++) {
        uint8_t s = (uint8_t)(syn_table(data[i]) ^ checks[i]);
        if (s == 0) continue;
        uint8_t d = SECDED_DECODE[s];
        if (d <= 64) {
            st->counts[0]++;
            if (fix) data[i] ^= (uint64_t)1 << (d - 1);
        } else if (d <= 72) {
            st->counts[1]++;
            if (fix) checks[i] ^= (uint8_t)(1u << (d - 65));
        } else {
            st->counts[d == 254 ? 2 : 3]++;
            if ((size_t)st->nbad < st->cap) st->idx[st->nbad] = (int64_t)i;
            st->nbad++;
        }
    }
}

static void encode_table(const uint64_t *data, uint8_t *checks, size_t n) {
    for (size_t i = 0; i < n; i++) checks[i] = syn_table(data[i]);
}

#define SCAN_BLOCK 64
static void scan_table(uint64_t *data, uint8_t *checks, size_t n, int fix, scan_state *st) {
    size_t i = 0;
    for (; i + SCAN_BLOCK <= n; i += SCAN_BLOCK) {
        uint8_t acc = 0;
        for (size_t k = 0; k < SCAN_BLOCK; k++) acc |= syn_table(data[i + k]) ^ checks[i + k];
        if (acc) scan_words(data, checks, i, i + SCAN_BLOCK, fix, st);
    }
    scan_words(data, checks, i, n, fix, st);
}

#if SATNODE_X86

/* Syndromes of 32 words (256 bytes at p), in natural order (byte i = word i).
 * After the in-lane pshufb each 128-bit lane holds two words as 16-bit units (a_j, b_j) for
 * byte position j; an 8x8 transpose of 16-bit units across the 8 registers (per lane) leaves
 * v[j] = position j of all 32 words, with lane L byte 2k+t = word 4k+2L+t. */
#define SECDED_TRANSPOSE32(p, v)                                                             \
    do {                                                                                     \
        const __m256i grp = _mm256_setr_epi8(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, \
                                             7, 15, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13,  \
                                             6, 14, 7, 15);                                  \
        __m256i r0 = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)(p) + 0), grp); \
        __m256i r1 = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)(p) + 1), grp); \
        __m256i r2 = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)(p) + 2), grp); \
        __m256i r3 = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)(p) + 3), grp); \
        __m256i r4 = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)(p) + 4), grp); \
        __m256i r5 = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)(p) + 5), grp); \
        __m256i r6 = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)(p) + 6), grp); \
        __m256i r7 = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)(p) + 7), grp); \
        __m256i t0 = _mm256_unpacklo_epi16(r0, r1), t1 = _mm256_unpackhi_epi16(r0, r1);     \
        __m256i t2 = _mm256_unpacklo_epi16(r2, r3), t3 = _mm256_unpackhi_epi16(r2, r3);     \
        __m256i t4 = _mm256_unpacklo_epi16(r4, r5), t5 = _mm256_unpackhi_epi16(r4, r5);     \
        __m256i t6 = _mm256_unpacklo_epi16(r6, r7), t7 = _mm256_unpackhi_epi16(r6, r7);     \
        __m256i u0 = _mm256_unpacklo_epi32(t0, t2), u1 = _mm256_unpackhi_epi32(t0, t2);     \
        __m256i u2 = _mm256_unpacklo_epi32(t1, t3), u3 = _mm256_unpackhi_epi32(t1, t3);     \
        __m256i u4 = _mm256_unpacklo_epi32(t4, t6), u5 = _mm256_unpackhi_epi32(t4, t6);     \
        __m256i u6 = _mm256_unpacklo_epi32(t5, t7), u7 = _mm256_unpackhi_epi32(t5, t7);     \
        v[0] = _mm256_unpacklo_epi64(u0, u4);                                                \
        v[1] = _mm256_unpackhi_epi64(u0, u4);                                                \
        v[2] = _mm256_unpacklo_epi64(u1, u5);                                                \
        v[3] = _mm256_unpackhi_epi64(u1, u5);                                                \
        v[4] = _mm256_unpacklo_epi64(u2, u6);                                                \
        v[5] = _mm256_unpackhi_epi64(u2, u6);                                                \
        v[6] = _mm256_unpacklo_epi64(u3, u7);                                                \
        v[7] = _mm256_unpackhi_epi64(u3, u7);                                                \
    } while (0)

/* Lane L 16-bit unit k holds words (4k+2L, 4k+2L+1): vpermq gives [L0 k0-3 | L1 k0-3] and
 * [L0 k4-7 | L1 k4-7] per lane, then an in-lane pshufb interleaves the 16-bit units. */
#define SECDED_UNPERMUTE32(s)                                                                 \
    _mm256_shuffle_epi8(_mm256_permute4x64_epi64((s), 0xD8),                                  \
                        _mm256_setr_epi8(0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15, \
                                         0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15))

__attribute__((target("avx2"))) static inline __m256i syn32_avx2(const uint64_t *p) {
    __m256i v[8];
    SECDED_TRANSPOSE32(p, v);
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    __m256i s = _mm256_setzero_si256();
    for (int j = 0; j < 8; j++) {
        const __m256i tlo =
            _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)SECDED_NIBBLE[2 * j]));
        const __m256i thi = _mm256_broadcastsi128_si256(
            _mm_loadu_si128((const __m128i *)SECDED_NIBBLE[2 * j + 1]));
        __m256i lo = _mm256_and_si256(v[j], low4);
        __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v[j], 4), low4);
        s = _mm256_xor_si256(s, _mm256_shuffle_epi8(tlo, lo));
        s = _mm256_xor_si256(s, _mm256_shuffle_epi8(thi, hi));
    }
    return SECDED_UNPERMUTE32(s);
}

__attribute__((target("avx2,gfni"))) static inline __m256i syn32_gfni(const uint64_t *p) {
    __m256i v[8];
    SECDED_TRANSPOSE32(p, v);
    __m256i s = _mm256_setzero_si256();
    for (int j = 0; j < 8; j++) {
        const __m256i m = _mm256_set1_epi64x((long long)SECDED_GF2[j]);
        s = _mm256_xor_si256(s, _mm256_gf2p8affine_epi64_epi8(v[j], m, 0));
    }
    return SECDED_UNPERMUTE32(s);
}

#define DEFINE_AVX2_FAMILY(NAME, TARGET, SYN)                                                 \
    __attribute__((target(TARGET))) static void encode_##NAME(const uint64_t *data,          \
                                                              uint8_t *checks, size_t n) {    \
        size_t i = 0;                                                                         \
        for (; i + 32 <= n; i += 32)                                                          \
            _mm256_storeu_si256((__m256i *)(checks + i), SYN(data + i));                      \
        encode_table(data + i, checks + i, n - i);                                            \
    }                                                                                         \
    __attribute__((target(TARGET))) static void scan_##NAME(uint64_t *data, uint8_t *checks, \
                                                            size_t n, int fix,                \
                                                            scan_state *st) {                 \
        size_t i = 0;                                                                         \
        for (; i + 64 <= n; i += 64) {                                                        \
            __m256i x0 = _mm256_xor_si256(SYN(data + i),                                      \
                                          _mm256_loadu_si256((const __m256i *)(checks + i))); \
            __m256i x1 = _mm256_xor_si256(                                                    \
                SYN(data + i + 32), _mm256_loadu_si256((const __m256i *)(checks + i + 32)));  \
            __m256i x = _mm256_or_si256(x0, x1);                                              \
            if (!_mm256_testz_si256(x, x)) scan_words(data, checks, i, i + 64, fix, st);      \
        }                                                                                     \
        scan_words(data, checks, i, n, fix, st);                                              \
    }

DEFINE_AVX2_FAMILY(avx2, "avx2", syn32_avx2)
DEFINE_AVX2_FAMILY(gfni, "avx2,gfni", syn32_gfni)

/* Syndromes of 64 words (512 bytes at p), natural order. */
__attribute__((target("avx512f,avx512bw,avx512vbmi,gfni"))) static inline __m512i syn64_avx512(
    const uint64_t *p) {
    /* Byte transpose inside a register: out byte 8j+i = in byte 8i+j (byte j of word i). */
    const __m512i tr = _mm512_set_epi8(
        63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22, 14, 6, 61, 53, 45, 37, 29, 21, 13,
        5, 60, 52, 44, 36, 28, 20, 12, 4, 59, 51, 43, 35, 27, 19, 11, 3, 58, 50, 42, 34, 26, 18,
        10, 2, 57, 49, 41, 33, 25, 17, 9, 1, 56, 48, 40, 32, 24, 16, 8, 0);
    const __m512i mats = _mm512_loadu_si512((const void *)SECDED_GF2);
    __m512i y[8];
    for (int k = 0; k < 8; k++) {
        __m512i w = _mm512_permutexvar_epi8(tr, _mm512_loadu_si512((const void *)(p + 8 * k)));
        /* lane j byte i = syndrome part of byte j of word 8k+i */
        y[k] = _mm512_gf2p8affine_epi64_epi8(w, mats, 0);
    }
    /* XOR the 8 lanes of each y[k]. Level 1 pairs (y0,y1): 256-bit halves; result lanes 0-3
     * belong to y0, 4-7 to y1 (lane q then holds lanes q and q+4 of the source). */
    const __m512i lo256 = _mm512_set_epi64(11, 10, 9, 8, 3, 2, 1, 0);
    const __m512i hi256 = _mm512_set_epi64(15, 14, 13, 12, 7, 6, 5, 4);
    __m512i a[4];
    for (int k = 0; k < 4; k++)
        a[k] = _mm512_xor_si512(_mm512_permutex2var_epi64(y[2 * k], lo256, y[2 * k + 1]),
                                _mm512_permutex2var_epi64(y[2 * k], hi256, y[2 * k + 1]));
    /* Level 2: a[0] = [A 0-3 | B 0-3], a[1] = [C 0-3 | D 0-3] (A..D = y0..y3). 128-bit
     * halves: b[0] = [A 0,1 | C 0,1 | B 0,1 | D 0,1], lane q holding q ^ (q + 2). */
    const __m512i lo128 = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0);
    const __m512i hi128 = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2);
    __m512i b[2];
    for (int k = 0; k < 2; k++)
        b[k] = _mm512_xor_si512(_mm512_permutex2var_epi64(a[2 * k], lo128, a[2 * k + 1]),
                                _mm512_permutex2var_epi64(a[2 * k], hi128, a[2 * k + 1]));
    /* Level 3: XOR lane pairs, gathered so that result lane k = syndromes of y[k]'s words:
     * y0 = b0 lanes 0,1; y1 = b0 4,5; y2 = b0 2,3; y3 = b0 6,7; y4..y7 likewise in b1. */
    const __m512i lo64 = _mm512_set_epi64(14, 10, 12, 8, 6, 2, 4, 0);
    const __m512i hi64 = _mm512_set_epi64(15, 11, 13, 9, 7, 3, 5, 1);
    __m512i s = _mm512_xor_si512(_mm512_permutex2var_epi64(b[0], lo64, b[1]),
                                 _mm512_permutex2var_epi64(b[0], hi64, b[1]));
    return s;
}

__attribute__((target("avx512f,avx512bw,avx512vbmi,gfni"))) static void encode_avx512(
    const uint64_t *data, uint8_t *checks, size_t n) {
    size_t i = 0;
    for (; i + 64 <= n; i += 64) _mm512_storeu_si512((void *)(checks + i), syn64_avx512(data + i));
    encode_table(data + i, checks + i, n - i);
}

__attribute__((target("avx512f,avx512bw,avx512vbmi,gfni"))) static void scan_avx512(
    uint64_t *data, uint8_t *checks, size_t n, int fix, scan_state *st) {
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512i x = _mm512_xor_si512(syn64_avx512(data + i),
                                     _mm512_loadu_si512((const void *)(checks + i)));
        if (_mm512_test_epi64_mask(x, x)) scan_words(data, checks, i, i + 64, fix, st);
    }
    scan_words(data, checks, i, n, fix, st);
}

#endif /* SATNODE_X86 */

int satnode_secded_encode(const uint64_t *data, uint8_t *checks, size_t n, int impl) {
    switch (satnode_secded_impl(impl)) {
        case IMPL_TABLE: encode_table(data, checks, n); return 0;
#if SATNODE_X86
        case IMPL_AVX2: encode_avx2(data, checks, n); return 0;
        case IMPL_GFNI: encode_gfni(data, checks, n); return 0;
        case IMPL_AVX512: encode_avx512(data, checks, n); return 0;
#endif
        default: return -1;
    }
}

static int64_t scan(uint64_t *data, uint8_t *checks, size_t n, int fix, int64_t *counts,
                    int64_t *idx, size_t cap, int impl) {
    scan_state st = {counts, idx, cap, 0};
    int v = satnode_secded_impl(impl);
    if (v < 0) return -1;
    counts[0] = counts[1] = counts[2] = counts[3] = 0;
    switch (v) {
#if SATNODE_X86
        case IMPL_AVX2: scan_avx2(data, checks, n, fix, &st); break;
        case IMPL_GFNI: scan_gfni(data, checks, n, fix, &st); break;
        case IMPL_AVX512: scan_avx512(data, checks, n, fix, &st); break;
#endif
        default: scan_table(data, checks, n, fix, &st); break;
    }
    return st.nbad;
}

int64_t satnode_secded_check(const uint64_t *data, const uint8_t *checks, size_t n,
                             int64_t *counts, int64_t *idx, size_t idx_cap, int impl) {
    /* fix = 0: the scan never writes through these pointers. */
    return scan((uint64_t *)data, (uint8_t *)checks, n, 0, counts, idx, idx_cap, impl);
}

int64_t satnode_secded_scrub(uint64_t *data, uint8_t *checks, size_t n, int64_t *counts,
                             int64_t *idx, size_t idx_cap, int impl) {
    return scan(data, checks, n, 1, counts, idx, idx_cap, impl);
}
