// One 16-wide panel of a transposed B packed for TiledGEMM (`packB`): op(B) = Bᵀ, so each step of
// the panel gathers one float from each of 16 rows of B. Scalar, that is 16 strided loads per
// step; here 8 × 8 blocks are loaded as rows and transposed in registers. A copy: the same bits.
#include "loom_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <stddef.h>
#include "row_switch.h"

#define LOOM_AVX2 __attribute__((target("avx2,fma")))

// r[i] = row i of an 8 × 8 block in, column i out.
LOOM_INLINE LOOM_AVX2 void transpose8(__m256 r[8]) {
    __m256 s[8];
    for (int h = 0; h < 8; h += 4) {
        const __m256 t0 = _mm256_unpacklo_ps(r[h], r[h + 1]), t1 = _mm256_unpackhi_ps(r[h], r[h + 1]);
        const __m256 t2 = _mm256_unpacklo_ps(r[h + 2], r[h + 3]), t3 = _mm256_unpackhi_ps(r[h + 2], r[h + 3]);
        s[h] = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
        s[h + 1] = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
        s[h + 2] = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
        s[h + 3] = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x31);
    }
}

LOOM_AVX2 void loom_pack_panel_transposed_avx2(const float *b, ptrdiff_t ldb, ptrdiff_t k, int width, float *target) {
    ptrdiff_t p = 0;
    for (; p + 8 <= k; p += 8) {
        for (int j0 = 0; j0 < 16; j0 += 8) {
            if (j0 + 8 <= width) {
                __m256 r[8];
                for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(b + (j0 + i) * ldb + p);
                transpose8(r);
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

#else
// Not x86-64: `loom_cpu_has_avx2_fma` is 0, so this is never called.
void loom_pack_panel_transposed_avx2(const float *b, ptrdiff_t ldb, ptrdiff_t k, int width, float *target) {
    (void)b; (void)ldb; (void)k; (void)width; (void)target;
    __builtin_trap();
}
#endif
