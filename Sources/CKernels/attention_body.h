// The fused small-T causal attention (forward, backward and the row softmax), written once over
// a 16-lane vector and compiled per vector unit: attention_avx512.c (one zmm register) and
// attention_avx2.c (two ymm registers). The including file defines, before including this:
//   LOOM_TARGET                        the functions' target attribute
//   LOOM_NAME(name)                    the entry point's name for its vector unit
//   vec16                              16 floats
//   v_zero, v_set1, v_add, v_sub, v_mul, v_max, v_min, v_fmadd, v_exp_core
//   v_load_before(base, start, end)    base[start + i] for start + i < end, else 0
//   v_store_before(base, start, end, x)
//   v_keep_before(start, end, fill, x) x's lanes before end, fill's after
//   v_halves_max(x, out4), v_halves_sum(x, out4)
//                                      the 16 lanes reduced to 4 by halves (8 = lo ∘ hi, 4 = lo ∘ hi)
//   strided_strip_product(rows ≤ 6, k, a, row_stride, k_stride, b, ldb, n, c, ldc, alpha)
//                                      C[r, 0..<n] = alpha·Σ_p A(r, p)·B[p, 0..<n], A(r, p) at
//                                      a[r·row_stride + p·k_stride], B row p at b + p·ldb
//
// Every value is computed with the same operations in the same order as the Swift path (TiledGEMM
// per 16-query block, CausalRows.softmax and .softmaxBackward), so the bits are the same on
// either vector unit: S[i, j] = (Σ_c q[i, c]·k[j, c] as one chain of FMAs from 0)·scale; the
// softmax in 16-lane vectors, max and sum reduced by halves, exp as TensorCore's expCore;
// O[i] = Σ_j P[i, j]·v[j] as one chain over j < the end of i's 16-query block.
#include <string.h>
#include "transpose8.h"

// Swift.max(x, y) is `y >= x ? y : x`; maxps returns its second operand unless the first is
// strictly greater: the `a > b ? a : b` of CausalRows.maximum, NaN and ±0 included.
LOOM_INLINE float largest_of_four(const float f[4]) {
    const float m01 = f[1] >= f[0] ? f[1] : f[0], m23 = f[3] >= f[2] ? f[3] : f[2];
    return m23 >= m01 ? m23 : m01;
}

LOOM_INLINE float sum_of_four(const float s[4]) { return (s[0] + s[2]) + (s[1] + s[3]); }

// exp(x − shift) of a 16-key vector, clamped to [−87.33, 0] first, lanes past `visible` zero.
LOOM_INLINE LOOM_TARGET vec16 shifted_exp(vec16 x, vec16 shift, int start, int visible) {
    const vec16 zero = v_zero();
    const vec16 clamped = v_max(v_min(v_sub(x, shift), zero), v_set1(-87.33f));
    return v_keep_before(start, visible, zero, v_exp_core(clamped));
}

