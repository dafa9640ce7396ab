#pragma once
// Linux calls that Swift's Glibc module does not import: mallopt, eventfd, memfd_create.
#include <malloc.h>
#include <limits.h>
#include <sys/eventfd.h>
#include <sys/mman.h>

// One arena, no mmap for large blocks and no trimming keep big, recycled buffers (ZeroMQ
// messages, tensors) in the heap instead of being mapped and unmapped on every use.
static inline void loom_malloc_keep_large_blocks(void) {
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
}
