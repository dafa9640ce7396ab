// The row passes of long-context attention's score tiles (Attention's TileKernels.maximum and
// .exponentiate) in 16-lane vectors: the Swift versions, built for the portable AVX2 target, split
// every 16-lane vector in two, and at d = 128 the exponentials were 5 % of the forward pass (perf).
// Every value comes from the same operations in the same order as the Swift path, so the bits are
// the same: attention does not depend on which CPU ran it.
#include "loom_kernels.h"

#if defined(__x86_64__)
#include <string.h>
#include "tiles_avx512.h"

// TileKernels.larger: b where b > a (ordered), else a; a NaN in b is not taken.
LOOM_INLINE LOOM_AVX512 __m512 larger(__m512 a, __m512 b) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(b, a, _CMP_GT_OQ), a, b);
}

LOOM_INLINE float larger1(float a, float b) { return b > a ? b : a; }

// TensorCore's fastExpShifted: one-step range reduction, degree-5 Horner, 2^n in the exponent.
LOOM_INLINE LOOM_AVX512 __m512 exp_shifted(__m512 x) {
    const __m512 lowest = _mm512_set1_ps(-87.33f), shifter = _mm512_set1_ps(12582912.0f);
    const __m512 xc = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, lowest, _CMP_LT_OQ), x, lowest);
    const __m512 t = _mm512_fmadd_ps(xc, _mm512_set1_ps(1.4426950408889634f), shifter);
    const __m512 n = _mm512_sub_ps(t, shifter);
    const __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(-0.6931471824645996f), xc);
    __m512 p = _mm512_set1_ps(8.2918098e-3f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1898299e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.66676134e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.99991477e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(9.99999702e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    const __m512i bits = _mm512_slli_epi32(_mm512_sub_epi32(_mm512_castps_si512(t), _mm512_set1_epi32(0x4B400000 - 127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(bits));
}

// TensorCore's fastExp: expCore between the clamps, 0 below −87.33, +∞ above 88.72, NaN kept.
LOOM_INLINE LOOM_AVX512 __m512 exp_full(__m512 x) {
    const __m512 lowest = _mm512_set1_ps(-87.33f), highest = _mm512_set1_ps(88.72f);
    const __mmask16 below = _mm512_cmp_ps_mask(x, lowest, _CMP_LT_OQ), above = _mm512_cmp_ps_mask(x, highest, _CMP_GT_OQ);
    const __m512 xc = _mm512_mask_blend_ps(above, x, highest);
    __m512 result = loom_exp_core(_mm512_mask_blend_ps(_mm512_cmp_ps_mask(xc, lowest, _CMP_LT_OQ), xc, lowest));
    result = _mm512_mask_blend_ps(below, result, _mm512_setzero_ps());
    result = _mm512_mask_blend_ps(above, result, _mm512_set1_ps(__builtin_inff()));
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_NEQ_UQ), result, x);
}

// TileKernels.horizontalSum: halves, quarters, eighths, then the last two lanes.
LOOM_INLINE LOOM_AVX512 float sum_by_halves(__m512 v) {
    const __m256 v8 = _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    const __m128 v4 = _mm_add_ps(_mm256_castps256_ps128(v8), _mm256_extractf128_ps(v8, 1));
    float f[4];
    _mm_storeu_ps(f, v4);
    return (f[0] + f[2]) + (f[1] + f[3]);
}

LOOM_AVX512 float loom_row_maximum_avx512(const float *row, int lo, int hi) {
    __m512 lanes = _mm512_set1_ps(-__builtin_inff());
    int c = lo;
    for (; c + 16 <= hi; c += 16) lanes = larger(lanes, _mm512_loadu_ps(row + c));
    // TileKernels.horizontalMax: larger() by halves, then Swift.max (`y >= x ? y : x`) of the last two.
    float f[16];
    _mm512_storeu_ps(f, lanes);
    float v8[8], v4[4];
    for (int i = 0; i < 8; i++) v8[i] = larger1(f[i], f[i + 8]);
    for (int i = 0; i < 4; i++) v4[i] = larger1(v8[i], v8[i + 4]);
    const float v20 = larger1(v4[0], v4[2]), v21 = larger1(v4[1], v4[3]);
    float result = v21 >= v20 ? v21 : v20;
    for (; c < hi; c++) result = row[c] >= result ? row[c] : result;
    return result;
}

LOOM_AVX512 float loom_row_exponentiate_avx512(float *row, int width, int lo, int hi, float shift) {
    // TileKernels.zeroOutside
    if (lo > 0) memset(row, 0, (size_t)(lo < width ? lo : width) * sizeof(float));
    if (hi < width) {
        const int from = hi > 0 ? hi : 0;
        memset(row + from, 0, (size_t)(width - from) * sizeof(float));
    }
    const __m512 s = _mm512_set1_ps(shift);
    __m512 sums = _mm512_setzero_ps(), sums2 = _mm512_setzero_ps();
    int c = lo;
    for (; c + 32 <= hi; c += 32) {
        const __m512 e = exp_shifted(_mm512_sub_ps(_mm512_loadu_ps(row + c), s));
        const __m512 e2 = exp_shifted(_mm512_sub_ps(_mm512_loadu_ps(row + c + 16), s));
        _mm512_storeu_ps(row + c, e);
        _mm512_storeu_ps(row + c + 16, e2);
        sums = _mm512_add_ps(sums, e);
        sums2 = _mm512_add_ps(sums2, e2);
    }
    sums = _mm512_add_ps(sums, sums2);
    for (; c + 16 <= hi; c += 16) {
        const __m512 e = exp_shifted(_mm512_sub_ps(_mm512_loadu_ps(row + c), s));
        _mm512_storeu_ps(row + c, e);
        sums = _mm512_add_ps(sums, e);
    }
    if (c < hi) {  // the tail: the lanes past it are −∞, whose exponential is 0
        const __mmask16 tail = loom_lanes_before(c, hi);
        const __m512 x = _mm512_mask_blend_ps(tail, _mm512_set1_ps(-__builtin_inff()),
                                              _mm512_sub_ps(_mm512_maskz_loadu_ps(tail, row + c), s));
        const __m512 e = exp_full(x);
        _mm512_mask_storeu_ps(row + c, tail, e);
        sums = _mm512_add_ps(sums, e);
    }
    return sum_by_halves(sums);
}

#else
// Not x86-64: `loom_cpu_has_avx512f` is 0, so these are never called.
float loom_row_maximum_avx512(const float *row, int lo, int hi) {
    (void)row; (void)lo; (void)hi;
    __builtin_trap();
}
float loom_row_exponentiate_avx512(float *row, int width, int lo, int hi, float shift) {
    (void)row; (void)width; (void)lo; (void)hi; (void)shift;
    __builtin_trap();
}
#endif
