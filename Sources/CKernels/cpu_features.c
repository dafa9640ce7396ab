#include "loom_kernels.h"

// __builtin_cpu_supports also checks that the OS saves the registers (XGETBV), so a CPU with
// AVX-512 under an OS or hypervisor that does not enable it reads as without.
int loom_cpu_has_avx512f(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") ? 1 : 0;
#else
    return 0;
#endif
}

int loom_cpu_has_avx2_fma(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? 1 : 0;
#else
    return 0;
#endif
}
