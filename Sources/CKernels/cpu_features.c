#define _GNU_SOURCE
#include "loom_kernels.h"
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

// The CPUs the process may run on: its affinity mask (taskset, a Slurm or container cpuset), which
// can be far fewer than the machine's online CPUs. Asked for the process (its main thread's
// mask), in a set sized for up to 8,192 CPUs; the online count when the kernel does not say.
int loom_cpus_allowed(void) {
    const long online = sysconf(_SC_NPROCESSORS_ONLN);
    const int most = 8192;
    cpu_set_t *set = CPU_ALLOC(most);
    if (set == NULL) return online > 0 ? (int)online : 1;
    const size_t bytes = CPU_ALLOC_SIZE(most);
    CPU_ZERO_S(bytes, set);
    int count = 0;
    if (sched_getaffinity(getpid(), bytes, set) == 0) count = CPU_COUNT_S(bytes, set);
    CPU_FREE(set);
    if (count > 0) return count;
    return online > 0 ? (int)online : 1;
}

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
