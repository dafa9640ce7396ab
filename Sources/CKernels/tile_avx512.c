// AVX-512 register tiles: up to 8 rows × 32 columns in sixteen zmm accumulators, half the
// broadcasts of A per multiply-add of the 6 × 16 AVX2 tile (measured on Zen 4: the FFN's first
// product at d = 64 ran 105 → 113 GFLOP/s on one core at 6 rows). TiledGEMM packs A in groups of
// 6; attention's strips take 8 rows, which loads each key and value a quarter fewer times from
// L2 (the backward at d = 128 ran 1–3 % faster). Not 12 × 32: with 24 accumulators clang
// spilled and the tile fell to 49 GFLOP/s.
#include "loom_kernels.h"

#if defined(__x86_64__)
#include "tiles_avx512.h"

LOOM_AVX512 void loom_tile_avx512_32(int rows, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                                     const float *b, ptrdiff_t ldb, ptrdiff_t panel_stride,
                                     float *c, ptrdiff_t ldc, float alpha, int accumulate, int relu,
                                     const float *mask, ptrdiff_t ldm) {
#define LOOM_ROWS(n) loom_block_32(n, k, a, row_stride, k_stride, b, ldb, panel_stride, c, ldc, alpha, accumulate, relu, mask, ldm)
    LOOM_FOR_ROWS_UP_TO_8(rows, LOOM_ROWS)
#undef LOOM_ROWS
}

LOOM_AVX512 void loom_tile_avx512_16(int rows, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                                     const float *b, ptrdiff_t ldb,
                                     float *c, ptrdiff_t ldc, float alpha, int accumulate, int relu,
                                     const float *mask, ptrdiff_t ldm) {
#define LOOM_ROWS(n) loom_block_16(n, k, a, row_stride, k_stride, b, ldb, c, ldc, alpha, accumulate, relu, mask, ldm, 16)
    LOOM_FOR_ROWS_UP_TO_8(rows, LOOM_ROWS)
#undef LOOM_ROWS
}

#else
// Not x86-64: `loom_cpu_has_avx512f` is 0, so these are never called.
void loom_tile_avx512_32(int rows, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                         const float *b, ptrdiff_t ldb, ptrdiff_t panel_stride,
                         float *c, ptrdiff_t ldc, float alpha, int accumulate, int relu,
                         const float *mask, ptrdiff_t ldm) {
    (void)rows; (void)k; (void)a; (void)row_stride; (void)k_stride; (void)b; (void)ldb; (void)panel_stride;
    (void)c; (void)ldc; (void)alpha; (void)accumulate; (void)relu; (void)mask; (void)ldm;
    __builtin_trap();
}
void loom_tile_avx512_16(int rows, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                         const float *b, ptrdiff_t ldb,
                         float *c, ptrdiff_t ldc, float alpha, int accumulate, int relu,
                         const float *mask, ptrdiff_t ldm) {
    (void)rows; (void)k; (void)a; (void)row_stride; (void)k_stride; (void)b; (void)ldb;
    (void)c; (void)ldc; (void)alpha; (void)accumulate; (void)relu; (void)mask; (void)ldm;
    __builtin_trap();
}
#endif
