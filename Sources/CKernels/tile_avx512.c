// AVX-512 register tiles: up to 8 rows × 32 columns in sixteen zmm accumulators, half the
// broadcasts of A per multiply-add of the 6 × 16 AVX2 tile (measured on Zen 4: the FFN's first
// product at d = 64 ran 105 → 113 GFLOP/s on one core at 6 rows). TiledGEMM packs A in groups of
// 6; attention's strips take 8 rows, which loads each key and value a quarter fewer times from
// L2 (the backward at d = 128 ran 1–3 % faster). Not 12 × 32: with 24 accumulators clang
// spilled and the tile fell to 49 GFLOP/s.
#include "loom_kernels.h"

#if defined(__x86_64__)
#include "tiles_avx512.h"

// Each entry point calls its body with the strides Loom passes as literals (LOOM_BY_STRIDES,
// row_switch.h).

LOOM_INLINE LOOM_AVX512 void rows_32(int rows, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                                     const float *b, ptrdiff_t ldb, ptrdiff_t panel_stride,
                                     float *c, ptrdiff_t ldc, float alpha, int accumulate, int relu,
                                     const float *mask, ptrdiff_t ldm) {
#define LOOM_ROWS(n) loom_block_32(n, k, a, row_stride, k_stride, b, ldb, panel_stride, c, ldc, alpha, accumulate, relu, mask, ldm, 0)
    LOOM_FOR_ROWS_UP_TO_8(rows, LOOM_ROWS)
#undef LOOM_ROWS
}

LOOM_INLINE LOOM_AVX512 void rows_16(int rows, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                                     const float *b, ptrdiff_t ldb,
                                     float *c, ptrdiff_t ldc, float alpha, int accumulate, int relu,
                                     const float *mask, ptrdiff_t ldm) {
#define LOOM_ROWS(n) loom_block_16(n, k, a, row_stride, k_stride, b, ldb, c, ldc, alpha, accumulate, relu, mask, ldm, 16, 0)
    LOOM_FOR_ROWS_UP_TO_8(rows, LOOM_ROWS)
#undef LOOM_ROWS
}

LOOM_AVX512 void loom_tile_avx512_32(int rows, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                                     const float *b, ptrdiff_t ldb, ptrdiff_t panel_stride,
                                     float *c, ptrdiff_t ldc, float alpha, int accumulate, int relu,
                                     const float *mask, ptrdiff_t ldm) {
#define LOOM_CALL(rs, ks, lb) rows_32(rows, k, a, rs, ks, b, lb, panel_stride, c, ldc, alpha, accumulate, relu, mask, ldm)
    LOOM_BY_STRIDES(LOOM_CALL, row_stride, k_stride, ldb)
#undef LOOM_CALL
}

LOOM_AVX512 void loom_tile_avx512_16(int rows, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                                     const float *b, ptrdiff_t ldb,
                                     float *c, ptrdiff_t ldc, float alpha, int accumulate, int relu,
                                     const float *mask, ptrdiff_t ldm) {
#define LOOM_CALL(rs, ks, lb) rows_16(rows, k, a, rs, ks, b, lb, c, ldc, alpha, accumulate, relu, mask, ldm)
    LOOM_BY_STRIDES(LOOM_CALL, row_stride, k_stride, ldb)
#undef LOOM_CALL
}

// One strip of rows against `count` panels (`panel_stride` floats apart), two at a time and a
// last odd one alone: attention's products in one call per strip rather than one per block.
LOOM_INLINE LOOM_AVX512 void strip_pairs(int rows, ptrdiff_t k, const float *a, ptrdiff_t lda, ptrdiff_t k_stride,
                                         const float *b, ptrdiff_t ldb, ptrdiff_t panel_stride, int count,
                                         float *c, ptrdiff_t ldc, float alpha, int accumulate) {
#define LOOM_ROWS(n) { \
        int p = 0; \
        for (; p + 2 <= count; p += 2) \
            loom_block_32(n, k, a, lda, k_stride, b + p * panel_stride, ldb, panel_stride, c + p * 16, ldc, alpha, accumulate, 0, NULL, 0, 0); \
        if (p < count) loom_block_16(n, k, a, lda, k_stride, b + p * panel_stride, ldb, c + p * 16, ldc, alpha, accumulate, 0, NULL, 0, 16, 0); }
    LOOM_FOR_ROWS_UP_TO_8(rows, LOOM_ROWS)
#undef LOOM_ROWS
}

