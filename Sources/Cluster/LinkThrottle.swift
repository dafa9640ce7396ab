import Foundation

/// A modelled network link for tensors between gang ranks: loopback is far faster than the
/// links real clusters have, so runs that study communication slow each link down to this.
public struct LinkThrottle: Sendable, Equatable {
    /// Bandwidth in bytes per second (1 GB/s = 1e9).
    public var bytesPerSecond: Double
    /// Time before the first byte arrives.
    public var latency: Duration

    /// - Precondition: a positive bandwidth and a non-negative latency.
    public init(bytesPerSecond: Double, latency: Duration) {
        precondition(bytesPerSecond > 0 && latency >= .zero, "a link needs a positive bandwidth and a non-negative latency")
        self.bytesPerSecond = bytesPerSecond
        self.latency = latency
    }
}

/// The system-wide monotonic clock in nanoseconds: comparable between processes on one machine,
/// which is what the receiver of a throttled link needs to know when a tensor was sent.
enum MonotonicTime {
    static var nanoseconds: UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
