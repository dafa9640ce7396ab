// Causal softmax attention of one (sequence, head) item at training's small T, in one call: the
// Swift path (TiledGEMM per 16-query block, packing K and V, CausalRows.softmax) spent most of
// its time outside the multiply-adds at head width 16 (driver, scalar packing, a softmax of
// 16-lane vectors split in two on the AVX2 build target).
//
// Every value is computed with the same operations in the same order as that path, so the bits
// are the same: S[i, j] = (Σ_c q[i, c]·k[j, c] as one chain of FMAs from 0)·scale; the softmax of
// CausalRows.softmax (16-lane vectors, max and sum reduced by halves, exp as TensorCore's
// expCore); O[i] = Σ_j P[i, j]·v[j] as one chain over j < the end of i's 16-query block.
#include "loom_kernels.h"

#if defined(__x86_64__)
#include <string.h>
#include "tiles_avx512.h"

// maxps/minps return their second operand unless the first is strictly greater (smaller): the
// `a > b ? a : b` of CausalRows.maximum, NaN and ±0 included.
LOOM_INLINE LOOM_AVX512 void softmax_row(float *row, int visible, int length, float *max_out, float *sum_out) {
    __m512 maxima = _mm512_set1_ps(-__builtin_inff());
    int start = 0;
    for (; start < visible; start += 16) {
        __m512 x = _mm512_maskz_loadu_ps(loom_lanes_before(start, length), row + start);
        x = _mm512_mask_blend_ps(loom_lanes_before(start, visible), _mm512_set1_ps(-__builtin_inff()), x);
        maxima = _mm512_max_ps(maxima, x);
    }
    const __m256 eight = _mm256_max_ps(_mm512_castps512_ps256(maxima),
                                       _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(maxima), 1)));
    const __m128 four = _mm_max_ps(_mm256_castps256_ps128(eight), _mm256_extractf128_ps(eight, 1));
    float f[4];
    _mm_storeu_ps(f, four);
    // Swift.max(x, y) is `y >= x ? y : x`.
    const float m01 = f[1] >= f[0] ? f[1] : f[0], m23 = f[3] >= f[2] ? f[3] : f[2];
    const float row_max = m23 >= m01 ? m23 : m01;
    const __m512 shift = _mm512_set1_ps(row_max), zero = _mm512_setzero_ps();
    __m512 sums = _mm512_setzero_ps();
    for (start = 0; start < visible; start += 16) {
        const __mmask16 in_row = loom_lanes_before(start, length);
        const __m512 x = _mm512_sub_ps(_mm512_maskz_loadu_ps(in_row, row + start), shift);
        const __m512 clamped = _mm512_max_ps(_mm512_min_ps(x, zero), _mm512_set1_ps(-87.33f));
        const __m512 e = _mm512_mask_blend_ps(loom_lanes_before(start, visible), zero, loom_exp_core(clamped));
        _mm512_mask_storeu_ps(row + start, in_row, e);
        sums = _mm512_add_ps(sums, e);
    }
    const __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(sums), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(sums), 1)));
    const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    float s[4];
    _mm_storeu_ps(s, s4);
    const float total = (s[0] + s[2]) + (s[1] + s[3]);
    const __m512 inverse = _mm512_set1_ps(1.0f / total);
    for (start = 0; start < visible; start += 16) {
        const __mmask16 in_row = loom_lanes_before(start, length);
        _mm512_mask_storeu_ps(row + start, in_row, _mm512_mul_ps(_mm512_maskz_loadu_ps(in_row, row + start), inverse));
    }
    if (start < length) memset(row + start, 0, (size_t)(length - start) * sizeof(float));
    *max_out = row_max;
    *sum_out = total;
}

