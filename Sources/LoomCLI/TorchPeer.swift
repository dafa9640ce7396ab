import Foundation

/// PyTorch in a child process (`bench/torch_peer.py`) for `--compare-torch`: one timed sample
/// per request, so a benchmark alternates Loom's samples with PyTorch's in one invocation.
///
/// The child is started from an argument vector (never a shell) and speaks one JSON object per
/// line. A request that gets no answer within `timeout` stops the peer; the benchmark goes on
/// without it and says so.
final class TorchPeer {
    /// What the peer reported about itself.
    let version: String, threads: Int, capability: String
    private let process: Process
    private let input: FileHandle
    private let lines = LineReader()
    private let timeout: Duration
    /// Why the peer stopped answering, once it has.
    private(set) var failure: String?

    /// The peer script: `LOOM_TORCH_PEER`, else `bench/torch_peer.py` in the source tree this
    /// binary was built from.
    static var scriptPath: String {
        if let path = ProcessInfo.processInfo.environment["LOOM_TORCH_PEER"], !path.isEmpty { return path }
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return sources.appendingPathComponent("bench/torch_peer.py").path
    }

    /// Starts the peer with `python` (a path, or a name looked up in PATH) on `threads` threads.
    /// - Throws: `CommandError.failure` with the reason and the fix when Python or the script is
    ///   missing, PyTorch is not importable, or the peer does not answer.
    init(python: String, threads: Int, timeout: Duration = .seconds(600)) throws(CommandError) {
        let script = Self.scriptPath
        guard FileManager.default.isReadableFile(atPath: script) else {
            throw .failure("the PyTorch peer script is not at \(script) (was the source tree moved?); set LOOM_TORCH_PEER=path/to/bench/torch_peer.py")
        }
        guard let executable = Self.resolve(python) else {
            throw .failure("--python \(python): no such executable (give a path, or a name on PATH)")
        }
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [script]
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        input = stdin.fileHandleForWriting
        self.timeout = timeout
        do {
            try process.run()
        } catch {
            throw .failure("could not start \(executable) \(script): \(error.localizedDescription)")
        }
        lines.start(reading: stdout.fileHandleForReading)
        let hello: [String: Any]
        do {
            hello = try Self.ask(["op": "hello", "threads": threads], input: input, lines: lines, timeout: .seconds(120))
        } catch {
            process.terminate()
            throw .failure("--compare-torch: \(error.description)")
        }
        version = hello["torch"] as? String ?? "unknown"
        self.threads = hello["threads"] as? Int ?? threads
        capability = hello["capability"] as? String ?? "unknown"
    }

    deinit {
        try? input.close()
        if process.isRunning { process.terminate() }
    }

    /// One sample of `request` as PyTorch timed it, or nil once the peer has failed (`failure`).
    func sample(_ request: [String: Any]) -> Duration? {
        guard failure == nil else { return nil }
        do throws(CommandError) {
            let answer = try Self.ask(request, input: input, lines: lines, timeout: timeout)
            guard let seconds = answer["seconds"] as? Double, seconds.isFinite, seconds >= 0 else {
                throw CommandError.failure("the peer answered without a time: \(answer)")
            }
            return .nanoseconds(Int64(seconds * 1e9))
        } catch {
            failure = error.description
            if process.isRunning { process.terminate() }
            return nil
        }
    }

    private static func ask(_ request: [String: Any], input: FileHandle, lines: LineReader,
                            timeout: Duration) throws(CommandError) -> [String: Any] {
        guard let data = try? JSONSerialization.data(withJSONObject: request) else { throw .failure("could not encode \(request)") }
        do {
            try input.write(contentsOf: data + Data([0x0A]))
        } catch {
            throw .failure("the PyTorch peer stopped (\(error.localizedDescription))")
        }
        guard let line = lines.next(timeout: timeout) else {
            throw .failure("the PyTorch peer gave no answer within \(timeout) (or exited)")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
            throw .failure("the PyTorch peer answered something that is not a JSON object: \(line.prefix(200))")
        }
        if let error = object["error"] as? String { throw .failure(error) }
        return object
    }

    /// `name` as an executable path: itself when it holds a slash, else the first match on PATH.
    private static func resolve(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// Lines of a child's standard output, read on a thread of their own, handed out with a deadline.
private final class LineReader: @unchecked Sendable {
    // `buffer` and `finished` are guarded by `condition`.
    private let condition = NSCondition()
    private var buffer: [String] = []
    private var finished = false
    /// A line longer than this is cut (the peer's answers are a few dozen bytes).
    private static let maxLine = 1 << 16

    func start(reading handle: FileHandle) {
        let thread = Thread { [self] in
            var pending = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: 0x0A) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...newline)
                    condition.lock(); buffer.append(line); condition.signal(); condition.unlock()
                }
                if pending.count > Self.maxLine { pending.removeAll() }
            }
            condition.lock(); finished = true; condition.broadcast(); condition.unlock()
        }
        thread.start()
    }

    /// The next line, or nil when none came within `timeout` or the stream ended.
    func next(timeout: Duration) -> String? {
        let deadline = Date(timeIntervalSinceNow: Double(timeout.components.seconds) + Double(timeout.components.attoseconds) * 1e-18)
        condition.lock()
        defer { condition.unlock() }
        while buffer.isEmpty && !finished {
            if !condition.wait(until: deadline) { break }
        }
        return buffer.isEmpty ? nil : buffer.removeFirst()
    }
}
