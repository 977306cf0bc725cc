/* Public declarations of satnode's C kernels. This header is also fed to cffi's cdef, so it
 * holds only plain C declarations (no macros, no includes; the includer provides <stdint.h>
 * and <stddef.h>).
 *
 * Conventions
 * - Byte buffers are `const void *` so that cffi passes a Python bytes object without a copy.
 * - Kernels never allocate; the Python wrappers (native/_secded.py, _tmr.py, _crc.py) check
 *   shape, dtype, alignment and contiguity and allocate every output.
 * - `impl` selects a CPU variant: 0 = the best one this CPU supports (runtime detection with
 *   __builtin_cpu_supports), otherwise one of the ids below. A kernel asked for a variant the
 *   CPU (or this build) does not support does nothing and returns -1.
 *     SECDED: 1 byte tables (portable), 2 AVX2 nibble shuffles, 3 AVX2+GFNI, 4 AVX-512 VBMI+GFNI
 *     TMR:    1 portable, 2 AVX2
 *     CRC-16: 1 slicing-by-16 tables (portable), 2 PCLMULQDQ folding, 3 VPCLMULQDQ (AVX-512)
 *     CRC-32C: 1 slicing-by-8 tables (portable), 2 SSE4.2 crc32, 3-way interleaved
 * - satnode_*_impl(requested) returns the variant a kernel call with that `impl` would run
 *   (-1 if unsupported); it is what the backend report shows.
 */
int satnode_abi_version(void);
unsigned int satnode_cpu_features(void);

int satnode_secded_impl(int requested);
/* checks[i] = H_data . data[i]. Returns 0, or -1 for an unsupported impl. */
int satnode_secded_encode(const uint64_t *data, uint8_t *checks, size_t n, int impl);
/* Classify every word. counts (int64[4], overwritten): single data-bit errors, single
 * check-bit errors, double errors (even syndrome), odd uncorrectable syndromes. The first
 * idx_cap indices of uncorrectable words go to idx in increasing order. Returns the number of
 * uncorrectable words (counts[2] + counts[3]) or -1. */
int64_t satnode_secded_check(const uint64_t *data, const uint8_t *checks, size_t n,
                             int64_t *counts, int64_t *idx, size_t idx_cap, int impl);
/* As satnode_secded_check, and corrects every single-bit error in place (data or check
 * bit). Uncorrectable words are left untouched. */
int64_t satnode_secded_scrub(uint64_t *data, uint8_t *checks, size_t n,
                             int64_t *counts, int64_t *idx, size_t idx_cap, int impl);

int satnode_tmr_impl(int requested);
/* out[i] = majority(a[i], b[i], c[i]) bitwise; out may be a, b or c. Returns the number of
 * words where the three replicas are not all equal, or -1. */
int64_t satnode_tmr_vote(const uint64_t *a, const uint64_t *b, const uint64_t *c,
                         uint64_t *out, size_t n, int impl);
/* Votes and rewrites only the replicas that differ from the vote. Returns the number of
 * words where the replicas were not all equal (each such word is repaired), or -1. */
int64_t satnode_tmr_repair(uint64_t *a, uint64_t *b, uint64_t *c, size_t n, int impl);

int satnode_crc16_impl(int requested);
/* CRC-16-CCITT-FALSE of the n bytes at data, continuing from `init` (0xFFFF for a fresh CRC). Returns the
 * CRC (0..65535) or -1. */
int32_t satnode_crc16(const void *data, size_t n, uint16_t init, int impl);

int satnode_crc32c_impl(int requested);
/* CRC-32C of the n bytes at data, continuing from the previous CRC value `prev` (0 for a fresh CRC);
 * pre- and post-inversion included. Returns the CRC (0..2^32-1) or -1. */
int64_t satnode_crc32c(const void *data, size_t n, uint32_t prev, int impl);
