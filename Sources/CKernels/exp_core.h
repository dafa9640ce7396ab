// TensorCore's expCore for x in [−87.33, 88.72], operation for operation, for a vector of W bits
// (256: AVX2, 512: AVX-512): one definition, so the kernels' exponentials cannot drift apart.
#ifndef LOOM_EXP_CORE_H
#define LOOM_EXP_CORE_H

#define LOOM_DEFINE_EXP_CORE(name, W, target) \
    LOOM_INLINE target __m##W name(__m##W x) { \
        const __m##W shifter = _mm##W##_set1_ps(12582912.0f); \
        const __m##W t = _mm##W##_fmadd_ps(x, _mm##W##_set1_ps(1.4426950408889634f), shifter); \
        const __m##W n = _mm##W##_sub_ps(t, shifter); \
        __m##W r = _mm##W##_fmadd_ps(n, _mm##W##_set1_ps(-0.693359375f), x); \
        r = _mm##W##_fmadd_ps(n, _mm##W##_set1_ps(2.1219444e-4f), r); \
        __m##W p = _mm##W##_fmadd_ps(r, _mm##W##_set1_ps(1.9875691500e-4f), _mm##W##_set1_ps(1.3981999507e-3f)); \
        p = _mm##W##_fmadd_ps(p, r, _mm##W##_set1_ps(8.3334519073e-3f)); \
        p = _mm##W##_fmadd_ps(p, r, _mm##W##_set1_ps(4.1665795894e-2f)); \
        p = _mm##W##_fmadd_ps(p, r, _mm##W##_set1_ps(1.6666665459e-1f)); \
        p = _mm##W##_fmadd_ps(p, r, _mm##W##_set1_ps(5.0000001201e-1f)); \
        const __m##W er = _mm##W##_fmadd_ps(p, _mm##W##_mul_ps(r, r), _mm##W##_add_ps(r, _mm##W##_set1_ps(1.0f))); \
        const __m##W##i exponent = _mm##W##_sub_epi32(_mm##W##_castps_si##W(t), _mm##W##_set1_epi32(0x4B400000)); \
        const __m##W##i half = _mm##W##_srai_epi32(exponent, 1); \
        const __m##W high = _mm##W##_castsi##W##_ps( \
            _mm##W##_slli_epi32(_mm##W##_add_epi32(_mm##W##_sub_epi32(exponent, half), _mm##W##_set1_epi32(127)), 23)); \
        const __m##W low = _mm##W##_castsi##W##_ps(_mm##W##_slli_epi32(_mm##W##_add_epi32(half, _mm##W##_set1_epi32(127)), 23)); \
        return _mm##W##_mul_ps(_mm##W##_mul_ps(er, low), high); \
    }

#endif
