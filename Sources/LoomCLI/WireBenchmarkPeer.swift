import Foundation
import Wire

/// The second process of `loom bench wire`: it connects to the benchmark's ipc and tcp endpoints
/// and answers each request after consuming the bytes, so every transfer is timed from the
/// tensor in one process to bytes read in another.
///
/// Requests (first frame) and what the peer does before acking with an 8-byte checksum:
///   `shm-view` header  maps the slot in place (`SharedTensorReceiver.bytes`), reads one byte per
///                      page (`WireBenchmark.checksum`), drops the view (which frees the slot);
///   `shm-copy` header  copies the slot into a new `Tensor` (`tensor`), reads one byte per page;
///   `bytes` frame      reads one byte per page of the received frame in place;
///   `ping`             answers `ping` at once; `quit` ends the peer.
/// It says `hello` with its `HostIdentity` first, and exits on its own when the benchmark
/// process is gone or silent for `idleLimit`, or an answer cannot be queued within
/// `sendLimit` (a PAIR socket whose peer died blocks sends forever).
enum WireBenchmarkPeer {
    /// The longest the peer waits for a request before giving up.
    static let idleLimit: Duration = .seconds(120)
    /// The longest the peer waits to queue an answer.
    static let sendLimit: Duration = .seconds(5)

    /// Serves until `quit`, the parent's death or `idleLimit` of silence.
    /// - Throws: `WireError` when a socket fails.
    static func serve(ipcEndpoint: String, tcpEndpoint: String) throws(WireError) {
        let parent = getppid()
        let context = try Context()
        let ipc = try Socket(context, kind: .pair)
        try ipc.set(.sendTimeout(sendLimit))
        try ipc.connect(ipcEndpoint)
        let tcp = try Socket(context, kind: .pair)
        try tcp.set(.sendTimeout(sendLimit))
        try tcp.connect(tcpEndpoint)
        try ipc.send([Data("hello".utf8), Data(HostIdentity.current.text.utf8)])
        let receiver = SharedTensorReceiver()
        var idle: Duration = .zero
        while getppid() == parent && idle < idleLimit {
            let ready = try Poller.wait([ipc.pollItem, tcp.pollItem], timeout: .seconds(1))
            idle = ready.contains(true) ? .zero : idle + .seconds(1)
            if ready[0], let request = try ipc.receive(timeout: .zero) {
                guard try answer(request.frames, on: ipc, receiver: receiver) else { return }
            }
            if ready[1], let request = try tcp.receive(timeout: .zero) {
                guard try answer(request.frames, on: tcp, receiver: receiver) else { return }
            }
        }
    }

    /// Consumes one request and acks it. - Returns: false for `quit` or when the answer could
    /// not be queued (the benchmark process is gone).
    private static func answer(_ frames: [Data], on socket: borrowing Socket,
                               receiver: SharedTensorReceiver) throws(WireError) -> Bool {
        let command = String(decoding: frames.first ?? Data(), as: UTF8.self)
        var sum: UInt64 = 0
        do throws(WireError) {
            switch command {
            case "ping":
                return try socket.send([Data("ping".utf8)])
            case "quit":
                return false
            case "bytes" where frames.count == 2:
                sum = frames[1].withUnsafeBytes { WireBenchmark.checksum($0) }
            case "shm-view" where frames.count == 2:
                let view = try receiver.bytes(SharedTensorHandle(header: frames[1]))
                sum = view.withUnsafeBytes { WireBenchmark.checksum($0) }
            case "shm-copy" where frames.count == 2:
                let tensor = try receiver.tensor(SharedTensorHandle(header: frames[1]))
                sum = tensor.withUnsafeBufferPointer { WireBenchmark.checksum(UnsafeRawBufferPointer($0)) }
            default:
                throw .malformed("bench wire peer: unknown request '\(command)' with \(frames.count) frame(s)")
            }
        } catch {
            return try socket.send([Data("error".utf8), Data(error.description.utf8)])
        }
        return try socket.send([Data("ack".utf8), withUnsafeBytes(of: sum.littleEndian) { Data($0) }])
    }
}
