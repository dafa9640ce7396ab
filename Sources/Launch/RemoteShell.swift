import Foundation
import Synchronization

/// Runs commands on hosts through the remote shell program (ssh, or `--rsh`), executed directly
/// as `PROGRAM… DESTINATION 'ARG' 'ARG'…`: nothing passes through a local shell, and the quoting
/// of `RemoteCommand` gives the remote shell exactly the arguments meant.
public struct RemoteShell: Sendable {
    /// What one command did on its host.
    public struct Outcome: Sendable {
        public var status: Int32
        public var output: String
        public var errorOutput: String
        public var timedOut: Bool
        /// The last lines of stderr, for a message that says why a host failed.
        public var errorTail: String {
            let lines = errorOutput.split(separator: "\n", omittingEmptySubsequences: true).suffix(3)
            return lines.isEmpty ? "(nothing on stderr)" : lines.joined(separator: " | ")
        }
    }

    /// The program and its own options, e.g. `["ssh", "-o", "BatchMode=yes"]`.
    public var program: [String]
    /// How long one command may take before it is killed.
    public var timeout: Duration
    /// Bytes kept of each output stream; the rest is read and dropped.
    public static let outputLimit = 1 << 20

    /// The default remote shell: ssh that never prompts (a prompt would hang the launcher) and
    /// gives up on an unreachable host after 10 s.
    public static let defaultProgram = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10"]

    public init(program: [String], timeout: Duration = .seconds(60)) {
        self.program = program
        self.timeout = timeout
    }

    /// Splits a `--rsh` value on blanks (no quoting, no shell): `ssh -p 2222` → ssh, -p, 2222.
    public static func program(from text: String) throws(LaunchError) -> [String] {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let first = words.first else { throw LaunchError("--rsh is empty; give a program such as ssh") }
        guard RemoteCommand.untransmittable(words) == nil, !first.hasPrefix("-") else {
            throw LaunchError("--rsh '\(text)' must start with a program, e.g. 'ssh -p 2222'")
        }
        return words
    }

    /// The program's path: as given when it holds a `/`, else the first match on PATH.
    public func executablePath() throws(LaunchError) -> String {
        let name = program[0]
        if name.contains("/") {
            guard FileManager.default.isExecutableFile(atPath: name) else {
                throw LaunchError("the remote shell \(name) is not an executable file")
            }
            return name
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw LaunchError("the remote shell '\(name)' is not on PATH; install it (for ssh: apt-get install openssh-client) or give --rsh with a full path")
    }

    /// Runs `command` on `destination` and waits for it (at most `timeout`).
    /// - Throws: `LaunchError` when the remote shell cannot be started; a failure on the far side
    ///   is an outcome with its status (ssh's 255 means the host was not reached).
    public func run(_ destination: String, _ command: [String]) throws(LaunchError) -> Outcome {
        if let bad = RemoteCommand.untransmittable(command + [destination]) {
            throw LaunchError("an argument holds a NUL byte and cannot travel to \(destination): \(bad.debugDescription)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try executablePath())
        process.arguments = Array(RemoteCommand.argv(rsh: program, destination: destination, command: command).dropFirst())
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        let collected = Collected()
        let group = DispatchGroup()
        for (handle, isError) in [(stdout.fileHandleForReading, false), (stderr.fileHandleForReading, true)] {
            group.enter()
            Thread.detachNewThread {
                collected.drain(handle, isError: isError)
                group.leave()
            }
        }
        do { try process.run() } catch {
            throw LaunchError("cannot run the remote shell \(program[0]): \(error.localizedDescription)")
        }
        let deadline = ContinuousClock.now + timeout
        var timedOut = false
        while process.isRunning {
            if ContinuousClock.now >= deadline {
                // Foundation starts the child in a process group of its own: signal the whole
                // group, or a command the remote shell forked would keep running (and keep us waiting).
                timedOut = true
                kill(-process.processIdentifier, SIGTERM)
                Thread.sleep(forTimeInterval: 1)
                if process.isRunning { kill(-process.processIdentifier, SIGKILL) }
                break
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        process.waitUntilExit()
        // A process the command left behind may hold the pipes open; do not wait for it.
        _ = group.wait(timeout: .now() + 2)
        let (output, errors) = collected.text
        return Outcome(status: timedOut ? -1 : process.terminationStatus, output: output, errorOutput: errors, timedOut: timedOut)
    }

    /// Runs `body` for every item with at most `width` at once (hosts are slow, not busy), in order.
    public static func forEach<Item: Sendable, Result: Sendable>(_ items: [Item], width: Int = 32,
                                                                  _ body: @escaping @Sendable (Item) -> Result) -> [Result] {
        let results = Mutex<[Int: Result]>([:])
        let slots = DispatchSemaphore(value: max(1, width))
        let group = DispatchGroup()
        for (index, item) in items.enumerated() {
            slots.wait()
            group.enter()
            Thread.detachNewThread {
                let result = body(item)
                results.withLock { $0[index] = result }
                slots.signal()
                group.leave()
            }
        }
        group.wait()
        return results.withLock { all in items.indices.map { all[$0]! } }
    }
}

/// Output read from a command's pipes, bounded.
private final class Collected: Sendable {
    private let streams = Mutex<(output: Data, errors: Data)>((Data(), Data()))

    func drain(_ handle: FileHandle, isError: Bool) {
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { return }
            streams.withLock { streams in
                if isError {
                    if streams.errors.count < RemoteShell.outputLimit { streams.errors.append(chunk.prefix(RemoteShell.outputLimit - streams.errors.count)) }
                } else if streams.output.count < RemoteShell.outputLimit {
                    streams.output.append(chunk.prefix(RemoteShell.outputLimit - streams.output.count))
                }
            }
        }
    }

    var text: (String, String) {
        streams.withLock { (String(decoding: $0.output, as: UTF8.self), String(decoding: $0.errors, as: UTF8.self)) }
    }
}
