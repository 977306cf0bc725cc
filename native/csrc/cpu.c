/* Runtime CPU feature detection for the per-function SIMD variants. */
#include "kernels.h"

static unsigned int detect(void) {
    unsigned int f = 0;
#if SATNODE_X86
    /* __builtin_cpu_supports also checks that the OS enabled the YMM/ZMM register state. */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1") &&
        __builtin_cpu_supports("ssse3"))
        f |= SATNODE_CPU_PCLMUL;
    if (__builtin_cpu_supports("sse4.2")) f |= SATNODE_CPU_SSE42;
    if (__builtin_cpu_supports("avx2")) f |= SATNODE_CPU_AVX2;
    if ((f & SATNODE_CPU_AVX2) && __builtin_cpu_supports("gfni")) f |= SATNODE_CPU_GFNI;
    if ((f & SATNODE_CPU_GFNI) && __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vbmi"))
        f |= SATNODE_CPU_AVX512VBMI;
    if ((f & SATNODE_CPU_PCLMUL) && __builtin_cpu_supports("vpclmulqdq") &&
        __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"))
        f |= SATNODE_CPU_VPCLMUL512;
#endif
    return f;
}

unsigned int satnode_cpu_features(void) {
    /* Detected once; concurrent first calls compute the same value (relaxed atomics keep
     * that race well-defined). Bit 31 marks "detected". */
    static unsigned int cached = 0;
    unsigned int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v & 0x80000000u) return v & 0x7FFFFFFFu;
    v = detect();
    __atomic_store_n(&cached, v | 0x80000000u, __ATOMIC_RELAXED);
    return v;
}
