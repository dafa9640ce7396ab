#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Whole-file reads and writes through POSIX calls, so that TensorCore needs no Foundation and its
/// errors carry the system's own text and errno.
enum FileBytes {
    /// The contents of the file at `path`.
    /// - Throws: `TensorError.io` with the system's reason (missing file, permission, a directory).
    static func load(_ path: String) throws(TensorError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw lastError(path, "cannot open for reading") }
        defer { _ = close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let got = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if got == 0 { return bytes }
            if got < 0 {
                if errno == EINTR { continue }
                throw lastError(path, "cannot read")
            }
            bytes.append(contentsOf: chunk[0..<got])
        }
    }

    /// Replaces the file at `path` with `bytes` (created with mode 0644 if missing).
    /// - Throws: `TensorError.io` with the system's reason (missing directory, permission, full disk).
    static func store(_ bytes: [UInt8], to path: String) throws(TensorError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw lastError(path, "cannot open for writing") }
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { buffer in
                // bytes.count > written ≥ 0, so the buffer is not empty and has a base address.
                write(descriptor, buffer.baseAddress! + written, buffer.count - written)
            }
            if result < 0 {
                if errno == EINTR { continue }
                let error = lastError(path, "cannot write")  // read errno before close overwrites it
                _ = close(descriptor)
                throw error
            }
            written += result
        }
        // close can report a deferred write error (NFS, quota), so it is checked, not deferred.
        guard close(descriptor) == 0 else { throw lastError(path, "cannot finish writing") }
    }

    /// `.io` for the failing call just made: call it before anything else can change `errno`.
    private static func lastError(_ path: String, _ action: String) -> TensorError {
        let code = errno
        return .io(path: path, reason: "\(action): \(String(cString: strerror(code))) (errno \(code))")
    }
}
