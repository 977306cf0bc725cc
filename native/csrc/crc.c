/* CRC-16-CCITT-FALSE and CRC-32C.
 *
 * Tables and folding constants are generated from native/_crc_tables.py (crc_tables.h), whose
 * docstring derives them. Variants (satnode.h): CRC-16 slicing-by-16 or PCLMULQDQ folding;
 * CRC-32C slicing-by-8 or the SSE4.2 crc32 instruction in three interleaved streams. */
#include "crc_tables.h"
#include "kernels.h"

enum { IMPL_TABLE = 1, IMPL_SIMD = 2, IMPL_SIMD512 = 3 };

/* ---------------------------------------------------------------- CRC-16-CCITT-FALSE --- */

int satnode_crc16_impl(int requested) {
    unsigned int f = satnode_cpu_features();
    int best = IMPL_TABLE;
    if (f & SATNODE_CPU_PCLMUL) best = IMPL_SIMD;
    if (f & SATNODE_CPU_VPCLMUL512) best = IMPL_SIMD512;
    if (requested == 0) return best;
    if (requested < IMPL_TABLE || requested > best) return -1;
    return requested;
}

static uint16_t crc16_slice16(const uint8_t *p, size_t n, uint16_t crc16) {
    uint32_t crc = crc16;
    while (n >= 16) {
        /* The running CRC is XORed into the first two bytes of the block (MSB first). */
        crc = CRC16_T[15][p[0] ^ (crc >> 8)] ^ CRC16_T[14][p[1] ^ (crc & 0xFF)] ^
              CRC16_T[13][p[2]] ^ CRC16_T[12][p[3]] ^ CRC16_T[11][p[4]] ^ CRC16_T[10][p[5]] ^
              CRC16_T[9][p[6]] ^ CRC16_T[8][p[7]] ^ CRC16_T[7][p[8]] ^ CRC16_T[6][p[9]] ^
              CRC16_T[5][p[10]] ^ CRC16_T[4][p[11]] ^ CRC16_T[3][p[12]] ^ CRC16_T[2][p[13]] ^
              CRC16_T[1][p[14]] ^ CRC16_T[0][p[15]];
        p += 16;
        n -= 16;
    }
    while (n--) crc = ((crc << 8) & 0xFFFF) ^ CRC16_T[0][(crc >> 8) ^ *p++];
    return (uint16_t)crc;
}

#if SATNODE_X86
/* Moves a 128-bit accumulator forward by D bits: k = {lo: x^D mod P, hi: x^(D+64) mod P}. */
#define CRC16_FOLD(acc, k)                                          \
    _mm_xor_si128(_mm_clmulepi64_si128((acc), (k), 0x11),           \
                  _mm_clmulepi64_si128((acc), (k), 0x00))

/* Folds the remaining whole 16-byte blocks into the accumulator `a`, then finishes with tables:
 * `a` is congruent to the message so far, so the CRC (init 0) of its 16 big-endian bytes is
 * a x^16 mod P, the CRC of the message so far; the tail (< 16 bytes) continues from it. */
__attribute__((target("pclmul,sse4.1,ssse3"))) static uint16_t crc16_pclmul_finish(
    __m128i a, const uint8_t *p, size_t n) {
    const __m128i rev = _mm_setr_epi8(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const __m128i k1 = _mm_set_epi64x(CRC16_XPOW_192, CRC16_XPOW_128);
    while (n >= 16) {
        a = _mm_xor_si128(CRC16_FOLD(a, k1),
                          _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)p), rev));
        p += 16;
        n -= 16;
    }
    uint8_t buf[16];
    _mm_storeu_si128((__m128i *)buf, _mm_shuffle_epi8(a, rev));
    return crc16_slice16(p, n, crc16_slice16(buf, 16, 0));
}

__attribute__((target("pclmul,sse4.1,ssse3"))) static uint16_t crc16_pclmul(const uint8_t *p,
                                                                            size_t n,
                                                                            uint16_t crc) {
    if (n < 256) return crc16_slice16(p, n, crc);
    /* Byte reversal makes the lane value the block polynomial, first bit at x^127. */
    const __m128i rev = _mm_setr_epi8(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const __m128i k8 = _mm_set_epi64x(CRC16_XPOW_1088, CRC16_XPOW_1024);
    const __m128i k1 = _mm_set_epi64x(CRC16_XPOW_192, CRC16_XPOW_128);
    __m128i x0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 0)), rev);
    __m128i x1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16)), rev);
    __m128i x2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 32)), rev);
    __m128i x3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 48)), rev);
    __m128i x4 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 64)), rev);
    __m128i x5 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 80)), rev);
    __m128i x6 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 96)), rev);
    __m128i x7 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 112)), rev);
    /* The init value is XORed into the first 16 message bits. */
    x0 = _mm_xor_si128(x0, _mm_set_epi16((short)crc, 0, 0, 0, 0, 0, 0, 0));
    p += 128;
    n -= 128;
    /* Eight independent accumulators, each folded forward by 8 blocks (1024 bits). */
    while (n >= 128) {
#define STEP(x, off) \
    x = _mm_xor_si128(CRC16_FOLD(x, k8), \
                      _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + (off))), rev))
        STEP(x0, 0);
        STEP(x1, 16);
        STEP(x2, 32);
        STEP(x3, 48);
        STEP(x4, 64);
        STEP(x5, 80);
        STEP(x6, 96);
        STEP(x7, 112);
