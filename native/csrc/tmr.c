/* Triple modular redundancy: bitwise 2-of-3 majority over uint64 words.
 *
 * vote = (a & b) | (c & (a ^ b)); a word "mismatches" when the three replicas are not all
 * equal ((a ^ b) | (a ^ c) != 0). The vote is memory-bound: the AVX2 variant only makes
 * sure the compute keeps up with the memory system on every CPU. */
#include "kernels.h"

enum { IMPL_PORTABLE = 1, IMPL_AVX2 = 2 };

int satnode_tmr_impl(int requested) {
    int best = (satnode_cpu_features() & SATNODE_CPU_AVX2) ? IMPL_AVX2 : IMPL_PORTABLE;
    if (requested == 0) return best;
    if (requested < IMPL_PORTABLE || requested > best) return -1;
    return requested;
}

/* out may alias a, b or c exactly (same index read before written), so no restrict. */
static int64_t vote_portable(const uint64_t *a, const uint64_t *b, const uint64_t *c,
                             uint64_t *out, size_t n) {
    int64_t m = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t x = a[i], y = b[i], z = c[i];
        out[i] = (x & y) | (z & (x ^ y));
        m += ((x ^ y) | (x ^ z)) != 0;
    }
    return m;
}

/* Rewrites only minority replicas, so clean memory is read, never written (no dirty lines). */
static int64_t repair_words(uint64_t *a, uint64_t *b, uint64_t *c, size_t i0, size_t i1) {
    int64_t m = 0;
    for (size_t i = i0; i < i1; i++) {
        uint64_t x = a[i], y = b[i], z = c[i];
        if (((x ^ y) | (x ^ z)) == 0) continue;
        uint64_t v = (x & y) | (z & (x ^ y));
        if (x != v) a[i] = v;
        if (y != v) b[i] = v;
        if (z != v) c[i] = v;
        m++;
    }
    return m;
}

#if SATNODE_X86
__attribute__((target("avx2"))) static int64_t vote_avx2(const uint64_t *a, const uint64_t *b,
                                                        const uint64_t *c, uint64_t *out,
                                                        size_t n) {
    size_t i = 0;
    __m256i eq = _mm256_setzero_si256(); /* -1 per lane for every all-equal word */
    const __m256i zero = _mm256_setzero_si256();
    for (; i + 8 <= n; i += 8) {
        __m256i x0 = _mm256_loadu_si256((const __m256i *)(a + i));
        __m256i y0 = _mm256_loadu_si256((const __m256i *)(b + i));
        __m256i z0 = _mm256_loadu_si256((const __m256i *)(c + i));
        __m256i x1 = _mm256_loadu_si256((const __m256i *)(a + i + 4));
        __m256i y1 = _mm256_loadu_si256((const __m256i *)(b + i + 4));
        __m256i z1 = _mm256_loadu_si256((const __m256i *)(c + i + 4));
        __m256i d0 = _mm256_xor_si256(x0, y0), d1 = _mm256_xor_si256(x1, y1);
        _mm256_storeu_si256((__m256i *)(out + i),
                            _mm256_or_si256(_mm256_and_si256(x0, y0), _mm256_and_si256(z0, d0)));
        _mm256_storeu_si256((__m256i *)(out + i + 4),
                            _mm256_or_si256(_mm256_and_si256(x1, y1), _mm256_and_si256(z1, d1)));
        __m256i e0 = _mm256_or_si256(d0, _mm256_xor_si256(x0, z0));
        __m256i e1 = _mm256_or_si256(d1, _mm256_xor_si256(x1, z1));
        eq = _mm256_add_epi64(eq, _mm256_cmpeq_epi64(e0, zero));
        eq = _mm256_add_epi64(eq, _mm256_cmpeq_epi64(e1, zero));
    }
    int64_t lanes[4];
    _mm256_storeu_si256((__m256i *)lanes, eq);
    int64_t equal = -(lanes[0] + lanes[1] + lanes[2] + lanes[3]);
    return ((int64_t)i - equal) + vote_portable(a + i, b + i, c + i, out + i, n - i);
}

__attribute__((target("avx2"))) static int64_t repair_avx2(uint64_t *a, uint64_t *b, uint64_t *c,
                                                          size_t n) {
    size_t i = 0;
    int64_t m = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i x0 = _mm256_loadu_si256((const __m256i *)(a + i));
        __m256i x1 = _mm256_loadu_si256((const __m256i *)(a + i + 4));
        __m256i e0 = _mm256_or_si256(
            _mm256_xor_si256(x0, _mm256_loadu_si256((const __m256i *)(b + i))),
            _mm256_xor_si256(x0, _mm256_loadu_si256((const __m256i *)(c + i))));
        __m256i e1 = _mm256_or_si256(
            _mm256_xor_si256(x1, _mm256_loadu_si256((const __m256i *)(b + i + 4))),
            _mm256_xor_si256(x1, _mm256_loadu_si256((const __m256i *)(c + i + 4))));
        __m256i e = _mm256_or_si256(e0, e1);
        if (!_mm256_testz_si256(e, e)) m += repair_words(a, b, c, i, i + 8);
    }
    return m + repair_words(a, b, c, i, n);
}
#endif

int64_t satnode_tmr_vote(const uint64_t *a, const uint64_t *b, const uint64_t *c,
                         uint64_t *out, size_t n, int impl) {
    switch (satnode_tmr_impl(impl)) {
        case IMPL_PORTABLE: return vote_portable(a, b, c, out, n);
#if SATNODE_X86
        case IMPL_AVX2: return vote_avx2(a, b, c, out, n);
#endif
        default: return -1;
    }
}

int64_t satnode_tmr_repair(uint64_t *a, uint64_t *b, uint64_t *c, size_t n, int impl) {
    switch (satnode_tmr_impl(impl)) {
        case IMPL_PORTABLE: return repair_words(a, b, c, 0, n);
#if SATNODE_X86
        case IMPL_AVX2: return repair_avx2(a, b, c, n);
#endif
        default: return -1;
    }
}
