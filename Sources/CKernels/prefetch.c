// Operands asked for ahead of the tiles that read them where they lie: a weight gradient's
// transposed A read in place steps a row (1 KB at d = 64) per multiply-add step, a stride its
// first pass over a chunk took from L3 at a fraction of the bandwidth that lines asked for all
// at once get (BENCHMARKS.md, twenty-ninth session). The AVX-512 tile asks for the chunks after
// the first itself, step by step (tiles_avx512.h, `pf`).
#include "loom_kernels.h"
#include <stdint.h>

void loom_prefetch_rows(const float *first, ptrdiff_t rows, ptrdiff_t stride, ptrdiff_t count) {
    if (rows <= 0 || count <= 0) return;
    const ptrdiff_t bytes = count * (ptrdiff_t)sizeof(float);
    for (ptrdiff_t r = 0; r < rows; r++) {
        const char *row = (const char *)(first + r * stride);
        // From the line holding the first float to the one holding the last.
        const char *line = (const char *)((uintptr_t)row & ~(uintptr_t)63);
        for (; line < row + bytes; line += 64) __builtin_prefetch(line, 0, 3);
    }
}
