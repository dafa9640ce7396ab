// The fused small-T causal attention on AVX-512: attention_body.h over one zmm register per
// 16-key vector, with mask loads and stores, and products on the 6 × 32 and 6 × 16 zmm tiles.
// The Swift path it replaces (TiledGEMM per 16-query block, packing K and V, CausalRows.softmax)
// spent most of its time outside the multiply-adds at head width 16 (driver, scalar packing).
#include "loom_kernels.h"

#if defined(__x86_64__)
#include "tiles_avx512.h"

#define LOOM_TARGET LOOM_AVX512
#define LOOM_NAME(name) name##_avx512
typedef __m512 vec16;

LOOM_INLINE LOOM_AVX512 vec16 v_zero(void) { return _mm512_setzero_ps(); }
LOOM_INLINE LOOM_AVX512 vec16 v_set1(float x) { return _mm512_set1_ps(x); }
LOOM_INLINE LOOM_AVX512 vec16 v_add(vec16 a, vec16 b) { return _mm512_add_ps(a, b); }
LOOM_INLINE LOOM_AVX512 vec16 v_sub(vec16 a, vec16 b) { return _mm512_sub_ps(a, b); }
LOOM_INLINE LOOM_AVX512 vec16 v_mul(vec16 a, vec16 b) { return _mm512_mul_ps(a, b); }
LOOM_INLINE LOOM_AVX512 vec16 v_max(vec16 a, vec16 b) { return _mm512_max_ps(a, b); }
LOOM_INLINE LOOM_AVX512 vec16 v_min(vec16 a, vec16 b) { return _mm512_min_ps(a, b); }
LOOM_INLINE LOOM_AVX512 vec16 v_fmadd(vec16 a, vec16 b, vec16 c) { return _mm512_fmadd_ps(a, b, c); }
LOOM_INLINE LOOM_AVX512 vec16 v_exp_core(vec16 x) { return loom_exp_core(x); }
LOOM_INLINE LOOM_AVX512 vec16 v_load_before(const float *base, int start, int end) {
    return _mm512_maskz_loadu_ps(loom_lanes_before(start, end), base + start);
}
LOOM_INLINE LOOM_AVX512 void v_store_before(float *base, int start, int end, vec16 x) {
    _mm512_mask_storeu_ps(base + start, loom_lanes_before(start, end), x);
}
LOOM_INLINE LOOM_AVX512 vec16 v_keep_before(int start, int end, vec16 fill, vec16 x) {
    return _mm512_mask_blend_ps(loom_lanes_before(start, end), fill, x);
}
LOOM_INLINE LOOM_AVX512 void v_halves_max(vec16 x, float out[4]) {
    const __m256 eight = _mm256_max_ps(_mm512_castps512_ps256(x), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1)));
    _mm_storeu_ps(out, _mm_max_ps(_mm256_castps256_ps128(eight), _mm256_extractf128_ps(eight, 1)));
}
LOOM_INLINE LOOM_AVX512 void v_halves_sum(vec16 x, float out[4]) {
    const __m256 eight = _mm256_add_ps(_mm512_castps512_ps256(x), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1)));
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(eight), _mm256_extractf128_ps(eight, 1)));
}

// B's 16-column panels are 16 floats apart within a row of B, so they are read in place; pairs
// of full panels take the 6 × 32 tile.
LOOM_INLINE LOOM_AVX512 void strided_strip_product(int rows, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                                                   const float *b, ptrdiff_t ldb, int n, float *c, ptrdiff_t ldc, float alpha) {
    int j = 0;
    for (; j + 32 <= n; j += 32) {
#define LOOM_ROWS(R) loom_block_32(R, k, a, row_stride, k_stride, b + j, ldb, 16, c + j, ldc, alpha, 0, 0, NULL, 0, 0)
        LOOM_FOR_ROWS(rows, LOOM_ROWS)
#undef LOOM_ROWS
    }
    for (; j < n; j += 16) {
        const int width = n - j < 16 ? n - j : 16;
#define LOOM_ROWS(R) loom_block_16(R, k, a, row_stride, k_stride, b + j, ldb, c + j, ldc, alpha, 0, 0, NULL, 0, width, 0)
        LOOM_FOR_ROWS(rows, LOOM_ROWS)
#undef LOOM_ROWS
    }
}

#include "attention_body.h"

#endif
