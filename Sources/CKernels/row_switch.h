// Shared by CKernels' vector files: one specialised body per row count, so each keeps its
// accumulators in registers (up to 8 rows for the AVX-512 tiles of attention's strips, up to 6
// for the fused kernels and the AVX2 tile).
#ifndef LOOM_ROW_SWITCH_H
#define LOOM_ROW_SWITCH_H

#define LOOM_INLINE static inline __attribute__((always_inline))

// Rows 6 down to 1: shared by both switches below.
#define LOOM_CASES_6_TO_1(body) \
    case 6: body(6); break; \
    case 5: body(5); break; \
    case 4: body(4); break; \
    case 3: body(3); break; \
    case 2: body(2); break; \
    default: body(1); break;

#define LOOM_FOR_ROWS_UP_TO_8(rows, body) \
    switch (rows) { case 8: body(8); break; case 7: body(7); break; LOOM_CASES_6_TO_1(body) }

#define LOOM_FOR_ROWS(rows, body) \
    switch (rows) { LOOM_CASES_6_TO_1(body) }

// B is a packed panel (16 floats a step) at every call Loom makes, and A is read in place (k
// stride 1) or packed in strips of 6 (row stride 1, k stride 6). The tiles' entry points call
// their bodies through this with those strides as literals, so each step's addresses become
// fixed offsets; any other strides take the general body. The same operations in the same order:
// the same bits (BENCHMARKS.md: on Zen 3 a training step 1–6 %, on Zen 4 with the split loop 1–4 %).
#define LOOM_BY_STRIDES(call, row_stride, k_stride, ldb) \
    if ((ldb) == 16 && (k_stride) == 1) call(row_stride, 1, 16); \
    else if ((ldb) == 16 && (row_stride) == 1 && (k_stride) == 6) call(1, 6, 16); \
    else call(row_stride, k_stride, ldb);

#endif