LOOM_AVX512 void loom_strip_avx512(int rows, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                                   ptrdiff_t panel_stride, int count, float *c, ptrdiff_t ldc, float alpha, int accumulate) {
#define LOOM_CALL(rs, ks, lb) strip_pairs(rows, k, a, rs, ks, b, lb, panel_stride, count, c, ldc, alpha, accumulate)
    LOOM_BY_STRIDES(LOOM_CALL, lda, 1, ldb)
#undef LOOM_CALL
}

// Rows 0..<m in strips of 6 (the last one shorter) against two panels (`columns` 32) or one, of
// which only the first `columns` are written: a product's last, partial panel takes the masked
// loads and stores of loom_block_16 rather than a scratch block copied out by Swift.
LOOM_INLINE LOOM_AVX512 void column_strips(int m, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                                           ptrdiff_t strip_stride, const float *b, ptrdiff_t ldb, ptrdiff_t panel_stride,
                                           int columns, float *c, ptrdiff_t ldc, float alpha, int accumulate, int relu,
                                           const float *mask, ptrdiff_t ldm, ptrdiff_t pf) {
    int i = 0;
    if (columns == 32) {
#define LOOM_ROWS(n) loom_block_32(n, k, a, row_stride, k_stride, b, ldb, panel_stride, c, ldc, alpha, accumulate, relu, mask, ldm, pf)
        for (; i + 6 <= m; i += 6, a += strip_stride, c += 6 * ldc, mask = mask ? mask + 6 * ldm : NULL) LOOM_ROWS(6);
        if (i < m) LOOM_FOR_ROWS(m - i, LOOM_ROWS)
#undef LOOM_ROWS
    } else {
#define LOOM_ROWS(n) loom_block_16(n, k, a, row_stride, k_stride, b, ldb, c, ldc, alpha, accumulate, relu, mask, ldm, columns, pf)
        for (; i + 6 <= m; i += 6, a += strip_stride, c += 6 * ldc, mask = mask ? mask + 6 * ldm : NULL) LOOM_ROWS(6);
        if (i < m) LOOM_FOR_ROWS(m - i, LOOM_ROWS)
#undef LOOM_ROWS
    }
}

LOOM_AVX512 void loom_column_avx512(int m, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                                    ptrdiff_t strip_stride, const float *b, ptrdiff_t ldb, ptrdiff_t panel_stride, int columns,
                                    float *c, ptrdiff_t ldc, float alpha, int accumulate, int relu,
                                    const float *mask, ptrdiff_t ldm, ptrdiff_t prefetch_ahead) {
    // A transposed A read in place asks, step by step, for the row `prefetch_ahead` floats on:
    // the next chunk's, while this one runs (0: none; the other strides never ask).
    if (prefetch_ahead != 0 && !(ldb == 16 && (k_stride == 1 || (row_stride == 1 && k_stride == 6)))) {
        column_strips(m, k, a, row_stride, k_stride, strip_stride, b, ldb, panel_stride, columns, c, ldc, alpha, accumulate, relu,
                      mask, ldm, prefetch_ahead);
        return;
    }
#define LOOM_CALL(rs, ks, lb) column_strips(m, k, a, rs, ks, strip_stride, b, lb, panel_stride, columns, c, ldc, alpha, accumulate, relu, mask, ldm, 0)
    LOOM_BY_STRIDES(LOOM_CALL, row_stride, k_stride, ldb)
#undef LOOM_CALL
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
void loom_strip_avx512(int rows, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                       ptrdiff_t panel_stride, int count, float *c, ptrdiff_t ldc, float alpha, int accumulate) {
    (void)rows; (void)k; (void)a; (void)lda; (void)b; (void)ldb; (void)panel_stride; (void)count; (void)c; (void)ldc;
    (void)alpha; (void)accumulate;
    __builtin_trap();
}
void loom_column_avx512(int m, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                        ptrdiff_t strip_stride, const float *b, ptrdiff_t ldb, ptrdiff_t panel_stride, int columns,
                        float *c, ptrdiff_t ldc, float alpha, int accumulate, int relu,
                        const float *mask, ptrdiff_t ldm, ptrdiff_t prefetch_ahead) {
    (void)m; (void)k; (void)a; (void)row_stride; (void)k_stride; (void)strip_stride; (void)b; (void)ldb; (void)panel_stride;
    (void)columns; (void)c; (void)ldc; (void)alpha; (void)accumulate; (void)relu; (void)mask; (void)ldm; (void)prefetch_ahead;
    __builtin_trap();
}
#endif
