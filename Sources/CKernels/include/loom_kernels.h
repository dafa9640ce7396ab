// Loom's register tiles for CPUs whose vector unit the build target may not assume.
//
// The Swift products are compiled for the build target (x86-64-v3 by default: AVX2 + FMA). The
// kernels here carry their own target attributes and run only after `loom_cpu_has_avx512f()`
// says the CPU (and the OS, which must save the zmm registers) supports them, so one binary runs
// on either kind of machine.
//
// Every kernel computes each element of C as the same chain of fused multiply-adds over the inner
// dimension, in the same order, then × alpha, then + C when accumulating, then the ReLU: the
// result is the same bits whichever kernel runs, and the same bits as Swift's `RegisterTile`.
#ifndef LOOM_KERNELS_H
#define LOOM_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A spin-wait hint (`pause` on x86-64): lets the sibling hyperthread run and saves power while a
/// thread polls a flag another thread will set.
static inline void loom_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/// Asks for the cache line holding `p` ahead of its use (no effect on any result).
static inline void loom_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

/// 1 when the CPU and the OS support AVX-512F, else 0 (also on CPUs that are not x86-64).
int loom_cpu_has_avx512f(void);

/// The CPUs this process may run on (its affinity mask; the online count if unknown), at least 1.
int loom_cpus_allowed(void);

/// 1 when the CPU and the OS support AVX2 and FMA, else 0.
int loom_cpu_has_avx2_fma(void);

/// An R × 32 block of C (1 ≤ R ≤ 8) from two packed 16-column panels of B, the second
/// `panel_stride` floats after the first, over k steps: C = α·A·B, or C += α·A·B when
/// `accumulate`, and max(x, 0) of each result (NaN kept) when `relu`; with `mask` (C's shape,
/// rows `ldm` apart) not NULL, each result is kept where mask > 0 and stored as 0 elsewhere (the
/// ReLU's backward pass, masked by the activations after it).
/// A(r, p) is a[r·row_stride + p·k_stride]; B(p, 0..<16) starts at b + p·ldb; C rows ldc apart.
/// Call only when `loom_cpu_has_avx512f()` is 1.
void loom_tile_avx512_32(int rows, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                         const float *b, ptrdiff_t ldb, ptrdiff_t panel_stride,
                         float *c, ptrdiff_t ldc, float alpha, int accumulate, int relu,
                         const float *mask, ptrdiff_t ldm);

/// The same for one 16-column panel (R × 16, one zmm register per row).
void loom_tile_avx512_16(int rows, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                         const float *b, ptrdiff_t ldb,
                         float *c, ptrdiff_t ldc, float alpha, int accumulate, int relu,
                         const float *mask, ptrdiff_t ldm);

/// Attention's strip products on the AVX-512 tiles: `count` panels (`panel_stride` floats apart,
/// rows `ldb` apart) two at a time as loom_tile_avx512_32, a last odd one as loom_tile_avx512_16;
/// C = α·A·B (or C += α·A·B when `accumulate`), A rows `lda` apart, 1 ≤ rows ≤ 8.
/// Call only when `loom_cpu_has_avx512f()` is 1.
void loom_strip_avx512(int rows, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                       ptrdiff_t panel_stride, int count, float *c, ptrdiff_t ldc, float alpha, int accumulate);

/// A column of AVX-512 blocks: rows 0..<m of A, in strips of 6 `strip_stride` floats apart (the
/// last one shorter), against two panels of B `panel_stride` apart (`columns` 32) or one of which
/// only the first `columns` (1 … 16) are written, into C's rows 0..<m (and the mask's); each block
/// as loom_tile_avx512_32 or _16 computes it. Call only when `loom_cpu_has_avx512f()` is 1.
void loom_column_avx512(int m, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                        ptrdiff_t strip_stride, const float *b, ptrdiff_t ldb, ptrdiff_t panel_stride, int columns,
                        float *c, ptrdiff_t ldc, float alpha, int accumulate, int relu,
                        const float *mask, ptrdiff_t ldm, ptrdiff_t prefetch_ahead);

/// Softmax over the first `visible` floats of a row of `length`, zeros after, as Models'
/// CausalRows.softmax computes it (the same bits); the row's maximum and Σ exp(x − max) out.
/// Call only when `loom_cpu_has_avx512f()` is 1.
void loom_softmax_row_avx512(float *row, int visible, int length, float *max_out, float *sum_out);

/// Attention's TileKernels.maximum on AVX-512, the same bits: the largest of row[lo..<hi] (−∞
/// when empty). Call only when `loom_cpu_has_avx512f()` is 1.
float loom_row_maximum_avx512(const float *row, int lo, int hi);

/// Attention's TileKernels.exponentiate on AVX-512, the same bits: row[c] ← exp(row[c] − shift)
/// on lo..<hi, zero elsewhere in 0..<width; returns the sum. Call only when `loom_cpu_has_avx512f()` is 1.
float loom_row_exponentiate_avx512(float *row, int width, int lo, int hi, float shift);

/// Causal softmax attention of one (sequence, head) item: q, k, v are t rows of dh floats, `ld`
/// apart; writes P (t × t, row i: softmax of scale·q_i·k_j over j ≤ i, zeros after) and
/// O = P·V (t rows of dh, `ldo` apart), with the bits of Models' AttentionKernel on TiledGEMM.
/// `kt` is scratch for dh × ⌈t/16⌉·16 floats. Requires t ≤ 256, dh a multiple of 16 (≤ 256), and
/// `loom_cpu_has_avx512f()`.
void loom_causal_attention_avx512(int t, int dh, const float *q, const float *k, const float *v, ptrdiff_t ld,
                                  float scale, float *p, float *out, ptrdiff_t ldo, float *kt);

