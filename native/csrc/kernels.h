/* Private helpers shared by satnode's C kernels (not part of the cffi interface). */
#ifndef SATNODE_KERNELS_H
#define SATNODE_KERNELS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "satnode.h"

/* x86-64 SIMD variants are compiled per function with __attribute__((target(...))) and chosen
 * at run time, so the build never needs -march=native and runs on any x86-64 CPU. Other
 * architectures (and builds with -DSATNODE_PORTABLE_ONLY, used to check that path compiles)
 * get only the portable variants. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(SATNODE_PORTABLE_ONLY)
#define SATNODE_X86 1
#include <immintrin.h>
#else
#define SATNODE_X86 0
#endif

/* Bits of satnode_cpu_features(). */
#define SATNODE_CPU_PCLMUL 0x01u      /* PCLMULQDQ + SSE4.1 (+SSSE3) */
#define SATNODE_CPU_SSE42 0x02u       /* SSE4.2 crc32 */
#define SATNODE_CPU_AVX2 0x04u        /* AVX2 (OS saves YMM state) */
#define SATNODE_CPU_GFNI 0x08u        /* GFNI with AVX (VEX-encoded GF2P8AFFINEQB) */
#define SATNODE_CPU_AVX512VBMI 0x10u  /* AVX-512 F+BW+VBMI and GFNI (OS saves ZMM state) */
#define SATNODE_CPU_VPCLMUL512 0x20u  /* VPCLMULQDQ with AVX-512 F+BW, and PCLMUL */

static inline uint64_t satnode_load_le64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

#endif
