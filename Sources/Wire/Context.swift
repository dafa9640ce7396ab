internal import CZeroMQ

/// A ZeroMQ context: the I/O threads and the registry of `inproc://` endpoints that sockets share.
///
/// `@unchecked Sendable` because zmq(7) states that contexts are thread-safe; sockets are not, and
/// each `Socket` stays on the thread that made it.
public final class Context: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    /// Creates a context with `ioThreads` libzmq I/O threads.
    /// - Throws: `WireError.call` when libzmq cannot create it (out of file descriptors).
    public init(ioThreads: Int = 1) throws(WireError) {
        LargeMessageMemory.configure()
        guard let handle = zmq_ctx_new() else { throw .lastCall("zmq_ctx_new") }
        if zmq_ctx_set(handle, ZMQ_IO_THREADS, Int32(ioThreads)) != 0 {
            let error = WireError.lastCall("zmq_ctx_set(ZMQ_IO_THREADS, \(ioThreads))")
            zmq_ctx_term(handle)
            throw error
        }
        self.handle = handle
    }

    /// Whether this libzmq was built with CURVE security (libsodium).
    public static var hasCurve: Bool { zmq_has("curve") == 1 }

    deinit {
        // Every socket sets LINGER 0, so termination never waits for unsent messages.
        zmq_ctx_term(handle)
    }
}
