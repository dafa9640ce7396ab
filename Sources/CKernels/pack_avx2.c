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

#else
// Not x86-64: `loom_cpu_has_avx2_fma` is 0, so this is never called.
void loom_pack_panel_transposed_avx2(const float *b, ptrdiff_t ldb, ptrdiff_t k, int width, float *target) {
    (void)b; (void)ldb; (void)k; (void)width; (void)target;
    __builtin_trap();
}
#endif