// `softmax_row` on four rows at once, `stride` floats apart, row k seeing `visible + k` keys;
// every row's operations are `softmax_row`'s, in its order, so the bits are too. One row is a
// chain of dependent steps (max, its reduction, exp, the sum's reduction, a division, the
// scaling) of about 100 cycles at 64 keys; four independent chains keep the vector units busy.
// Requires the four rows to span the same number of 16-key vectors.
LOOM_INLINE LOOM_AVX512 void softmax_rows4(float *first, ptrdiff_t stride, int visible, int length) {
    enum { R = 4 };
    __m512 maxima[R], sums[R], shift[R], inverse[R];
    const __m512 zero = _mm512_setzero_ps(), minus_infinity = _mm512_set1_ps(-__builtin_inff());
    for (int r = 0; r < R; r++) maxima[r] = minus_infinity;
    const int end = visible + R - 1;    // the last row's visible keys: the vectors all rows span
    int start = 0;
    for (; start < end; start += 16) {
        const __mmask16 in_row = loom_lanes_before(start, length);
        for (int r = 0; r < R; r++) {
            __m512 x = _mm512_maskz_loadu_ps(in_row, first + r * stride + start);
            x = _mm512_mask_blend_ps(loom_lanes_before(start, visible + r), minus_infinity, x);
            maxima[r] = _mm512_max_ps(maxima[r], x);
        }
    }
    for (int r = 0; r < R; r++) {
        const __m256 eight = _mm256_max_ps(_mm512_castps512_ps256(maxima[r]),
                                           _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(maxima[r]), 1)));
        const __m128 four = _mm_max_ps(_mm256_castps256_ps128(eight), _mm256_extractf128_ps(eight, 1));
        float f[4];
        _mm_storeu_ps(f, four);
        const float m01 = f[1] >= f[0] ? f[1] : f[0], m23 = f[3] >= f[2] ? f[3] : f[2];
        shift[r] = _mm512_set1_ps(m23 >= m01 ? m23 : m01);
        sums[r] = zero;
    }
    for (start = 0; start < end; start += 16) {
        const __mmask16 in_row = loom_lanes_before(start, length);
        for (int r = 0; r < R; r++) {
            float *row = first + r * stride;
            const __m512 x = _mm512_sub_ps(_mm512_maskz_loadu_ps(in_row, row + start), shift[r]);
            const __m512 clamped = _mm512_max_ps(_mm512_min_ps(x, zero), _mm512_set1_ps(-87.33f));
            const __m512 e = _mm512_mask_blend_ps(loom_lanes_before(start, visible + r), zero, loom_exp_core(clamped));
            _mm512_mask_storeu_ps(row + start, in_row, e);
            sums[r] = _mm512_add_ps(sums[r], e);
        }
    }
    for (int r = 0; r < R; r++) {
        const __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(sums[r]), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(sums[r]), 1)));
        const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
        float s[4];
        _mm_storeu_ps(s, s4);
        inverse[r] = _mm512_set1_ps(1.0f / ((s[0] + s[2]) + (s[1] + s[3])));
    }
    for (start = 0; start < end; start += 16) {
        const __mmask16 in_row = loom_lanes_before(start, length);
        for (int r = 0; r < R; r++) {
            float *row = first + r * stride;
            _mm512_mask_storeu_ps(row + start, in_row, _mm512_mul_ps(_mm512_maskz_loadu_ps(in_row, row + start), inverse[r]));
        }
    }
    if (start < length) {
        for (int r = 0; r < R; r++) memset(first + r * stride + start, 0, (size_t)(length - start) * sizeof(float));
    }
}

LOOM_AVX512 void loom_softmax_row_avx512(float *row, int visible, int length, float *max_out, float *sum_out) {
    softmax_row(row, visible, length, max_out, sum_out);
}

