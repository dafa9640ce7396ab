#pragma once
// Linux calls that Swift's Glibc module does not import: mallopt, malloc_trim, mallinfo2, eventfd,
// memfd_create, file seals and C11 atomics on shared memory.
#include <malloc.h>
#include <limits.h>
#include <stdint.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>

// One arena, no mmap for large blocks and no trimming keep big, recycled buffers (ZeroMQ
// messages, tensors) in the heap instead of being mapped and unmapped on every use.
static inline void loom_malloc_keep_large_blocks(void) {
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
}

/// Returns the heap's free memory to the system, keeping `keep` bytes at its top for reuse
/// (malloc_trim(3)); with M_TRIM_THRESHOLD at INT_MAX, free() alone never does.
static inline int loom_malloc_release(size_t keep) {
    return malloc_trim(keep);
}

/// Bytes free inside malloc's arenas (mallinfo2's fordblks), resident or already released.
static inline size_t loom_malloc_free_bytes(void) {
    return mallinfo2().fordblks;
}

// memfd_create and the seal constants sit behind _GNU_SOURCE in glibc's headers, which Swift's
// Glibc module does not define; the values below are the kernel's ABI (linux/memfd.h, fcntl.h).
#define LOOM_MFD_CLOEXEC 0x0001U
#define LOOM_MFD_ALLOW_SEALING 0x0002U
#define LOOM_F_ADD_SEALS 1033
#define LOOM_F_GET_SEALS 1034
#define LOOM_F_SEAL_SEAL 0x0001
#define LOOM_F_SEAL_SHRINK 0x0002
#define LOOM_F_SEAL_GROW 0x0004

/// An anonymous file in memory (memfd), close-on-exec and sealable; -1 and errno on failure.
static inline int loom_memfd_create(const char *name) {
    return (int)syscall(SYS_memfd_create, name, LOOM_MFD_CLOEXEC | LOOM_MFD_ALLOW_SEALING);
}

/// Seals a memfd against shrinking, growing and further seals, so a peer that mapped it can
/// never see it truncated under its mapping (which would raise SIGBUS on access).
static inline int loom_seal_size(int fd) {
    return fcntl(fd, LOOM_F_ADD_SEALS, LOOM_F_SEAL_SHRINK | LOOM_F_SEAL_GROW | LOOM_F_SEAL_SEAL);
}

/// Whether `fd` is sealed against shrinking (a mapping of it cannot fault with SIGBUS).
static inline int loom_is_size_sealed(int fd) {
    int seals = fcntl(fd, LOOM_F_GET_SEALS);
    return seals >= 0 && (seals & LOOM_F_SEAL_SHRINK) != 0;
}

/// Opens `path` read-write and close-on-exec (fcntl.h's open is variadic, which Swift cannot call).
static inline int loom_open_read_write(const char *path) {
    return open(path, O_RDWR | O_CLOEXEC);
}

// Slot flags live in memory shared between processes, where Swift's Atomic cannot be placed.
static inline uint32_t loom_atomic_load_acquire_u32(const uint32_t *p) {
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
static inline void loom_atomic_store_release_u32(uint32_t *p, uint32_t value) {
    __atomic_store_n(p, value, __ATOMIC_RELEASE);
}
static inline uint64_t loom_atomic_load_acquire_u64(const uint64_t *p) {
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
static inline void loom_atomic_store_release_u64(uint64_t *p, uint64_t value) {
    __atomic_store_n(p, value, __ATOMIC_RELEASE);
}
/// Sets `*p` from `expected` to `desired` atomically; returns whether it did.
static inline int loom_atomic_compare_exchange_u32(uint32_t *p, uint32_t expected, uint32_t desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

// posix_spawn's descriptor closing (glibc 2.34+) and new-session flag sit behind _GNU_SOURCE.
#include <spawn.h>
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);
#define LOOM_POSIX_SPAWN_SETSID 0x80

/// Closes every descriptor from `from` up in the spawned child.
static inline int loom_spawn_close_from(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

// The calling thread's CPU affinity by raw system call: glibc's sched_[gs]etaffinity and
// cpu_set_t sit behind _GNU_SOURCE. `getaffinity` returns the bytes of mask the kernel wrote.
static inline long loom_thread_getaffinity(unsigned char *mask, size_t bytes) {
    return syscall(SYS_sched_getaffinity, 0, bytes, mask);
}
static inline long loom_thread_setaffinity(const unsigned char *mask, size_t bytes) {
    return syscall(SYS_sched_setaffinity, 0, bytes, mask);
}
