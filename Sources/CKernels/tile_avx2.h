// The AVX2 register tile shared by CKernels' files (private to the target): tile_avx2.c's entry
// points and the fused small-T attention (attention_avx2.c) run this one loop.
#ifndef LOOM_TILE_AVX2_H
#define LOOM_TILE_AVX2_H

#if defined(__x86_64__)
#include <immintrin.h>
#include <stddef.h>
#include "row_switch.h"

#define LOOM_AVX2_TILE __attribute__((target("avx2,fma")))

// Steps before the block's end at which it asks for the rows of C it adds to (and of the mask),
// as the AVX-512 tiles do (tiles_avx512.h).
#define LOOM_AVX2_C_AHEAD 64

// One step of the inner dimension: A(r, p) at rows[r] + off, B's 16 floats at bp.
#define LOOM_AVX2_STEP(off, bp) { \
        const __m256 b0_ = _mm256_loadu_ps(bp), b1_ = _mm256_loadu_ps((bp) + 8); \
        for (int r_ = 0; r_ < rows; r_++) { \
            const __m256 x_ = _mm256_broadcast_ss(row[r_] + (off)); \
            low[r_] = _mm256_fmadd_ps(x_, b0_, low[r_]); \
            high[r_] = _mm256_fmadd_ps(x_, b1_, high[r_]); \
        } }

// `rows` is a constant at every call (LOOM_FOR_ROWS), so the loops over rows unroll and the
// accumulators stay in registers. k_stride == 1 (A's rows in place) and any other stride (A
// packed in strips, or transposed in place) each get a loop unrolled by four. Only the first
// `width` (≤ 16) columns of C are written; a caller passing width < 16 passes accumulate, relu
// and mask as 0, since C is then not read (the fused attention's edge blocks).
LOOM_INLINE LOOM_AVX2_TILE void avx2_block(const int rows, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                                      const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, float alpha, int accumulate,
                                      int relu, const float *mask, ptrdiff_t ldm, int width) {
    __m256 low[6], high[6];
    const float *row[6];
    for (int r = 0; r < rows; r++) {
        low[r] = _mm256_setzero_ps();
        high[r] = _mm256_setzero_ps();
        row[r] = a + r * row_stride;
    }
    const float *pb = b;
    const ptrdiff_t ahead = k > LOOM_AVX2_C_AHEAD ? k - LOOM_AVX2_C_AHEAD : 0;
    ptrdiff_t p = 0;
    if (k_stride == 1) {
        for (; p + 4 <= k; p += 4) {
            if (p <= ahead && ahead < p + 4) {
                for (int r = 0; r < rows; r++) {
                    if (accumulate) { _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0); _mm_prefetch((const char *)(c + r * ldc + 15), _MM_HINT_T0); }
                    if (mask) { _mm_prefetch((const char *)(mask + r * ldm), _MM_HINT_T0); _mm_prefetch((const char *)(mask + r * ldm + 15), _MM_HINT_T0); }
                }
            }
            LOOM_AVX2_STEP(0, pb) LOOM_AVX2_STEP(1, pb + ldb) LOOM_AVX2_STEP(2, pb + 2 * ldb) LOOM_AVX2_STEP(3, pb + 3 * ldb)
            for (int r = 0; r < rows; r++) row[r] += 4;
            pb += 4 * ldb;
        }
    } else {
        for (; p + 4 <= k; p += 4) {
            if (p <= ahead && ahead < p + 4) {
                for (int r = 0; r < rows; r++) {
                    if (accumulate) { _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0); _mm_prefetch((const char *)(c + r * ldc + 15), _MM_HINT_T0); }
                    if (mask) { _mm_prefetch((const char *)(mask + r * ldm), _MM_HINT_T0); _mm_prefetch((const char *)(mask + r * ldm + 15), _MM_HINT_T0); }
                }
            }
            LOOM_AVX2_STEP(0, pb) LOOM_AVX2_STEP(k_stride, pb + ldb)
            LOOM_AVX2_STEP(2 * k_stride, pb + 2 * ldb) LOOM_AVX2_STEP(3 * k_stride, pb + 3 * ldb)
            for (int r = 0; r < rows; r++) row[r] += 4 * k_stride;
            pb += 4 * ldb;
        }
    }
    for (; p < k; p++) {
        LOOM_AVX2_STEP(0, pb)
        for (int r = 0; r < rows; r++) row[r] += k_stride;
        pb += ldb;
    }
    const __m256 scale = _mm256_set1_ps(alpha), zero = _mm256_setzero_ps();
    for (int r = 0; r < rows; r++) {
        float *out = c + r * ldc;
        __m256 x0 = _mm256_mul_ps(low[r], scale), x1 = _mm256_mul_ps(high[r], scale);
        if (accumulate) { x0 = _mm256_add_ps(_mm256_loadu_ps(out), x0); x1 = _mm256_add_ps(_mm256_loadu_ps(out + 8), x1); }
        // maxps returns its second operand when either is NaN: (0, x) keeps a NaN x, and -0 stays -0,
        // as Swift's `x.replacing(with: 0, where: x .< 0)`.
        if (relu) { x0 = _mm256_max_ps(zero, x0); x1 = _mm256_max_ps(zero, x1); }
        if (mask) {
            const float *m = mask + r * ldm;
            x0 = _mm256_and_ps(_mm256_cmp_ps(_mm256_loadu_ps(m), zero, _CMP_GT_OQ), x0);
            x1 = _mm256_and_ps(_mm256_cmp_ps(_mm256_loadu_ps(m + 8), zero, _CMP_GT_OQ), x1);
        }
        if (width >= 16) {
            _mm256_storeu_ps(out, x0);
            _mm256_storeu_ps(out + 8, x1);
        } else {
            const __m256i n = _mm256_set1_epi32(width);
            _mm256_maskstore_ps(out, _mm256_cmpgt_epi32(n, _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)), x0);
            _mm256_maskstore_ps(out + 8, _mm256_cmpgt_epi32(n, _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15)), x1);
        }
    }
}
#undef LOOM_AVX2_STEP

#endif
#endif
