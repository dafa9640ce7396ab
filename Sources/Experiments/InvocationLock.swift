import Foundation

/// The lease an invocation holds on one experiment of one store: an exclusive `flock` on a file
/// beside the store, which the kernel releases when the process ends however it ends (`kill -9`
/// included), so a lock never outlives its holder and no timeout has to guess.
///
/// Different experiments take different files and run side by side in one store.
public final class InvocationLock: Sendable {
    /// The lock file.
    public let path: String
    private let descriptor: Int32

    /// Takes the lock for `experiment` of the store at `storePath`, without waiting.
    /// - Returns: nil when another process holds it.
    /// - Throws: `StoreError` when the lock file cannot be created or locked for another reason.
    public static func acquire(experiment: String, storePath: String) throws(StoreError) -> InvocationLock? {
        let directory = URL(fileURLWithPath: storePath).deletingLastPathComponent().appendingPathComponent("locks")
        do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw StoreError(path: storePath, step: "create \(directory.path)", code: 0, message: error.localizedDescription)
        }
        // The name's hash, so any experiment name makes a safe file name.
        let path = directory.appendingPathComponent("experiment-\(fnv1aHex(experiment)).lock").path
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw StoreError(path: storePath, step: "open the lock file \(path)", code: 0, message: String(cString: strerror(errno)))
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            close(descriptor)
            if code == EWOULDBLOCK { return nil }
            throw StoreError(path: storePath, step: "lock \(path)", code: 0, message: String(cString: strerror(code)))
        }
        // For a person who looks: who holds it. The store's invocation row is what Loom reads.
        let note = Array("pid \(getpid()) on \(ProcessInfo.processInfo.hostName): experiment \(experiment)\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = note.withUnsafeBufferPointer { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        return InvocationLock(path: path, descriptor: descriptor)
    }

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }      // closing the descriptor releases the lock
}
