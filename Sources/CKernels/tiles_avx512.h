// The AVX-512 register tiles shared by CKernels' files (private to the target): one body per
// row count (row_switch.h), each block's accumulators in zmm registers.
#ifndef LOOM_TILES_AVX512_H
#define LOOM_TILES_AVX512_H

#if defined(__x86_64__)
#include <immintrin.h>
#include <stddef.h>
#include "row_switch.h"
#include "exp_core.h"

#define LOOM_AVX512 __attribute__((target("avx512f,fma")))

// Steps before a block's end at which it asks for the rows of C it will add to (and of the mask):
// a product with more than one chunk of the inner dimension reads C back from L3 or memory, a
// stall at each block's end that nothing overlapped (Zen 4, d = 256, one core: the FFN's second
// product 94–101 → 103–108 GFLOP/s). 64 steps are some 400 cycles of multiply-adds.
#define LOOM_C_AHEAD 64

// Prefetches `rows` rows of `width` floats (16 or 32), `ld` apart.
#define LOOM_PREFETCH_ROWS(base, ld, rows, width) \
    for (int r_ = 0; r_ < (rows); r_++) { \
        _mm_prefetch((const char *)((base) + r_ * (ld)), _MM_HINT_T0); \
        if ((width) > 16) _mm_prefetch((const char *)((base) + r_ * (ld) + 16), _MM_HINT_T0); \
    }

// A block's k steps in two loops around the prefetch of C's rows (and the mask's) `ahead` steps
// before the end, rather than a test in every step (BENCHMARKS.md: the same change in the AVX2 tile).
#define LOOM_STEPS_AROUND_PREFETCH(step, width) { \
        ptrdiff_t p_ = 0; \
        for (; p_ < ahead; p_++) step \
        if (accumulate) LOOM_PREFETCH_ROWS(c, ldc, rows, width) \
        if (mask) LOOM_PREFETCH_ROWS(mask, ldm, rows, width) \
        for (; p_ < k; p_++) step }

// Lanes of the 16 from `start` that lie before `end`.
LOOM_INLINE __mmask16 loom_lanes_before(int start, int end) {
    const int n = end - start;
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
}

// `rows` (≤ 8) is a constant at every call (LOOM_FOR_ROWS…), so the loops over rows unroll and the
// accumulators stay in registers. `pf` ≠ 0: each step also asks for A `pf` floats past the one
// it reads (a transposed A read in place: the next chunk's row); 0 at every other call, where
// the test folds away.
LOOM_INLINE LOOM_AVX512 void loom_block_32(const int rows, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                                            const float *b, ptrdiff_t ldb, ptrdiff_t panel_stride,
                                            float *c, ptrdiff_t ldc, float alpha, int accumulate, int relu,
                                            const float *mask, ptrdiff_t ldm, ptrdiff_t pf) {
    __m512 low[8], high[8];
    for (int r = 0; r < rows; r++) { low[r] = _mm512_setzero_ps(); high[r] = _mm512_setzero_ps(); }
    const float *pa = a, *pb = b;
    const ptrdiff_t ahead = k > LOOM_C_AHEAD ? k - LOOM_C_AHEAD : 0;
#define LOOM_STEP_32 { \
        const __m512 b0_ = _mm512_loadu_ps(pb), b1_ = _mm512_loadu_ps(pb + panel_stride); \
        for (int r_ = 0; r_ < rows; r_++) { \
            const __m512 x_ = _mm512_set1_ps(pa[r_ * row_stride]); \
            low[r_] = _mm512_fmadd_ps(x_, b0_, low[r_]); \
            high[r_] = _mm512_fmadd_ps(x_, b1_, high[r_]); \
        } \
        if (pf) _mm_prefetch((const char *)(pa + pf), _MM_HINT_T0); \
        pa += k_stride; \
        pb += ldb; }
    LOOM_STEPS_AROUND_PREFETCH(LOOM_STEP_32, 32)
#undef LOOM_STEP_32
    const __m512 scale = _mm512_set1_ps(alpha), zero = _mm512_setzero_ps();
    for (int r = 0; r < rows; r++) {
        float *out = c + r * ldc;
        __m512 x0 = _mm512_mul_ps(low[r], scale), x1 = _mm512_mul_ps(high[r], scale);
        if (accumulate) { x0 = _mm512_add_ps(_mm512_loadu_ps(out), x0); x1 = _mm512_add_ps(_mm512_loadu_ps(out + 16), x1); }
        // maxps returns its second operand when either is NaN: (0, x) keeps a NaN x, and -0 stays -0.
        if (relu) { x0 = _mm512_max_ps(zero, x0); x1 = _mm512_max_ps(zero, x1); }
        if (mask) {
            const float *m = mask + r * ldm;
            x0 = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(_mm512_loadu_ps(m), zero, _CMP_GT_OQ), x0);
            x1 = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(_mm512_loadu_ps(m + 16), zero, _CMP_GT_OQ), x1);
        }
        _mm512_storeu_ps(out, x0);
        _mm512_storeu_ps(out + 16, x1);
    }
}

// One panel; only the first `width` (≤ 16) columns of C are read and written.
LOOM_INLINE LOOM_AVX512 void loom_block_16(const int rows, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                                            const float *b, ptrdiff_t ldb,
                                            float *c, ptrdiff_t ldc, float alpha, int accumulate, int relu,
                                            const float *mask, ptrdiff_t ldm, int width, ptrdiff_t pf) {
    __m512 sum[8];
    for (int r = 0; r < rows; r++) sum[r] = _mm512_setzero_ps();
    const float *pa = a, *pb = b;
    const ptrdiff_t ahead = k > LOOM_C_AHEAD ? k - LOOM_C_AHEAD : 0;
#define LOOM_STEP_16 { \
        const __m512 b0_ = _mm512_loadu_ps(pb); \
        for (int r_ = 0; r_ < rows; r_++) sum[r_] = _mm512_fmadd_ps(_mm512_set1_ps(pa[r_ * row_stride]), b0_, sum[r_]); \
        if (pf) _mm_prefetch((const char *)(pa + pf), _MM_HINT_T0); \
        pa += k_stride; \
        pb += ldb; }
    LOOM_STEPS_AROUND_PREFETCH(LOOM_STEP_16, 16)
#undef LOOM_STEP_16
    const __m512 scale = _mm512_set1_ps(alpha), zero = _mm512_setzero_ps();
    const __mmask16 kept = loom_lanes_before(0, width);
    for (int r = 0; r < rows; r++) {
        float *out = c + r * ldc;
        __m512 x = _mm512_mul_ps(sum[r], scale);
        if (accumulate) x = _mm512_add_ps(_mm512_maskz_loadu_ps(kept, out), x);
        if (relu) x = _mm512_max_ps(zero, x);
        if (mask) x = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(_mm512_maskz_loadu_ps(kept, mask + r * ldm), zero, _CMP_GT_OQ), x);
        _mm512_mask_storeu_ps(out, kept, x);
    }
}

LOOM_DEFINE_EXP_CORE(loom_exp_core, 512, LOOM_AVX512)

#endif
#endif
