internal import CSystem

/// glibc settings that keep large ZeroMQ messages off the mmap/munmap path.
///
/// libzmq mallocs every received message; glibc serves a 64 MB request with a fresh mmap and
/// unmaps it on free, so each large message costs page faults and a TLB shootdown. Measured on
/// ipc:// with 64 MB frames: 1.8 GB/s by default, 6.5 GB/s with these settings.
enum LargeMessageMemory {
    /// Applies the settings once per process (the first `Context` does it).
    static func configure() {
        _ = applied
    }

    private static let applied: Bool = {
        loom_malloc_keep_large_blocks()
        return true
    }()
}