/// The backward of `loom_causal_attention_avx512` for one item, from its P and dO (t rows of dh,
/// `ldo` apart): writes dQ = scale·dS·K, dK = scale·dSᵀ·Q and dV = Pᵀ·dO (t rows of dh, `ld`
/// apart, like q, k, v), with dS = P ⊙ (dP − rowsum(P ⊙ dP)), dP = dO·Vᵀ, left in `ds` (t × t, up
/// to the end of each row's 16-query block), with the bits of Models' AttentionKernel on
/// TiledGEMM. `vt` is scratch for dh × ⌈t/16⌉·16 floats. Requires what the forward requires.
void loom_causal_attention_backward_avx512(int t, int dh, const float *q, const float *k, const float *v, ptrdiff_t ld,
                                           float scale, const float *p, const float *dout, ptrdiff_t ldo,
                                           float *dq, float *dk, float *dv, float *ds, float *vt);

/// The same three fused attention kernels on AVX2 + FMA (a 6 × 16 tile of ymm registers, each
/// 16-lane vector as two ymm), with the same bits. Call only when `loom_cpu_has_avx2_fma()` is 1.
void loom_softmax_row_avx2(float *row, int visible, int length, float *max_out, float *sum_out);
void loom_causal_attention_avx2(int t, int dh, const float *q, const float *k, const float *v, ptrdiff_t ld,
                                float scale, float *p, float *out, ptrdiff_t ldo, float *kt);
void loom_causal_attention_backward_avx2(int t, int dh, const float *q, const float *k, const float *v, ptrdiff_t ld,
                                         float scale, const float *p, const float *dout, ptrdiff_t ldo,
                                         float *dq, float *dk, float *dv, float *ds, float *vt);

/// The AVX2 6 × 16 tile in C (1 ≤ rows ≤ 6, one 16-column panel of B): as `loom_tile_avx512_16`,
/// the bits of Swift's RegisterTile. Call only when `loom_cpu_has_avx2_fma()` is 1.
void loom_tile_avx2_16(int rows, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                       const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, float alpha, int accumulate,
                       int relu, const float *mask, ptrdiff_t ldm);

/// Attention's strip products on the AVX2 tile: for each of `count` panels (`panel_stride` floats
/// apart, rows `ldb` apart), the rows × 16 block of C = α·A·B (or C += α·A·B when `accumulate`),
/// A rows `lda` apart; the bits of Swift's RegisterTile. Call only when `loom_cpu_has_avx2_fma()` is 1.
void loom_strip_avx2(int rows, ptrdiff_t k, const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                     ptrdiff_t panel_stride, int count, float *c, ptrdiff_t ldc, float alpha, int accumulate);

/// A column of AVX2 blocks: rows 0..<m of A, in strips of 6 `strip_stride` floats apart (the
/// last one shorter), against one 16-wide panel of B into C's rows 0..<m (and the mask's), each
/// block as loom_tile_avx2_16 computes it. Call only when `loom_cpu_has_avx2_fma()` is 1.
void loom_column_avx2(int m, ptrdiff_t k, const float *a, ptrdiff_t row_stride, ptrdiff_t k_stride,
                      ptrdiff_t strip_stride, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                      float alpha, int accumulate, int relu, const float *mask, ptrdiff_t ldm);

/// One 16-column panel of op(B) = Bᵀ for TiledGEMM: target[p·16 + j] = b[j·ldb + p] for p < k and
/// j < width (1 … 16 rows of B), 0 for j ≥ width. Call only when `loom_cpu_has_avx2_fma()` is 1.
void loom_pack_panel_transposed_avx2(const float *b, ptrdiff_t ldb, ptrdiff_t k, int width, float *target);

/// A transposed A's chunk packed for TiledGEMM: rows 0..<m of op(A) = Aᵀ over `depth` steps into
/// strips of 6, strip s at target + s·span, step p's 6 floats at p·6 (zeros past m):
/// target[s·span + p·6 + r] = a[p·lda + 6s + r]. `span` ≥ 6·depth + 2 (each step stores 8 floats).
/// Call only when `loom_cpu_has_avx2_fma()` is 1.
void loom_pack_strips_avx2(const float *a, ptrdiff_t lda, ptrdiff_t depth, int m, float *target, ptrdiff_t span);

/// Rows 0..<depth of B (`n` wide, rows `ldb` apart) packed for TiledGEMM as 16-column panels,
/// panel j at target + j·depth·16, row p's 16 floats at p·16 (zeros past n): row by row, so B is
/// read as one forward stream. Call only when `loom_cpu_has_avx2_fma()` is 1.
void loom_pack_rows_avx2(const float *b, ptrdiff_t ldb, ptrdiff_t depth, int n, float *target);

/// Asks for `rows` runs of `count` floats, `stride` floats apart from `first`, a cache line at a
/// time, without waiting for them (any CPU; a hint, never a fault).
void loom_prefetch_rows(const float *first, ptrdiff_t rows, ptrdiff_t stride, ptrdiff_t count);

#ifdef __cplusplus
}
#endif

#endif
