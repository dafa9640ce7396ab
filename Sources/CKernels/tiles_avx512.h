// The AVX-512 register tiles shared by CKernels' files (private to the target): one body per
// row count (LOOM_FOR_ROWS, LOOM_FOR_ROWS_UP_TO_8), each block's accumulators in zmm registers.
#ifndef LOOM_TILES_AVX512_H
#define LOOM_TILES_AVX512_H

#if defined(__x86_64__)
#include <immintrin.h>
#include <stddef.h>

#define LOOM_AVX512 __attribute__((target("avx512f,fma")))
#define LOOM_INLINE static inline __attribute__((always_inline))

// Lanes of the 16 from `start` that lie before `end`.
LOOM_INLINE __mmask16 loom_lanes_before(int start, int end) {
    const int n = end - start;
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
}

// `rows` (≤ 8) is a constant at every call (LOOM_FOR_ROWS…), so the loops over rows unroll and the
// accumulators stay in registers.
LOOM_INLINE LOOM_AVX512 void loom_block_32(const int rows, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                                            const float *b, ptrdiff_t ldb, ptrdiff_t panel_stride,
                                            float *c, ptrdiff_t ldc, float alpha, int accumulate, int relu,
                                            const float *mask, ptrdiff_t ldm) {
    __m512 low[8], high[8];
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
                                            const float *mask, ptrdiff_t ldm, int width) {
    __m512 sum[8];
    for (int r = 0; r < rows; r++) sum[r] = _mm512_setzero_ps();
    const float *pa = a, *pb = b;
    for (ptrdiff_t p = 0; p < k; p++) {
        const __m512 b0 = _mm512_loadu_ps(pb);
        for (int r = 0; r < rows; r++) sum[r] = _mm512_fmadd_ps(_mm512_set1_ps(pa[r * row_stride]), b0, sum[r]);
        pa += k_stride;
        pb += ldb;
    }
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

// TensorCore's expCore for x in [−87.33, 88.72], operation for operation.
LOOM_INLINE LOOM_AVX512 __m512 loom_exp_core(__m512 x) {
    const __m512 shifter = _mm512_set1_ps(12582912.0f);
    const __m512 t = _mm512_fmadd_ps(x, _mm512_set1_ps(1.4426950408889634f), shifter);
    const __m512 n = _mm512_sub_ps(t, shifter);
    __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(-0.693359375f), x);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.1219444e-4f), r);
    __m512 p = _mm512_fmadd_ps(r, _mm512_set1_ps(1.9875691500e-4f), _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    const __m512 er = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    const __m512i exponent = _mm512_sub_epi32(_mm512_castps_si512(t), _mm512_set1_epi32(0x4B400000));
    const __m512i half = _mm512_srai_epi32(exponent, 1);
    const __m512 high = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(_mm512_sub_epi32(exponent, half), _mm512_set1_epi32(127)), 23));
    const __m512 low = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(half, _mm512_set1_epi32(127)), 23));
    return _mm512_mul_ps(_mm512_mul_ps(er, low), high);
}

// One specialised body per row count, so each keeps its accumulators in registers: up to 8 for
// the dispatched tiles (attention's strips), up to 6 for the fused kernels.
// Rows 6 down to 1: shared by both switches below.
#define LOOM_CASES_6_TO_1(body) \
    case 6: body(6); break; \
    case 5: body(5); break; \
    case 4: body(4); break; \
    case 3: body(3); break; \
    case 2: body(2); break; \
    default: body(1); break;

#define LOOM_FOR_ROWS_UP_TO_8(rows, body) \
    switch (rows) { case 8: body(8); break; case 7: body(7); break; LOOM_CASES_6_TO_1(body) }

#define LOOM_FOR_ROWS(rows, body) \
    switch (rows) { LOOM_CASES_6_TO_1(body) }

#endif
#endif
