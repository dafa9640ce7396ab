// AVX-512 register tiles: 6 rows × 32 columns in twelve zmm accumulators, half the broadcasts of
// A per multiply-add of the 6 × 16 AVX2 tile (measured on Zen 4: the FFN's first product
// at d = 64 ran 105 → 113 GFLOP/s on one core). 6 × 32 rather than 12 × 32: with 24
// accumulators clang spilled and the tile fell to 49 GFLOP/s.
#include "loom_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define LOOM_AVX512 __attribute__((target("avx512f,fma")))
#define LOOM_INLINE static inline __attribute__((always_inline))

// `rows` is a constant at every call (the switch below), so the loops over rows unroll and the
// accumulators stay in registers.
LOOM_INLINE LOOM_AVX512 void block_6x32(const int rows, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                                         const float *b, ptrdiff_t ldb, ptrdiff_t panel_stride,
                                         float *c, ptrdiff_t ldc, float alpha, int accumulate, int relu) {
    __m512 low[6], high[6];
    for (int r = 0; r < rows; r++) { low[r] = _mm512_setzero_ps(); high[r] = _mm512_setzero_ps(); }
    const float *pa = a, *pb = b;
    for (ptrdiff_t p = 0; p < k; p++) {
        const __m512 b0 = _mm512_loadu_ps(pb), b1 = _mm512_loadu_ps(pb + panel_stride);
        for (int r = 0; r < rows; r++) {
            const __m512 x = _mm512_set1_ps(pa[r * row_stride]);
            low[r] = _mm512_fmadd_ps(x, b0, low[r]);
            high[r] = _mm512_fmadd_ps(x, b1, high[r]);
        }
        pa += k_stride;
        pb += ldb;
    }
    const __m512 scale = _mm512_set1_ps(alpha), zero = _mm512_setzero_ps();
    for (int r = 0; r < rows; r++) {
        float *out = c + r * ldc;
        __m512 x0 = _mm512_mul_ps(low[r], scale), x1 = _mm512_mul_ps(high[r], scale);
        if (accumulate) { x0 = _mm512_add_ps(_mm512_loadu_ps(out), x0); x1 = _mm512_add_ps(_mm512_loadu_ps(out + 16), x1); }
        // maxps returns its second operand when either is NaN: (0, x) keeps a NaN x, and -0 stays -0.
        if (relu) { x0 = _mm512_max_ps(zero, x0); x1 = _mm512_max_ps(zero, x1); }
        _mm512_storeu_ps(out, x0);
        _mm512_storeu_ps(out + 16, x1);
    }
}

LOOM_INLINE LOOM_AVX512 void block_6x16(const int rows, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                                         const float *b, ptrdiff_t ldb,
                                         float *c, ptrdiff_t ldc, float alpha, int accumulate, int relu) {
    __m512 sum[6];
    for (int r = 0; r < rows; r++) sum[r] = _mm512_setzero_ps();
    const float *pa = a, *pb = b;
    for (ptrdiff_t p = 0; p < k; p++) {
        const __m512 b0 = _mm512_loadu_ps(pb);
        for (int r = 0; r < rows; r++) sum[r] = _mm512_fmadd_ps(_mm512_set1_ps(pa[r * row_stride]), b0, sum[r]);
        pa += k_stride;
        pb += ldb;
    }
    const __m512 scale = _mm512_set1_ps(alpha), zero = _mm512_setzero_ps();
    for (int r = 0; r < rows; r++) {
        float *out = c + r * ldc;
        __m512 x = _mm512_mul_ps(sum[r], scale);
        if (accumulate) x = _mm512_add_ps(_mm512_loadu_ps(out), x);
        if (relu) x = _mm512_max_ps(zero, x);
        _mm512_storeu_ps(out, x);
    }
}

// One specialised body per row count, so each keeps its accumulators in registers.
#define LOOM_FOR_ROWS(rows, body) \
    switch (rows) { \
    case 6: body(6); break; \
    case 5: body(5); break; \
    case 4: body(4); break; \
    case 3: body(3); break; \
    case 2: body(2); break; \
    default: body(1); break; \
    }

LOOM_AVX512 void loom_tile_avx512_6x32(int rows, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                                       const float *b, ptrdiff_t ldb, ptrdiff_t panel_stride,
                                       float *c, ptrdiff_t ldc, float alpha, int accumulate, int relu) {
#define LOOM_ROWS(n) block_6x32(n, k, a, row_stride, k_stride, b, ldb, panel_stride, c, ldc, alpha, accumulate, relu)
    LOOM_FOR_ROWS(rows, LOOM_ROWS)
#undef LOOM_ROWS
}

LOOM_AVX512 void loom_tile_avx512_6x16(int rows, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                                       const float *b, ptrdiff_t ldb,
                                       float *c, ptrdiff_t ldc, float alpha, int accumulate, int relu) {
#define LOOM_ROWS(n) block_6x16(n, k, a, row_stride, k_stride, b, ldb, c, ldc, alpha, accumulate, relu)
    LOOM_FOR_ROWS(rows, LOOM_ROWS)
#undef LOOM_ROWS
}

#else
// Not x86-64: `loom_cpu_has_avx512f` is 0, so these are never called.
void loom_tile_avx512_6x32(int rows, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                           const float *b, ptrdiff_t ldb, ptrdiff_t panel_stride,
                           float *c, ptrdiff_t ldc, float alpha, int accumulate, int relu) {
    (void)rows; (void)k; (void)a; (void)row_stride; (void)k_stride; (void)b; (void)ldb; (void)panel_stride;
    (void)c; (void)ldc; (void)alpha; (void)accumulate; (void)relu;
    __builtin_trap();
}
void loom_tile_avx512_6x16(int rows, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                           const float *b, ptrdiff_t ldb,
                           float *c, ptrdiff_t ldc, float alpha, int accumulate, int relu) {
    (void)rows; (void)k; (void)a; (void)row_stride; (void)k_stride; (void)b; (void)ldb;
    (void)c; (void)ldc; (void)alpha; (void)accumulate; (void)relu;
    __builtin_trap();
}
#endif
