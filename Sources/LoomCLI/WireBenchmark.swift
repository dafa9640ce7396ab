import Foundation
import TensorCore
import Wire

/// The measurements behind `loom bench wire`: one-way tensor transfers to a second process
/// (`WireBenchmarkPeer`) over shared memory, ipc:// and tcp://127.0.0.1, against memcpy of the
/// same bytes in this process, and small-message round trips.
///
/// A transfer sample runs from the tensor in this process to the peer's ack, sent after it
/// consumed the bytes (see `WireBenchmarkPeer` for what each path reads). Rates are bytes
/// (10⁹ per GB) over the median sample.
enum WireBenchmark {
    /// The ways bytes reach the peer.
    enum Path: String, CaseIterable {
        /// Shared memory, read in place by the peer.
        case local
        /// Shared memory, copied into a new `Tensor` by the peer.
        case localCopy = "local-copy"
        /// A zero-copy ZeroMQ frame over ipc://.
        case ipc
        /// A zero-copy ZeroMQ frame over tcp://127.0.0.1.
        case tcp
    }

    /// What to run.
    struct Configuration {
        /// Frame sizes in bytes, each a multiple of 4 (float32 tensors).
        var sizes: [Int]
        /// Timed samples per size after one warm-up (more for small frames, fewer for huge ones).
        var repeatCount: Int
        /// Round trips per ping-pong latency figure.
        var pingCount: Int

        /// Samples for frames of `bytes`: 10× for ≤ 1 MiB (they take microseconds), half for
        /// ≥ 256 MiB (at least 5).
        func sampleCount(bytes: Int) -> Int {
            if bytes <= 1 << 20 { return repeatCount * 10 }
            if bytes >= 256 << 20 { return max(5, repeatCount / 2) }
            return repeatCount
        }
    }

    /// The figures for one frame size.
    struct Row {
        var bytes: Int
        var sampleCount: Int
        /// memcpy of the same bytes into a pre-faulted buffer, GB/s at the median.
        var memcpy: Double
        /// Each path's GB/s at the median; a path that did not run is absent.
        var rates: [Path: Double]
    }

    /// Everything one run measured.
    struct Report {
        /// memcpy of 64 MiB, GB/s at the median of `repeatCount` (at least 10) samples.
        var memcpy64MiB: Double
        var rows: [Row]
        /// Median round trip of a 4-byte message, µs.
        var pingMicrosecondsIPC: Double
        var pingMicrosecondsTCP: Double
        /// Whether the peer's `HostIdentity` allowed shared memory (always, unless /proc is odd).
        var sharesMemory: Bool
        /// Folded from the peer's checksums, so no transfer can be skipped.
        var checksum: Double
    }

    /// How long the benchmark waits for the peer to start or to answer one request.
    static let peerDeadline: Duration = .seconds(60)

