import Synchronization
internal import CSystem

/// glibc settings that keep large ZeroMQ messages off the mmap/munmap path, and the release of
/// memory that a large message leaves behind.
///
/// libzmq mallocs every received message; glibc serves a 64 MB request with a fresh mmap and
/// unmaps it on free, so each large message costs page faults and a TLB shootdown. Measured on
/// ipc:// with 64 MB frames: 1.8 GB/s by default, 6.5 GB/s with these settings.
///
/// The price of those settings is that glibc never gives freed memory back: one 500 MB message
/// would leave the process 500 MB larger for good. So when a received frame of at least
/// `releaseThreshold` bytes is freed and malloc holds more than `retainedBytes` free, the heap is
/// trimmed, keeping `retainedBytes` at its top. Keeping some matters: a run that exchanges tensors
/// of one size reuses that memory, and releasing it each time costs page faults again (a 64 MiB
/// malloc, fill and free: 7 GB/s kept, 1.4 GB/s trimmed to zero). The free-bytes check matters
/// too: a trim also releases free blocks below the top, and trimming after every 64 MiB frame
/// halved `loom bench wire` over tcp (4 → 1.1 GB/s).
public enum LargeMessageMemory {
    /// Applies the settings once per process (the first `Context` does it, and every `loom`
    /// command at its start, so benchmarks measure with the workers' allocator).
    public static func configure() {
        _ = applied
    }

    private static let applied: Bool = {
        loom_malloc_keep_large_blocks()
        return true
    }()

    private static let threshold = Atomic<Int>(64 << 20)
    private static let retained = Atomic<Int>(256 << 20)
    private static let releases = Atomic<Int>(0)

    /// Freeing a received frame (or discarding an over-limit message) of at least this many bytes
    /// trims the heap. Default 64 MiB; tests lower it.
    public static var releaseThreshold: Int {
        get { threshold.load(ordering: .relaxed) }
        set { threshold.store(max(1, newValue), ordering: .relaxed) }
    }

    /// Free bytes malloc may keep for the next large message before a trim. Default 256 MiB,
    /// which covers the round trips of 64 MiB and 256 MiB tensors; tests set 0.
    public static var retainedBytes: Int {
        get { retained.load(ordering: .relaxed) }
        set { retained.store(max(0, newValue), ordering: .relaxed) }
    }

    /// How many times large frames made the heap trim, for tests and logs.
    public static var releaseCount: Int { releases.load(ordering: .relaxed) }

    /// Called after `bytes` of received message memory went back to malloc.
    static func freed(bytes: Int) {
        guard bytes >= releaseThreshold else { return }
        let keep = retainedBytes
        guard loom_malloc_free_bytes() > keep else { return }
        releases.add(1, ordering: .relaxed)
        _ = loom_malloc_release(keep)
    }
}
