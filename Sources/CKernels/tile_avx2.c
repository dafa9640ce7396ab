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
#include "tile_avx2.h"

#define LOOM_AVX2 LOOM_AVX2_TILE

LOOM_AVX2 void loom_tile_avx2_16(int rows, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                                 const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, float alpha, int accumulate,
                                 int relu, const float *mask, ptrdiff_t ldm) {
#define LOOM_ROWS(n) avx2_block(n, k, a, row_stride, k_stride, b, ldb, c, ldc, alpha, accumulate, relu, mask, ldm, 16)
    LOOM_FOR_ROWS(rows, LOOM_ROWS)
#undef LOOM_ROWS
}

LOOM_AVX2 void loom_strip_avx2(int rows, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                               ptrdiff_t panel_stride, int count, float *c, ptrdiff_t ldc, float alpha, int accumulate) {
#define LOOM_ROWS(n) \
    for (int p = 0; p < count; p++) \
        avx2_block(n, k, a, lda, 1, b + p * panel_stride, ldb, c + p * 16, ldc, alpha, accumulate, 0, NULL, 0, 16)
    LOOM_FOR_ROWS(rows, LOOM_ROWS)
#undef LOOM_ROWS
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
void loom_strip_avx2(int rows, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                     ptrdiff_t panel_stride, int count, float *c, ptrdiff_t ldc, float alpha, int accumulate) {
    (void)rows; (void)k; (void)a; (void)lda; (void)b; (void)ldb; (void)panel_stride; (void)count; (void)c; (void)ldc;
    (void)alpha; (void)accumulate;
    __builtin_trap();
}
#endif