    /// A wrapping sum of one byte per 4 KiB page and the last byte: it touches every page the
    /// bytes occupy, proving them mapped and present, without a second full pass over them.
    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        guard !bytes.isEmpty else { return 0 }
        var sum = UInt64(bytes[bytes.count - 1])
        for offset in stride(from: 0, to: bytes.count, by: 4096) { sum &+= UInt64(bytes[offset]) }
        return sum
    }

    /// Runs the whole benchmark against a peer process spawned from this executable.
    /// - Parameter progress: called with one line per finished measurement.
    /// - Throws: `CommandError.failure` when the peer cannot start or stops answering.
    static func run(_ configuration: Configuration, progress: (String) -> Void) throws(CommandError) -> Report {
        do {  // Wire throws WireError, the peer plumbing CommandError
            let context = try Context()
            // An abstract-namespace name: no socket file, so a killed run leaves nothing behind.
            let ipcName = "@loom-bench-wire-\(getpid())"
            let ipc = try Socket(context, kind: .pair)
            try ipc.set(.sendTimeout(peerDeadline))  // a PAIR send to a dead peer blocks forever
            try ipc.bind("ipc://" + ipcName)
            let tcp = try Socket(context, kind: .pair)
            try tcp.set(.sendTimeout(peerDeadline))
            try tcp.bind("tcp://127.0.0.1:*")
            let peer = try spawnPeer(ipcEndpoint: ipc.lastEndpoint, tcpEndpoint: tcp.lastEndpoint)
            defer {
                kill(peer.processIdentifier, SIGKILL)
                peer.waitUntilExit()
            }
            guard let hello = try ipc.receive(timeout: peerDeadline), hello.frames.count == 2 else {
                throw CommandError.failure("the bench wire peer (pid \(peer.processIdentifier)) did not say hello within \(peerDeadline); see its stderr above")
            }
            let sharesMemory = HostIdentity.current.sharesMemory(with: HostIdentity(String(decoding: hello.frames[1], as: UTF8.self)))
            var checksum = 0.0
            let largest = configuration.sizes.max() ?? 4
            let sender = sharesMemory ? try SharedTensorSender(slotCount: 2, slotBytes: largest) : nil
            var rows: [Row] = []
            for bytes in configuration.sizes {
                let count = configuration.sampleCount(bytes: bytes)
                let tensor = try Tensor(shape: [bytes / 4], frame: Data(repeating: 0x3c, count: bytes))
                let copy = MemcpyBaseline(bytes: bytes)
                var row = Row(bytes: bytes, sampleCount: count, memcpy: .nan, rates: [:])
                for path in Path.allCases {
                    let samples: Samples
                    switch path {
                    case .local, .localCopy:
                        guard let sender else { continue }
                        let command = Data((path == .local ? "shm-view" : "shm-copy").utf8)
                        let transfer = { () throws(CommandError) -> Double in
                            let handle = try wire { () throws(WireError) in try sender.send(tensor) }
                            return try request([command, handle.header], on: ipc)
                        }
                        guard path == .local else {
                            samples = try Samples.measure(count: count, checksum: &checksum, transfer)
                            break
                        }
                        // memcpy alternates with the local path sample by sample: this machine's
                        // memory bandwidth drifts, and the ratio must see the same drift.
                        let (local, baseline) = try Samples.measureAlternately(count: count, checksum: &checksum, transfer, copy.run)
                        samples = local
                        row.memcpy = rate(bytes: bytes, baseline)
                    case .ipc:
                        samples = try Samples.measure(count: count, checksum: &checksum) { () throws(CommandError) -> Double in
                            try request([Data("bytes".utf8), tensor.frame], on: ipc)
                        }
                    case .tcp:
                        samples = try Samples.measure(count: count, checksum: &checksum) { () throws(CommandError) -> Double in
                            try request([Data("bytes".utf8), tensor.frame], on: tcp)
                        }
                    }
                    row.rates[path] = rate(bytes: bytes, samples)
                }
                if row.memcpy.isNaN { row.memcpy = rate(bytes: bytes, Samples.measure(count: count, checksum: &checksum, copy.run)) }
                rows.append(row)
                progress("\(sizeLabel(bytes)): " + Path.allCases.compactMap { path in
                    row.rates[path].map { String(format: "%@ %.2f GB/s", path.rawValue, $0) }
                }.joined(separator: ", ") + String(format: ", memcpy %.2f GB/s", row.memcpy))
            }
            // The 64 MiB reference comes from its row when that size ran (alternated with the
            // local path), else from a run of its own.
            let memcpy64 = rows.first { $0.bytes == 64 << 20 }?.memcpy ?? rate(
                bytes: 64 << 20, Samples.measure(count: max(10, configuration.repeatCount), checksum: &checksum, MemcpyBaseline(bytes: 64 << 20).run))
            let ping = [Data("ping".utf8)]
            let pingIPC = try Samples.measure(count: configuration.pingCount, checksum: &checksum) { () throws(CommandError) -> Double in try request(ping, on: ipc) }
            let pingTCP = try Samples.measure(count: configuration.pingCount, checksum: &checksum) { () throws(CommandError) -> Double in try request(ping, on: tcp) }
            progress(String(format: "ping-pong: ipc %.1f µs, tcp %.1f µs", pingIPC.medianMilliseconds * 1e3, pingTCP.medianMilliseconds * 1e3))
            try ipc.send([Data("quit".utf8)], wait: false)
            return Report(memcpy64MiB: memcpy64, rows: rows, pingMicrosecondsIPC: pingIPC.medianMilliseconds * 1e3,
                          pingMicrosecondsTCP: pingTCP.medianMilliseconds * 1e3, sharesMemory: sharesMemory, checksum: checksum)
        } catch let error as CommandError {
            throw error
        } catch {
            throw .failure("bench wire: \(error)")
        }
    }

    /// Runs a Wire call, turning its error into a run-time failure of the command.
    private static func wire<T>(_ body: () throws(WireError) -> T) throws(CommandError) -> T {
        do throws(WireError) { return try body() } catch { throw .failure("bench wire: \(error)") }
    }

    /// Sends `frames` and waits for the peer's answer. - Returns: its checksum, folded to a Double.
    private static func request(_ frames: [Data], on socket: borrowing Socket) throws(CommandError) -> Double {
        let answer = try wire { () throws(WireError) in
            try socket.send(frames) ? try socket.receive(timeout: peerDeadline) : nil
        }
        guard let answer, let kind = answer.frames.first.map({ String(decoding: $0, as: UTF8.self) }) else {
            throw .failure("bench wire: the peer did not take a request or answer within \(peerDeadline); see its stderr above")
        }
        switch kind {
        case "ping": return 0
        case "ack" where answer.frames.count == 2 && answer.frames[1].count == 8:
            return Double(answer.frames[1].reduce(0) { $0 &+ UInt32($1) })
        default:
            let text = answer.frames.dropFirst().first.map { String(decoding: $0, as: UTF8.self) } ?? ""
            throw .failure("bench wire: the peer answered '\(kind)' \(text)")
        }
    }

    private static func rate(bytes: Int, _ samples: Samples) -> Double {
        Double(bytes) / (samples.medianMilliseconds * 1e-3) / 1e9
    }

    /// memcpy of `bytes` from a filled buffer into a pre-faulted one: the rate of moving the
    /// bytes once, the limit for any path that copies them.
    final class MemcpyBaseline {
        let bytes: Int
        private let source: UnsafeMutableRawPointer
        private let destination: UnsafeMutableRawPointer

        init(bytes: Int) {
            self.bytes = bytes
            source = .allocate(byteCount: bytes, alignment: 64)
            destination = .allocate(byteCount: bytes, alignment: 64)
            memset(source, 0x3c, bytes)
            memset(destination, 0, bytes)  // faults every page in before timing
        }

        deinit {
            source.deallocate()
            destination.deallocate()
        }

        /// One copy. - Returns: the last byte copied, for the checksum.
        func run() -> Double {
            memcpy(destination, source, bytes)
            return Double(destination.load(fromByteOffset: bytes - 1, as: UInt8.self))
        }
    }

    /// `1 KiB`, `64 MiB`: sizes in binary units, as the table prints them.
    static func sizeLabel(_ bytes: Int) -> String {
        for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] where bytes >= 1 << shift && bytes % (1 << shift) == 0 {
            return "\(bytes >> shift) \(unit)"
        }
        return "\(bytes) B"
    }

    /// Starts this executable as `loom bench wire --serve IPC,TCP`.
    private static func spawnPeer(ipcEndpoint: String, tcpEndpoint: String) throws(CommandError) -> Process {
        let peer = Process()
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        peer.executableURL = URL(fileURLWithPath: executable)
        peer.arguments = ["bench", "wire", "--serve", "\(ipcEndpoint),\(tcpEndpoint)"]
        peer.standardOutput = FileHandle.nullDevice  // stdout stays the table or the JSON
        do { try peer.run() } catch {
            throw .failure("bench wire: cannot start the peer process \(executable): \(error)")
        }
        return peer
    }
}
