import Foundation

/// The built `loom` executable, run as a real child process with a deadline (STYLE §7).
public struct LoomProcess {
    /// What a finished run left behind.
    public struct Outcome: CustomStringConvertible {
        /// The exit status (or 128 + signal when killed).
        public var status: Int32
        /// Everything written to stdout.
        public var standardOutput: String
        /// Everything written to stderr.
        public var standardError: String

        public var description: String {
            "exit \(status)\n--- stdout ---\n\(standardOutput)\n--- stderr ---\n\(standardError)"
        }
    }

    /// Why a run could not happen.
    public struct LaunchError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Where `loom` is: `LOOM_EXECUTABLE` if set, else next to the test binary in SwiftPM's
    /// products directory, else the package's `.build/debug/loom`.
    /// - Throws: `LaunchError` listing every place looked at and how to fix it.
    public static func executable(filePath: String = #filePath) throws -> URL {
        var candidates: [URL] = []
        if let explicit = ProcessInfo.processInfo.environment["LOOM_EXECUTABLE"] {
            candidates.append(URL(fileURLWithPath: explicit))
        }
        // Linux: the test runner is an executable in the products directory; macOS: a bundle there.
        if let runner = Bundle.main.executableURL {
            candidates.append(runner.deletingLastPathComponent().appendingPathComponent("loom"))
        }
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("loom"))
        for bundle in Bundle.allBundles where bundle.bundleURL.pathExtension == "xctest" {
            candidates.append(bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("loom"))
        }
        // Tests/LoomCLITests/<this file> → the package root.
        let root = URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        candidates.append(root.appendingPathComponent(".build/debug/loom"))
        if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) {
            return found
        }
        throw LaunchError(description: """
            the loom executable was not found; looked at:
            \(candidates.map { "  " + $0.path }.joined(separator: "\n"))
            Build it first ('swift build', which 'swift test' also does), or set LOOM_EXECUTABLE to its path.
            """)
    }

    /// Starts `loom arguments…` in the background, its output discarded, for tests that kill it
    /// mid-way; the caller waits for it (`waitUntilExit`).
    /// - Throws: `LaunchError` when the executable is missing; whatever `Process.run` throws.
    public static func start(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = try executable()
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Runs `loom arguments…` in `directory` and waits at most `deadline`, killing it after that.
    /// - Parameters:
    ///   - program: another program to run instead of `loom` (e.g. `setpriv`, see `OtherUser`).
    ///   - environment: the child's whole environment; nil inherits this process's.
    /// - Throws: `LaunchError` when the executable is missing, cannot start, or overruns the deadline.
    public static func run(_ arguments: [String], in directory: URL? = nil,
                    deadline: Duration = .seconds(120), program: URL? = nil,
                    environment: [String: String]? = nil) throws -> Outcome {
        let process = Process()
        process.executableURL = try program ?? executable()
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let directory { process.currentDirectoryURL = directory }
        // Files, not pipes: a child that fills a pipe buffer would block while we wait for it.
        let scratch = try TemporaryDirectory()
        let outURL = scratch.url.appendingPathComponent("stdout"), errURL = scratch.url.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let clock = ContinuousClock()
        let end = clock.now + deadline
        while process.isRunning && clock.now < end { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning {
            process.terminate()                                  // SIGTERM, then reap it
            process.waitUntilExit()
            throw LaunchError(description: "loom \(arguments.joined(separator: " ")) ran past its \(deadline) deadline and was killed")
        }
        process.waitUntilExit()
        try out.close()
        try err.close()
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return Outcome(status: status,
                       standardOutput: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                       standardError: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }
}
