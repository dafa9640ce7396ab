// The AVX2 register tile in C: up to 6 rows × 16 columns of C in twelve ymm accumulators, the
// same bits as Swift's RegisterTile (each element one chain of FMAs from 0 over the inner
// dimension, × alpha, + C when accumulating, then the ReLU or the mask).
//
// Why C when the Swift tile reaches the same peak on data in L1: Swift's loop recomputed each A
// row's address every step (about 27 instructions per 12 FMAs) and could not be made to unroll
// with fixed row pointers. On Zen 3 (one thread, n = 4096, four alternated rounds) attention's
// median ratio to sgemm rose 0.75 → 0.81 forward and 0.66 → 0.72 backward at d = 64, 0.76 → 0.81
// backward at d = 128, level forward at d = 128 (BENCHMARKS.md).
#include "loom_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <stddef.h>
#include "row_switch.h"

#define LOOM_AVX2 __attribute__((target("avx2,fma")))

// Steps before the block's end at which it asks for the rows of C it adds to (and of the mask),
// as the AVX-512 tiles do (tiles_avx512.h).
#define LOOM_AVX2_C_AHEAD 64

// Asks for the rows of C the block will add to, and of its mask.
#define LOOM_AVX2_PREFETCH_C \
    for (int r_ = 0; r_ < rows; r_++) { \
        if (accumulate) { _mm_prefetch((const char *)(c + r_ * ldc), _MM_HINT_T0); _mm_prefetch((const char *)(c + r_ * ldc + 15), _MM_HINT_T0); } \
        if (mask) { _mm_prefetch((const char *)(mask + r_ * ldm), _MM_HINT_T0); _mm_prefetch((const char *)(mask + r_ * ldm + 15), _MM_HINT_T0); } \
    }

// One step of the inner dimension: A(r, p) at rows[r] + off, B's 16 floats at bp.
#define LOOM_AVX2_STEP(off, bp) { \
        const __m256 b0_ = _mm256_loadu_ps(bp), b1_ = _mm256_loadu_ps((bp) + 8); \
        for (int r_ = 0; r_ < rows; r_++) { \
            const __m256 x_ = _mm256_broadcast_ss(row[r_] + (off)); \
            low[r_] = _mm256_fmadd_ps(x_, b0_, low[r_]); \
            high[r_] = _mm256_fmadd_ps(x_, b1_, high[r_]); \
        } }

// `rows` is a constant at every call (LOOM_FOR_ROWS), so the loops over rows unroll and the
// accumulators stay in registers. k_stride == 1 (A's rows in place) and row_stride == 1 (A packed
// in strips, or transposed in place) each get a loop whose addresses are constant offsets.
LOOM_INLINE LOOM_AVX2 void avx2_block(const int rows, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                                      const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, float alpha, int accumulate,
                                      int relu, const float *mask, ptrdiff_t ldm) {
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
    // The loop in two at the prefetch of C, rather than a test in every step: ahead in 22 of 24
    // paired cases of a C harness (k = 64 to 512), a training step 1–5 % (BENCHMARKS.md).
    const ptrdiff_t split = ahead / 4 * 4;
#define LOOM_FOUR_IN_PLACE \
            LOOM_AVX2_STEP(0, pb) LOOM_AVX2_STEP(1, pb + ldb) LOOM_AVX2_STEP(2, pb + 2 * ldb) LOOM_AVX2_STEP(3, pb + 3 * ldb) \
            for (int r = 0; r < rows; r++) row[r] += 4; \
            pb += 4 * ldb;
#define LOOM_FOUR_STRIDED \
            LOOM_AVX2_STEP(0, pb) LOOM_AVX2_STEP(k_stride, pb + ldb) \
            LOOM_AVX2_STEP(2 * k_stride, pb + 2 * ldb) LOOM_AVX2_STEP(3 * k_stride, pb + 3 * ldb) \
            for (int r = 0; r < rows; r++) row[r] += 4 * k_stride; \
            pb += 4 * ldb;
    if (k_stride == 1) {
        for (; p + 4 <= split; p += 4) { LOOM_FOUR_IN_PLACE }
        LOOM_AVX2_PREFETCH_C
        for (; p + 4 <= k; p += 4) { LOOM_FOUR_IN_PLACE }
    } else {
        for (; p + 4 <= split; p += 4) { LOOM_FOUR_STRIDED }
        LOOM_AVX2_PREFETCH_C
        for (; p + 4 <= k; p += 4) { LOOM_FOUR_STRIDED }
    }
#undef LOOM_FOUR_IN_PLACE
#undef LOOM_FOUR_STRIDED
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
        _mm256_storeu_ps(out, x0);
        _mm256_storeu_ps(out + 8, x1);
    }
}
#undef LOOM_AVX2_STEP
#undef LOOM_AVX2_PREFETCH_C

// Each entry point below calls its body with the strides Loom passes as literals (LOOM_BY_STRIDES,
// row_switch.h): on Zen 3 (a C harness, one block per call, against an FMA loop) the tile went
// from 0.63 to 0.79 of the FMA peak at k = 64 with A packed, from 0.71 to 0.77 in place, and 2–3 %
// at k = 256; a training step 1–6 % (BENCHMARKS.md).

