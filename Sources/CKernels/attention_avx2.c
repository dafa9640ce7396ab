// The fused small-T causal attention on AVX2: attention_body.h over a pair of ymm registers per
// 16-key vector and products on a 6 × 16 ymm tile (twelve accumulators), the same bits as the
// AVX-512 kernels and the Swift path. Full vectors take plain loads and stores; only a row's
// last partial vector takes vmaskmov, which is slow on several Zen generations.
#include "loom_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <stddef.h>
#include "row_switch.h"
#include "exp_core.h"

#define LOOM_AVX2 __attribute__((target("avx2,fma")))
#define LOOM_TARGET LOOM_AVX2
#define LOOM_NAME(name) name##_avx2
typedef struct { __m256 lo, hi; } vec16;

// Lanes start + 0..<8 and start + 8..<16 that lie before `end`, as all-ones masks.
typedef struct { __m256i lo, hi; } mask16;
LOOM_INLINE LOOM_AVX2 mask16 lanes_before(int start, int end) {
    const __m256i n = _mm256_set1_epi32(end - start);
    const mask16 m = {_mm256_cmpgt_epi32(n, _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)),
                      _mm256_cmpgt_epi32(n, _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15))};
    return m;
}

LOOM_INLINE LOOM_AVX2 vec16 pair(__m256 lo, __m256 hi) { const vec16 x = {lo, hi}; return x; }
LOOM_INLINE LOOM_AVX2 vec16 v_zero(void) { return pair(_mm256_setzero_ps(), _mm256_setzero_ps()); }
LOOM_INLINE LOOM_AVX2 vec16 v_set1(float x) { return pair(_mm256_set1_ps(x), _mm256_set1_ps(x)); }
LOOM_INLINE LOOM_AVX2 vec16 v_add(vec16 a, vec16 b) { return pair(_mm256_add_ps(a.lo, b.lo), _mm256_add_ps(a.hi, b.hi)); }
LOOM_INLINE LOOM_AVX2 vec16 v_sub(vec16 a, vec16 b) { return pair(_mm256_sub_ps(a.lo, b.lo), _mm256_sub_ps(a.hi, b.hi)); }
LOOM_INLINE LOOM_AVX2 vec16 v_mul(vec16 a, vec16 b) { return pair(_mm256_mul_ps(a.lo, b.lo), _mm256_mul_ps(a.hi, b.hi)); }
LOOM_INLINE LOOM_AVX2 vec16 v_max(vec16 a, vec16 b) { return pair(_mm256_max_ps(a.lo, b.lo), _mm256_max_ps(a.hi, b.hi)); }
LOOM_INLINE LOOM_AVX2 vec16 v_min(vec16 a, vec16 b) { return pair(_mm256_min_ps(a.lo, b.lo), _mm256_min_ps(a.hi, b.hi)); }
LOOM_INLINE LOOM_AVX2 vec16 v_fmadd(vec16 a, vec16 b, vec16 c) {
    return pair(_mm256_fmadd_ps(a.lo, b.lo, c.lo), _mm256_fmadd_ps(a.hi, b.hi, c.hi));
}

LOOM_DEFINE_EXP_CORE(exp_core8, 256, LOOM_AVX2)
LOOM_INLINE LOOM_AVX2 vec16 v_exp_core(vec16 x) { return pair(exp_core8(x.lo), exp_core8(x.hi)); }

LOOM_INLINE LOOM_AVX2 vec16 v_load_before(const float *base, int start, int end) {
    if (end - start >= 16) return pair(_mm256_loadu_ps(base + start), _mm256_loadu_ps(base + start + 8));
    const mask16 m = lanes_before(start, end);
    return pair(_mm256_maskload_ps(base + start, m.lo), _mm256_maskload_ps(base + start + 8, m.hi));
}
LOOM_INLINE LOOM_AVX2 void v_store_before(float *base, int start, int end, vec16 x) {
    if (end - start >= 16) {
        _mm256_storeu_ps(base + start, x.lo);
        _mm256_storeu_ps(base + start + 8, x.hi);
        return;
    }
    const mask16 m = lanes_before(start, end);
    _mm256_maskstore_ps(base + start, m.lo, x.lo);
    _mm256_maskstore_ps(base + start + 8, m.hi, x.hi);
}
LOOM_INLINE LOOM_AVX2 vec16 v_keep_before(int start, int end, vec16 fill, vec16 x) {
    if (end - start >= 16) return x;
    const mask16 m = lanes_before(start, end);
    return pair(_mm256_blendv_ps(fill.lo, x.lo, _mm256_castsi256_ps(m.lo)), _mm256_blendv_ps(fill.hi, x.hi, _mm256_castsi256_ps(m.hi)));
}
LOOM_INLINE LOOM_AVX2 void v_halves_max(vec16 x, float out[4]) {
    const __m256 eight = _mm256_max_ps(x.lo, x.hi);
    _mm_storeu_ps(out, _mm_max_ps(_mm256_castps256_ps128(eight), _mm256_extractf128_ps(eight, 1)));
}
LOOM_INLINE LOOM_AVX2 void v_halves_sum(vec16 x, float out[4]) {
    const __m256 eight = _mm256_add_ps(x.lo, x.hi);
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(eight), _mm256_extractf128_ps(eight, 1)));
}

// `rows` (≤ 6) × 16 of C = alpha·A·B over k steps, as Swift's RegisterTile: each element one
// chain of FMAs from 0, then × alpha; only the first `width` columns are written.
LOOM_INLINE LOOM_AVX2 void block_16(const int rows, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                                    const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, float alpha, int width) {
    __m256 low[6], high[6];
    for (int r = 0; r < rows; r++) { low[r] = _mm256_setzero_ps(); high[r] = _mm256_setzero_ps(); }
    const float *pa = a, *pb = b;
    for (ptrdiff_t p = 0; p < k; p++) {
        const __m256 b0 = _mm256_loadu_ps(pb), b1 = _mm256_loadu_ps(pb + 8);
        for (int r = 0; r < rows; r++) {
            const __m256 x = _mm256_set1_ps(pa[r * row_stride]);
            low[r] = _mm256_fmadd_ps(x, b0, low[r]);
            high[r] = _mm256_fmadd_ps(x, b1, high[r]);
        }
        pa += k_stride;
        pb += ldb;
    }
    const __m256 scale = _mm256_set1_ps(alpha);
    for (int r = 0; r < rows; r++) v_store_before(c + r * ldc, 0, width, pair(_mm256_mul_ps(low[r], scale), _mm256_mul_ps(high[r], scale)));
}

LOOM_INLINE LOOM_AVX2 void strided_strip_product(int rows, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                                                 const float *b, ptrdiff_t ldb, int n, float *c, ptrdiff_t ldc, float alpha) {
    for (int j = 0; j < n; j += 16) {
        const int width = n - j < 16 ? n - j : 16;
#define LOOM_ROWS(R) block_16(R, k, a, row_stride, k_stride, b + j, ldb, c + j, ldc, alpha, width)
        LOOM_FOR_ROWS(rows, LOOM_ROWS)
#undef LOOM_ROWS
    }
}

#include "attention_body.h"

#endif