// C[r, 0..<n] = alpha·Σ_p A[r, p]·B[p, 0..<n] for `rows` ≤ 6 rows, A(r, p) at
// a[r·row_stride + p·k_stride]: B's 16-column panels are 16 floats apart within a row of B (row p
// at b + p·ldb), so they are read in place; pairs of full panels take the 6 × 32 tile.
LOOM_INLINE LOOM_AVX512 void strided_strip_product(int rows, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                                                   const float *b, ptrdiff_t ldb, int n, float *c, ptrdiff_t ldc, float alpha) {
    int j = 0;
    for (; j + 32 <= n; j += 32) {
#define LOOM_ROWS(R) loom_block_32(R, k, a, row_stride, k_stride, b + j, ldb, 16, c + j, ldc, alpha, 0, 0, NULL, 0)
        LOOM_FOR_ROWS(rows, LOOM_ROWS)
#undef LOOM_ROWS
    }
    for (; j < n; j += 16) {
        const int width = n - j < 16 ? n - j : 16;
#define LOOM_ROWS(R) loom_block_16(R, k, a, row_stride, k_stride, b + j, ldb, c + j, ldc, alpha, 0, 0, NULL, 0, width)
        LOOM_FOR_ROWS(rows, LOOM_ROWS)
#undef LOOM_ROWS
    }
}

// The same with A row-major (k_stride 1).
LOOM_INLINE LOOM_AVX512 void strip_product(int rows, ptrdiff_t k, const float *a, ptrdiff_t row_stride,
                                           const float *b, ptrdiff_t ldb, int n, float *c, ptrdiff_t ldc, float alpha) {
    strided_strip_product(rows, k, a, row_stride, 1, b, ldb, n, c, ldc, alpha);
}

// Rows r0..<r1 of C = alpha·A·B, six at a time (A rows lda apart, C rows ldc apart).
LOOM_INLINE LOOM_AVX512 void rows_product(int r0, int r1, ptrdiff_t k, const float *a, ptrdiff_t lda,
                                          const float *b, ptrdiff_t ldb, int n, float *c, ptrdiff_t ldc, float alpha) {
    for (int i = r0; i < r1; i += 6) {
        const int rows = r1 - i < 6 ? r1 - i : 6;
        strip_product(rows, k, a + (ptrdiff_t)i * lda, lda, b, ldb, n, c + (ptrdiff_t)i * ldc, ldc, alpha);
    }
}

// The t × dh block x (rows ld apart) transposed into dh rows of tp floats, zeros past t.
LOOM_INLINE LOOM_AVX512 void transpose_rows(int t, int tp, int dh, const float *x, ptrdiff_t ld, float *xt) {
    for (int c = 0; c < dh; c++) {
        float *row = xt + (ptrdiff_t)c * tp;
        for (int j = 0; j < t; j++) row[j] = x[(ptrdiff_t)j * ld + c];
        for (int j = t; j < tp; j++) row[j] = 0;
    }
}

LOOM_AVX512 void loom_causal_attention_avx512(int t, int dh, const float *q, const float *k, const float *v, ptrdiff_t ld,
                                              float scale, float *p, float *out, ptrdiff_t ldo, float *kt) {
    const int tp = (t + 15) & ~15;
    // Kᵀ as dh rows of tp keys (zeros past t), so a query's scores are 16-key vectors.
    transpose_rows(t, tp, dh, k, ld, kt);
    for (int r0 = 0; r0 < t; r0 += 16) {
        const int r1 = r0 + 16 < t ? r0 + 16 : t;    // the block's queries, and the keys they see
        rows_product(r0, r1, dh, q, ld, kt, tp, r1, p, t, scale);
        int i = r0;
        for (; i + 4 <= r1; i += 4) softmax_rows4(p + (ptrdiff_t)i * t, t, i + 1, t);
        for (; i < r1; i++) {
            float m, s;
            softmax_row(p + (ptrdiff_t)i * t, i + 1, t, &m, &s);
        }
        rows_product(r0, r1, r1, p, t, v, ld, dh, out, ldo, 1.0f);
    }
}