LOOM_INLINE LOOM_TARGET void softmax_row(float *row, int visible, int length, float *max_out, float *sum_out) {
    vec16 maxima = v_set1(-__builtin_inff());
    int start = 0;
    for (; start < visible; start += 16) {
        const vec16 x = v_load_before(row, start, length);
        maxima = v_max(maxima, v_keep_before(start, visible, v_set1(-__builtin_inff()), x));
    }
    float f[4];
    v_halves_max(maxima, f);
    const float row_max = largest_of_four(f);
    const vec16 shift = v_set1(row_max);
    vec16 sums = v_zero();
    for (start = 0; start < visible; start += 16) {
        const vec16 e = shifted_exp(v_load_before(row, start, length), shift, start, visible);
        v_store_before(row, start, length, e);
        sums = v_add(sums, e);
    }
    float s[4];
    v_halves_sum(sums, s);
    const float total = sum_of_four(s);
    const vec16 inverse = v_set1(1.0f / total);
    for (start = 0; start < visible; start += 16) {
        v_store_before(row, start, length, v_mul(v_load_before(row, start, length), inverse));
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
LOOM_INLINE LOOM_TARGET void softmax_rows4(float *first, ptrdiff_t stride, int visible, int length) {
    enum { R = 4 };
    vec16 maxima[R], sums[R], shift[R], inverse[R];
    const vec16 minus_infinity = v_set1(-__builtin_inff());
    for (int r = 0; r < R; r++) maxima[r] = minus_infinity;
    const int end = visible + R - 1;    // the last row's visible keys: the vectors all rows span
    int start = 0;
    for (; start < end; start += 16) {
        for (int r = 0; r < R; r++) {
            const vec16 x = v_load_before(first + r * stride, start, length);
            maxima[r] = v_max(maxima[r], v_keep_before(start, visible + r, minus_infinity, x));
        }
    }
    for (int r = 0; r < R; r++) {
        float f[4];
        v_halves_max(maxima[r], f);
        shift[r] = v_set1(largest_of_four(f));
        sums[r] = v_zero();
    }
    for (start = 0; start < end; start += 16) {
        for (int r = 0; r < R; r++) {
            float *row = first + r * stride;
            const vec16 e = shifted_exp(v_load_before(row, start, length), shift[r], start, visible + r);
            v_store_before(row, start, length, e);
            sums[r] = v_add(sums[r], e);
        }
    }
    for (int r = 0; r < R; r++) {
        float s[4];
        v_halves_sum(sums[r], s);
        inverse[r] = v_set1(1.0f / sum_of_four(s));
    }
    for (start = 0; start < end; start += 16) {
        for (int r = 0; r < R; r++) {
            float *row = first + r * stride;
            v_store_before(row, start, length, v_mul(v_load_before(row, start, length), inverse[r]));
        }
    }
    if (start < length) {
        for (int r = 0; r < R; r++) memset(first + r * stride + start, 0, (size_t)(length - start) * sizeof(float));
    }
}

// Rows r0..<r1 of C = alpha·A·B, six at a time (A rows lda apart, C rows ldc apart).
LOOM_INLINE LOOM_TARGET void rows_product(int r0, int r1, ptrdiff_t k, const float *a, ptrdiff_t lda,
                                          const float *b, ptrdiff_t ldb, int n, float *c, ptrdiff_t ldc, float alpha) {
    for (int i = r0; i < r1; i += 6) {
        const int rows = r1 - i < 6 ? r1 - i : 6;
        strided_strip_product(rows, k, a + (ptrdiff_t)i * lda, lda, 1, b, ldb, n, c + (ptrdiff_t)i * ldc, ldc, alpha);
    }
}

// The t × dh block x (rows ld apart) transposed into dh rows of tp floats, zeros past t: 8 × 8
// blocks through registers, the edges one float at a time (scalar, it was a tenth of the forward).
LOOM_INLINE LOOM_TARGET void transpose_rows(int t, int tp, int dh, const float *x, ptrdiff_t ld, float *xt) {
    const int whole = t & ~7;
    int c0 = 0;
    for (; c0 + 8 <= dh; c0 += 8) {
        for (int j0 = 0; j0 < whole; j0 += 8) {
            __m256 r[8];
            for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(x + (ptrdiff_t)(j0 + i) * ld + c0);
            loom_transpose8(r);
            for (int i = 0; i < 8; i++) _mm256_storeu_ps(xt + (ptrdiff_t)(c0 + i) * tp + j0, r[i]);
        }
    }
    for (int c = 0; c < dh; c++) {
        float *row = xt + (ptrdiff_t)c * tp;
        for (int j = c < c0 ? whole : 0; j < t; j++) row[j] = x[(ptrdiff_t)j * ld + c];
        for (int j = t; j < tp; j++) row[j] = 0;
    }
}

LOOM_TARGET void LOOM_NAME(loom_softmax_row)(float *row, int visible, int length, float *max_out, float *sum_out) {
    softmax_row(row, visible, length, max_out, sum_out);
}

LOOM_TARGET void LOOM_NAME(loom_causal_attention)(int t, int dh, const float *q, const float *k, const float *v, ptrdiff_t ld,
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
LOOM_INLINE LOOM_TARGET void softmax_backward_row(const float *p, float *g, int length) {
    vec16 dots = v_zero();
    for (int start = 0; start < length; start += 16) {
        dots = v_fmadd(v_load_before(p, start, length), v_load_before(g, start, length), dots);
    }
    float s[4];
    v_halves_sum(dots, s);
    const vec16 dot = v_set1(sum_of_four(s));
    for (int start = 0; start < length; start += 16) {
        const vec16 x = v_sub(v_load_before(g, start, length), dot);
        v_store_before(g, start, length, v_mul(v_load_before(p, start, length), x));
    }
}

LOOM_TARGET void LOOM_NAME(loom_causal_attention_backward)(int t, int dh, const float *q, const float *k, const float *v,
                                                           ptrdiff_t ld, float scale, const float *p, const float *dout,
                                                           ptrdiff_t ldo, float *dq, float *dk, float *dv, float *ds, float *vt) {
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
