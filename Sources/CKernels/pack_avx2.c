// One 16-wide panel of a transposed B packed for TiledGEMM (`packB`): op(B) = Bᵀ, so each step of
// the panel gathers one float from each of 16 rows of B. Scalar, that is 16 strided loads per
// step; here 8 × 8 blocks are loaded as rows and transposed in registers. A copy: the same bits.
#include "loom_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <stddef.h>
#include "row_switch.h"
#include "transpose8.h"

#define LOOM_AVX2 __attribute__((target("avx2,fma")))

LOOM_AVX2 void loom_pack_panel_transposed_avx2(const float *b, ptrdiff_t ldb, ptrdiff_t k, int width, float *target) {
    ptrdiff_t p = 0;
    for (; p + 8 <= k; p += 8) {
        for (int j0 = 0; j0 < 16; j0 += 8) {
            if (j0 + 8 <= width) {
                __m256 r[8];
                for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(b + (j0 + i) * ldb + p);
                loom_transpose8(r);
                for (int i = 0; i < 8; i++) _mm256_storeu_ps(target + (p + i) * 16 + j0, r[i]);
            } else {
                for (int i = 0; i < 8; i++)
                    for (int j = j0; j < j0 + 8; j++) target[(p + i) * 16 + j] = j < width ? b[j * ldb + p + i] : 0;
            }
        }
    }
    for (; p < k; p++)
        for (int j = 0; j < 16; j++) target[p * 16 + j] = j < width ? b[j * ldb + p] : 0;
}

LOOM_AVX2 void loom_pack_strips_avx2(const float *a, ptrdiff_t lda, ptrdiff_t depth, int m, float *target, ptrdiff_t span) {
    const int strips = (m + 5) / 6, whole = m >= 8 ? (m - 8) / 6 + 1 : 0;   // strips whose 8-float load stays in the row
    for (ptrdiff_t p = 0; p < depth; p++) {
        const float *source = a + p * lda;
        float *row = target + p * 6;
        int s = 0;
        for (; s < whole; s++, row += span) _mm256_storeu_ps(row, _mm256_loadu_ps(source + s * 6));
        for (; s < strips; s++, row += span) {
            const int first = s * 6, count = m - first < 6 ? m - first : 6;
            for (int r = 0; r < count; r++) row[r] = source[first + r];
            for (int r = count; r < 6; r++) row[r] = 0;
        }
    }
}

LOOM_AVX2 void loom_pack_rows_avx2(const float *b, ptrdiff_t ldb, ptrdiff_t depth, int n, float *target) {
    const int full = n / 16, width = n - full * 16;
    const ptrdiff_t panel = depth * 16;
    for (ptrdiff_t p = 0; p < depth; p++) {
        const float *source = b + p * ldb;
        float *out = target + p * 16;
        for (int j = 0; j < full; j++, out += panel) {
            _mm256_storeu_ps(out, _mm256_loadu_ps(source + j * 16));
            _mm256_storeu_ps(out + 8, _mm256_loadu_ps(source + j * 16 + 8));
        }
        if (width > 0) {
            for (int j = 0; j < width; j++) out[j] = source[full * 16 + j];
            for (int j = width; j < 16; j++) out[j] = 0;
        }
    }
}

#else
// Not x86-64: `loom_cpu_has_avx2_fma` is 0, so these are never called.
void loom_pack_panel_transposed_avx2(const float *b, ptrdiff_t ldb, ptrdiff_t k, int width, float *target) {
    (void)b; (void)ldb; (void)k; (void)width; (void)target;
    __builtin_trap();
}
void loom_pack_rows_avx2(const float *b, ptrdiff_t ldb, ptrdiff_t depth, int n, float *target) {
    (void)b; (void)ldb; (void)depth; (void)n; (void)target;
    __builtin_trap();
}
void loom_pack_strips_avx2(const float *a, ptrdiff_t lda, ptrdiff_t depth, int m, float *target, ptrdiff_t span) {
    (void)a; (void)lda; (void)depth; (void)m; (void)target; (void)span;
    __builtin_trap();
}
#endif