// CausalRows.softmaxBackward on the first `length` floats of a row (lanes past it read as 0):
// g[j] ← p[j]·(g[j] − Σ_k p[k]·g[k]), the sum as one 16-lane chain of FMAs reduced by halves.
LOOM_INLINE LOOM_AVX512 void softmax_backward_row(const float *p, float *g, int length) {
    __m512 dots = _mm512_setzero_ps();
    for (int start = 0; start < length; start += 16) {
        const __mmask16 in_row = loom_lanes_before(start, length);
        dots = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(in_row, p + start), _mm512_maskz_loadu_ps(in_row, g + start), dots);
    }
    const __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(dots), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(dots), 1)));
    const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    float s[4];
    _mm_storeu_ps(s, s4);
    const __m512 dot = _mm512_set1_ps((s[0] + s[2]) + (s[1] + s[3]));
    for (int start = 0; start < length; start += 16) {
        const __mmask16 in_row = loom_lanes_before(start, length);
        const __m512 w = _mm512_maskz_loadu_ps(in_row, p + start);
        const __m512 x = _mm512_sub_ps(_mm512_maskz_loadu_ps(in_row, g + start), dot);
        _mm512_mask_storeu_ps(g + start, in_row, _mm512_mul_ps(w, x));
    }
}

LOOM_AVX512 void loom_causal_attention_backward_avx512(int t, int dh, const float *q, const float *k, const float *v, ptrdiff_t ld,
                                                       float scale, const float *p, const float *dout, ptrdiff_t ldo,
                                                       float *dq, float *dk, float *dv, float *ds, float *vt) {
    const int tp = (t + 15) & ~15;
    // Vᵀ as dh rows of tp keys, so a query's dP = dO·Vᵀ is 16-key vectors.
    transpose_rows(t, tp, dh, v, ld, vt);
    for (int r0 = 0; r0 < t; r0 += 16) {
        const int r1 = r0 + 16 < t ? r0 + 16 : t;    // the block's queries, and the keys they see
        rows_product(r0, r1, dh, dout, ldo, vt, tp, r1, ds, t, 1.0f);
        for (int i = r0; i < r1; i++) softmax_backward_row(p + (ptrdiff_t)i * t, ds + (ptrdiff_t)i * t, r1);
        rows_product(r0, r1, r1, ds, t, k, ld, dh, dq, ld, scale);   // dQ = scale·dS·K over the keys the block sees
    }
    // dV = Pᵀ·dO and dK = scale·dSᵀ·Q: key j sums over the queries from its block's first on,
    // P and dS read down their columns in place.
    for (int j0 = 0; j0 < t; j0 += 16) {
        const int j1 = j0 + 16 < t ? j0 + 16 : t;
        for (int j = j0; j < j1; j += 6) {
            const int rows = j1 - j < 6 ? j1 - j : 6;
            strided_strip_product(rows, t - j0, p + (ptrdiff_t)j0 * t + j, 1, t, dout + (ptrdiff_t)j0 * ldo, ldo, dh,
                                  dv + (ptrdiff_t)j * ld, ld, 1.0f);
            strided_strip_product(rows, t - j0, ds + (ptrdiff_t)j0 * t + j, 1, t, q + (ptrdiff_t)j0 * ld, ld, dh,
                                  dk + (ptrdiff_t)j * ld, ld, scale);
        }
    }
}

#else
void loom_causal_attention_backward_avx512(int t, int dh, const float *q, const float *k, const float *v, ptrdiff_t ld,
                                           float scale, const float *p, const float *dout, ptrdiff_t ldo,
                                           float *dq, float *dk, float *dv, float *ds, float *vt) {
    (void)t; (void)dh; (void)q; (void)k; (void)v; (void)ld; (void)scale; (void)p; (void)dout; (void)ldo;
    (void)dq; (void)dk; (void)dv; (void)ds; (void)vt;
    __builtin_trap();
}
void loom_softmax_row_avx512(float *row, int visible, int length, float *max_out, float *sum_out) {
    (void)row; (void)visible; (void)length; (void)max_out; (void)sum_out;
    __builtin_trap();
}
void loom_causal_attention_avx512(int t, int dh, const float *q, const float *k, const float *v, ptrdiff_t ld,
                                  float scale, float *p, float *out, ptrdiff_t ldo, float *kt) {
    (void)t; (void)dh; (void)q; (void)k; (void)v; (void)ld; (void)scale; (void)p; (void)out; (void)ldo; (void)kt;
    __builtin_trap();
}
#endif