#undef STEP
        p += 128;
        n -= 128;
    }
    __m128i a = x0;
    a = _mm_xor_si128(CRC16_FOLD(a, k1), x1);
    a = _mm_xor_si128(CRC16_FOLD(a, k1), x2);
    a = _mm_xor_si128(CRC16_FOLD(a, k1), x3);
    a = _mm_xor_si128(CRC16_FOLD(a, k1), x4);
    a = _mm_xor_si128(CRC16_FOLD(a, k1), x5);
    a = _mm_xor_si128(CRC16_FOLD(a, k1), x6);
    a = _mm_xor_si128(CRC16_FOLD(a, k1), x7);
    return crc16_pclmul_finish(a, p, n);
}

/* The same folding with 512-bit registers: four 128-bit lanes per VPCLMULQDQ, four
 * accumulators (256 bytes per step, folded forward by 2048 bits), then the four registers and
 * the four lanes of the last one are folded into one 128-bit accumulator. */
#define CRC16_FOLD512(acc, k)                                                          \
    _mm512_xor_si512(_mm512_clmulepi64_epi128((acc), (k), 0x11),                      \
                     _mm512_clmulepi64_epi128((acc), (k), 0x00))

__attribute__((target("vpclmulqdq,avx512f,avx512bw,pclmul,sse4.1,ssse3"))) static uint16_t
crc16_vpclmul(const uint8_t *p, size_t n, uint16_t crc) {
    if (n < 1024) return crc16_pclmul(p, n, crc);
    const __m512i rev = _mm512_broadcast_i32x4(
        _mm_setr_epi8(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
    const __m512i k4 = _mm512_broadcast_i32x4(_mm_set_epi64x(CRC16_XPOW_2112, CRC16_XPOW_2048));
    const __m512i k1 = _mm512_broadcast_i32x4(_mm_set_epi64x(CRC16_XPOW_576, CRC16_XPOW_512));
    __m512i x0 = _mm512_shuffle_epi8(_mm512_loadu_si512((const void *)(p + 0)), rev);
    __m512i x1 = _mm512_shuffle_epi8(_mm512_loadu_si512((const void *)(p + 64)), rev);
    __m512i x2 = _mm512_shuffle_epi8(_mm512_loadu_si512((const void *)(p + 128)), rev);
    __m512i x3 = _mm512_shuffle_epi8(_mm512_loadu_si512((const void *)(p + 192)), rev);
    /* Lane 0 of x0 is the first 16-byte block: the init value goes into its top 16 bits. */
    x0 = _mm512_xor_si512(
        x0, _mm512_zextsi128_si512(_mm_set_epi16((short)crc, 0, 0, 0, 0, 0, 0, 0)));
    p += 256;
    n -= 256;
    while (n >= 256) {
#define STEP512(x, off)                                                         \
    x = _mm512_ternarylogic_epi64(                                              \
        _mm512_clmulepi64_epi128(x, k4, 0x11), _mm512_clmulepi64_epi128(x, k4, 0x00), \
        _mm512_shuffle_epi8(_mm512_loadu_si512((const void *)(p + (off))), rev), 0x96)
        STEP512(x0, 0);
        STEP512(x1, 64);
        STEP512(x2, 128);
        STEP512(x3, 192);
#undef STEP512
        p += 256;
        n -= 256;
    }
    __m512i a = x0;
    a = _mm512_xor_si512(CRC16_FOLD512(a, k1), x1);
    a = _mm512_xor_si512(CRC16_FOLD512(a, k1), x2);
    a = _mm512_xor_si512(CRC16_FOLD512(a, k1), x3);
    while (n >= 64) {
        a = _mm512_xor_si512(CRC16_FOLD512(a, k1),
                             _mm512_shuffle_epi8(_mm512_loadu_si512((const void *)p), rev));
        p += 64;
        n -= 64;
    }
    /* Lanes 0..3 hold consecutive 16-byte positions: fold them in order into one. */
    const __m128i k128 = _mm_set_epi64x(CRC16_XPOW_192, CRC16_XPOW_128);
    __m128i b = _mm512_extracti32x4_epi32(a, 0);
    b = _mm_xor_si128(CRC16_FOLD(b, k128), _mm512_extracti32x4_epi32(a, 1));
    b = _mm_xor_si128(CRC16_FOLD(b, k128), _mm512_extracti32x4_epi32(a, 2));
    b = _mm_xor_si128(CRC16_FOLD(b, k128), _mm512_extracti32x4_epi32(a, 3));
    return crc16_pclmul_finish(b, p, n);
}
#endif

int32_t satnode_crc16(const void *data, size_t n, uint16_t init, int impl) {
    const uint8_t *p = (const uint8_t *)data;
    switch (satnode_crc16_impl(impl)) {
        case IMPL_TABLE: return crc16_slice16(p, n, init);
#if SATNODE_X86
        case IMPL_SIMD: return crc16_pclmul(p, n, init);
        case IMPL_SIMD512: return crc16_vpclmul(p, n, init);
#endif
        default: return -1;
    }
}

/* ------------------------------------------------------------------------- CRC-32C --- */

int satnode_crc32c_impl(int requested) {
    int best = (satnode_cpu_features() & SATNODE_CPU_SSE42) ? IMPL_SIMD : IMPL_TABLE;
    if (requested == 0) return best;
    if (requested < IMPL_TABLE || requested > best) return -1;
    return requested;
}

/* Raw reflected register (no inversions). */
static uint32_t crc32c_slice8(const uint8_t *p, size_t n, uint32_t crc) {
    while (n >= 8) {
        uint64_t w = satnode_load_le64(p) ^ crc;
        crc = CRC32C_T[7][w & 0xFF] ^ CRC32C_T[6][(w >> 8) & 0xFF] ^
              CRC32C_T[5][(w >> 16) & 0xFF] ^ CRC32C_T[4][(w >> 24) & 0xFF] ^
              CRC32C_T[3][(w >> 32) & 0xFF] ^ CRC32C_T[2][(w >> 40) & 0xFF] ^
              CRC32C_T[1][(w >> 48) & 0xFF] ^ CRC32C_T[0][w >> 56];
        p += 8;
        n -= 8;
    }
    while (n--) crc = (crc >> 8) ^ CRC32C_T[0][(crc ^ *p++) & 0xFF];
    return crc;
}

#if SATNODE_X86
/* "Append N zero bytes" on the raw register, as four byte tables (linear operator). */
static inline uint32_t crc32c_shift(const uint32_t t[4][256], uint32_t crc) {
    return t[0][crc & 0xFF] ^ t[1][(crc >> 8) & 0xFF] ^ t[2][(crc >> 16) & 0xFF] ^
           t[3][crc >> 24];
}

#define CRC32C_3WAY(BLK, TABLE)                                                     \
    while (n >= 3 * (size_t)(BLK)) {                                                \
        uint64_t c0 = crc, c1 = 0, c2 = 0;                                          \
        const uint8_t *end = p + (BLK);                                             \
        do {                                                                        \
            c0 = _mm_crc32_u64(c0, satnode_load_le64(p));                           \
            c1 = _mm_crc32_u64(c1, satnode_load_le64(p + (BLK)));                   \
            c2 = _mm_crc32_u64(c2, satnode_load_le64(p + 2 * (BLK)));               \
            p += 8;                                                                 \
        } while (p < end);                                                          \
        crc = crc32c_shift(TABLE, crc32c_shift(TABLE, (uint32_t)c0) ^ (uint32_t)c1) \
              ^ (uint32_t)c2;                                                       \
        p += 2 * (size_t)(BLK);                                                     \
        n -= 3 * (size_t)(BLK);                                                     \
    }

__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(const uint8_t *p, size_t n,
                                                               uint32_t crc) {
    while (n && ((uintptr_t)p & 7)) {
        crc = _mm_crc32_u8(crc, *p++);
        n--;
    }
    /* Three streams hide the 3-cycle latency of crc32; the zero-append operator joins them. */
    CRC32C_3WAY(CRC32C_LONG, CRC32C_SHIFT_LONG_T)
    CRC32C_3WAY(CRC32C_SHORT, CRC32C_SHIFT_SHORT_T)
    uint64_t c = crc;
    while (n >= 8) {
        c = _mm_crc32_u64(c, satnode_load_le64(p));
        p += 8;
        n -= 8;
    }
    crc = (uint32_t)c;
    while (n--) crc = _mm_crc32_u8(crc, *p++);
    return crc;
}
#endif

int64_t satnode_crc32c(const void *data, size_t n, uint32_t prev, int impl) {
    const uint8_t *p = (const uint8_t *)data;
    switch (satnode_crc32c_impl(impl)) {
        case IMPL_TABLE: return (int64_t)(uint32_t)~crc32c_slice8(p, n, ~prev);
#if SATNODE_X86
        case IMPL_SIMD: return (int64_t)(uint32_t)~crc32c_sse42(p, n, ~prev);
#endif
        default: return -1;
    }
}
