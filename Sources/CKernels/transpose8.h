// An 8 × 8 block of floats transposed in registers (unpack, shuffle, then swap 128-bit halves):
// shared by the transposed panel packing (pack_avx2.c) and the small-T attention's Kᵀ and Vᵀ
// (attention_body.h). AVX2 only, so it inlines into AVX2 and AVX-512 functions alike.
#ifndef LOOM_TRANSPOSE8_H
#define LOOM_TRANSPOSE8_H
#include <immintrin.h>
#include "row_switch.h"

// r[i] = row i of an 8 × 8 block in, column i out.
LOOM_INLINE __attribute__((target("avx2"))) void loom_transpose8(__m256 r[8]) {
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
#endif
