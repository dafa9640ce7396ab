// Not x86-64: `loom_cpu_has_avx512f` and `loom_cpu_has_avx2_fma` are 0, so the fused attention
// kernels are never called; these entry points only satisfy the linker.
#include "loom_kernels.h"

#if !defined(__x86_64__)
#define LOOM_UNREACHABLE_ATTENTION(suffix) \
    void loom_causal_attention_backward_##suffix(int t, int dh, const float *q, const float *k, const float *v, ptrdiff_t ld, \
                                                 float scale, const float *p, const float *dout, ptrdiff_t ldo, \
                                                 float *dq, float *dk, float *dv, float *ds, float *vt) { \
        (void)t; (void)dh; (void)q; (void)k; (void)v; (void)ld; (void)scale; (void)p; (void)dout; (void)ldo; \
        (void)dq; (void)dk; (void)dv; (void)ds; (void)vt; \
        __builtin_trap(); \
    } \
    void loom_softmax_row_##suffix(float *row, int visible, int length, float *max_out, float *sum_out) { \
        (void)row; (void)visible; (void)length; (void)max_out; (void)sum_out; \
        __builtin_trap(); \
    } \
    void loom_causal_attention_##suffix(int t, int dh, const float *q, const float *k, const float *v, ptrdiff_t ld, \
                                        float scale, float *p, float *out, ptrdiff_t ldo, float *kt) { \
        (void)t; (void)dh; (void)q; (void)k; (void)v; (void)ld; (void)scale; (void)p; (void)out; (void)ldo; (void)kt; \
        __builtin_trap(); \
    }

LOOM_UNREACHABLE_ATTENTION(avx512)
LOOM_UNREACHABLE_ATTENTION(avx2)
#endif