LOOM_INLINE LOOM_AVX2 void avx2_rows(int rows, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                                     const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, float alpha, int accumulate,
                                     int relu, const float *mask, ptrdiff_t ldm) {
#define LOOM_ROWS(n) avx2_block(n, k, a, row_stride, k_stride, b, ldb, c, ldc, alpha, accumulate, relu, mask, ldm)
    LOOM_FOR_ROWS(rows, LOOM_ROWS)
#undef LOOM_ROWS
}

LOOM_AVX2 void loom_tile_avx2_16(int rows, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                                 const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, float alpha, int accumulate,
                                 int relu, const float *mask, ptrdiff_t ldm) {
#define LOOM_CALL(rs, ks, lb) avx2_rows(rows, k, a, rs, ks, b, lb, c, ldc, alpha, accumulate, relu, mask, ldm)
    LOOM_BY_STRIDES(LOOM_CALL, row_stride, k_stride, ldb)
#undef LOOM_CALL
}

LOOM_INLINE LOOM_AVX2 void avx2_strip(int rows, ptrdiff_t k, const float *a, ptrdiff_t lda, ptrdiff_t k_stride,
                                      const float *b, ptrdiff_t ldb, ptrdiff_t panel_stride, int count, float *c,
                                      ptrdiff_t ldc, float alpha, int accumulate) {
#define LOOM_ROWS(n) \
    for (int p = 0; p < count; p++) \
        avx2_block(n, k, a, lda, k_stride, b + p * panel_stride, ldb, c + p * 16, ldc, alpha, accumulate, 0, NULL, 0)
    LOOM_FOR_ROWS(rows, LOOM_ROWS)
#undef LOOM_ROWS
}

LOOM_AVX2 void loom_strip_avx2(int rows, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                               ptrdiff_t panel_stride, int count, float *c, ptrdiff_t ldc, float alpha, int accumulate) {
#define LOOM_CALL(rs, ks, lb) avx2_strip(rows, k, a, rs, ks, b, lb, panel_stride, count, c, ldc, alpha, accumulate)
    LOOM_BY_STRIDES(LOOM_CALL, lda, 1, ldb)
#undef LOOM_CALL
}

// Rows 0..<m in strips of 6 against one panel (see loom_column_avx2), all but a last short strip.
LOOM_INLINE LOOM_AVX2 int avx2_full_strips(int m, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                                           ptrdiff_t strip_stride, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                                           float alpha, int accumulate, int relu, const float *mask, ptrdiff_t ldm) {
    int i = 0;
    for (; i + 6 <= m; i += 6, a += strip_stride, c += 6 * ldc, mask = mask ? mask + 6 * ldm : NULL)
        avx2_block(6, k, a, row_stride, k_stride, b, ldb, c, ldc, alpha, accumulate, relu, mask, ldm);
    return i;
}

// A column of blocks: rows 0..<m of A (strips of 6, `strip_stride` floats apart) against one
// panel of B, into C's rows 0..<m (and the mask's); TiledGEMM's row group in one call rather than
// one call per strip, each block the same bits as loom_tile_avx2_16.
LOOM_AVX2 void loom_column_avx2(int m, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                                ptrdiff_t strip_stride, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                                float alpha, int accumulate, int relu, const float *mask, ptrdiff_t ldm) {
    int i;
#define LOOM_CALL(rs, ks, lb) i = avx2_full_strips(m, k, a, rs, ks, strip_stride, b, lb, c, ldc, alpha, accumulate, relu, mask, ldm)
    LOOM_BY_STRIDES(LOOM_CALL, row_stride, k_stride, ldb)
#undef LOOM_CALL
    const ptrdiff_t strips = i / 6;
    if (i < m) loom_tile_avx2_16(m - i, k, a + strips * strip_stride, row_stride, k_stride, b, ldb, c + i * ldc, ldc, alpha,
                                 accumulate, relu, mask ? mask + i * ldm : NULL, ldm);
}

#else
// Not x86-64: `loom_cpu_has_avx2_fma` is 0, so these are never called.
void loom_tile_avx2_16(int rows, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                       const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, float alpha, int accumulate,
                       int relu, const float *mask, ptrdiff_t ldm) {
    (void)rows; (void)k; (void)a; (void)row_stride; (void)k_stride; (void)b; (void)ldb; (void)c; (void)ldc;
    (void)alpha; (void)accumulate; (void)relu; (void)mask; (void)ldm;
    __builtin_trap();
}
void loom_column_avx2(int m, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                      ptrdiff_t strip_stride, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                      float alpha, int accumulate, int relu, const float *mask, ptrdiff_t ldm) {
    (void)m; (void)k; (void)a; (void)row_stride; (void)k_stride; (void)strip_stride; (void)b; (void)ldb; (void)c; (void)ldc;
    (void)alpha; (void)accumulate; (void)relu; (void)mask; (void)ldm;
    __builtin_trap();
}
void loom_strip_avx2(int rows, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                     ptrdiff_t panel_stride, int count, float *c, ptrdiff_t ldc, float alpha, int accumulate) {
    (void)rows; (void)k; (void)a; (void)lda; (void)b; (void)ldb; (void)panel_stride; (void)count; (void)c; (void)ldc;
    (void)alpha; (void)accumulate;
    __builtin_trap();
}
#endif
