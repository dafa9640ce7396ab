import Experiments
import Foundation
import ProcessTestSupport
import Testing

/// A stored number is what it claims to be, with real `loom` processes: every repetition runs,
/// one invocation at a time runs an experiment, readers need no write access, and a store that
/// cannot be written says so honestly.
@Suite(.serialized) struct StoreIntegrityTests {
    /// "N succeeded, M cached" from a summary line.
    static func counts(_ output: String) -> (succeeded: Int, cached: Int)? {
        guard let line = output.split(separator: "\n").first(where: { $0.contains(" succeeded, ") }) else { return nil }
        let words = line.split(separator: " ")
        guard let s = words.firstIndex(of: "succeeded,"), let c = words.firstIndex(of: "cached,"),
              let succeeded = Int(words[s - 1]), let cached = Int(words[c - 1]) else { return nil }
        return (succeeded, cached)
    }

    /// Waits until the store at `path` holds at least `count` runs in `status`.
    static func waitForRuns(_ path: String, status: ResultsStore.Status, atLeast count: Int, while process: Process) {
        let end = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < end && process.isRunning {
            if FileManager.default.fileExists(atPath: path),
               let runs = try? ResultsStore(readingAt: path).runs(status: status), runs.count >= count { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    @Test func theRepetitionsMissingAfterAKillRunInsteadOfCopyingASibling() throws {
        let scratch = try TemporaryDirectory()
        try "name: reps\ntask: sleep\nparams: {seconds: 0.4}\nrepeat: 10\n".write(toFile: scratch.path("x.yaml"), atomically: true, encoding: .utf8)
        let arguments = ["run", scratch.path("x.yaml"), "--workers", "2", "--quiet", "--no-report", "--state", scratch.path("state")]
        let first = try LoomProcess.start(arguments)
        Self.waitForRuns(scratch.path("state/loom.db"), status: .succeeded, atLeast: 2, while: first)
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        let done = try ResultsStore(readingAt: scratch.path("state/loom.db")).runs(status: .succeeded).count
        try #require(done >= 2 && done < 10, "the kill should land mid-sweep (\(done) succeeded)")
        let second = try LoomProcess.run(arguments, deadline: .seconds(120))
        let counts = try #require(Self.counts(second.standardOutput), "\(second)")
        #expect(second.status == 0 && counts.cached == done && counts.succeeded == 10 - done,
                "only the repetitions stored are cached; the others execute: \(second)")
        // And a plain rerun of a finished sweep keeps every repetition's own result.
        let third = try LoomProcess.run(arguments, deadline: .seconds(120))
        #expect(Self.counts(third.standardOutput).map { $0 == (0, 10) } == true, "\(third)")
    }

    @Test func aSecondInvocationOfTheSameExperimentIsRefusedAndAnotherExperimentRuns() throws {
        let scratch = try TemporaryDirectory()
        try "name: slow\ntask: sleep\nparams: {seconds: [1.0, 1.1, 1.2]}\n".write(toFile: scratch.path("slow.yaml"), atomically: true, encoding: .utf8)
        try "name: quick\ntask: echo\nparams: {value: [a, b]}\n".write(toFile: scratch.path("quick.yaml"), atomically: true, encoding: .utf8)
        let state = ["--state", scratch.path("state"), "--quiet", "--no-report"]
        let first = try LoomProcess.start(["run", scratch.path("slow.yaml"), "--workers", "1"] + state)
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
        Self.waitForRuns(scratch.path("state/loom.db"), status: .running, atLeast: 1, while: first)
        let second = try LoomProcess.run(["run", scratch.path("slow.yaml"), "--workers", "1"] + state, deadline: .seconds(60))
        #expect(second.status == 1 && second.standardError.contains("experiment 'slow' is already being run")
                && second.standardError.contains("pid \(first.processIdentifier)"), "\(second)")
        let other = try LoomProcess.run(["run", scratch.path("quick.yaml"), "--workers", "1"] + state, deadline: .seconds(60))
        #expect(other.status == 0 && other.standardOutput.contains("2 succeeded"), "different experiments share a store: \(other)")
        first.waitUntilExit()
        #expect(first.terminationStatus == 0)
        let slow = try ResultsStore(readingAt: scratch.path("state/loom.db")).runs(experiment: "slow")
        #expect(slow.count == 3 && slow.allSatisfy { $0.status == .succeeded && $0.attempt == 1 },
                "the refused invocation added no rows and the first one's runs were never marked LOST")
    }

    @Test func aUserWhoMayOnlyReadTheStoreCanListExportAndReport() throws {
        guard let nobody = SecondUser() else { return }
        let scratch = try TemporaryDirectory()
        try "name: shared\ntask: echo\nparams: {value: [a, b]}\n".write(toFile: scratch.path("x.yaml"), atomically: true, encoding: .utf8)
        let ran = try LoomProcess.run(["run", scratch.path("x.yaml"), "--workers", "1", "--quiet", "--no-report",
                                       "--state", scratch.path("state")], deadline: .seconds(60))
        try #require(ran.status == 0, "\(ran)")
        // A store its owner shares read-only: directory 0755, files 0644, owned by this user.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: scratch.url.path)
        for name in try FileManager.default.contentsOfDirectory(atPath: scratch.path("state")) {
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: scratch.path("state/\(name)"))
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: scratch.path("state/loom.db"))
        let listed = try nobody.run(["runs", "--state", scratch.path("state")], in: "/tmp")
        #expect(listed.status == 0 && listed.standardOutput.contains("SUCCEEDED"), "\(listed)")
        let exported = try nobody.run(["export", "--format", "csv", "--state", scratch.path("state")], in: "/tmp")
        #expect(exported.status == 0 && exported.standardOutput.split(separator: "\n").count == 3, "\(exported)")
        let written = try nobody.run(["run", scratch.path("x.yaml"), "--workers", "1", "--quiet", "--no-report",
                                      "--state", scratch.path("state")], in: "/tmp")
        #expect(written.status != 0 && written.standardError.contains("cannot be written by this user")
                && !written.standardError.contains("readonly database"), "\(written)")
    }

    @Test func aStoreThatCannotGrowSaysSoAndClaimsNoResultItDidNotKeep() throws {
        let scratch = try TemporaryDirectory()
        let values = (0..<400).map { "v\($0)" }.joined(separator: ", ")
        try "name: big\ntask: echo\nparams: {value: [\(values)]}\n".write(toFile: scratch.path("x.yaml"), atomically: true, encoding: .utf8)
        // prlimit caps the file size of loom and its workers: SQLite's writes fail part-way.
        let limited = try ExternalCommand.run("/usr/bin/prlimit", ["--fsize=300000", try LoomProcess.executable().path,
                                                                  "run", scratch.path("x.yaml"), "--workers", "1", "--quiet",
                                                                  "--no-report", "--state", scratch.path("state")])
        #expect(limited.status == 1, "\(limited)")
        #expect(limited.standardError.contains("file-size limit") && !limited.standardError.contains("results stored so far are kept"),
                "\(limited)")
        let claim = limited.standardError.contains("no result of this invocation was stored")
            || limited.standardError.contains("result(s) this invocation stored before that are kept")
        #expect(claim, "\(limited)")
        #expect(try ResultsStore(path: scratch.path("state/loom.db")).integrityCheck() == "ok")
        let resumed = try LoomProcess.run(["run", scratch.path("x.yaml"), "--workers", "2", "--quiet", "--no-report",
                                           "--state", scratch.path("state")], deadline: .seconds(120))
        #expect(resumed.status == 0, "the same command without the limit finishes: \(resumed)")
    }
}

/// Runs a program (not `loom`) with an argument list, never through a shell.
enum ExternalCommand {
    struct Outcome: CustomStringConvertible {
        var status: Int32
        var standardOutput: String
        var standardError: String
        var description: String { "exit \(status)\n--- stdout ---\n\(standardOutput)\n--- stderr ---\n\(standardError)" }
    }

    static func run(_ executable: String, _ arguments: [String], in directory: String? = nil) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let scratch = try TemporaryDirectory()
        let out = scratch.path("out"), err = scratch.path("err")
        #expect(FileManager.default.createFile(atPath: out, contents: nil))
        #expect(FileManager.default.createFile(atPath: err, contents: nil))
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus,
                                   standardOutput: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                                   standardError: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }
}

/// Another user (uid 65534, nobody) running `loom`, through `setpriv`; nil, with the reason
/// printed, where that cannot be done (not root, or no setpriv).
struct SecondUser {
    let loom: String
    let directory: TemporaryDirectory

    init?() {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
            print("skipped: a second-user test needs root and /usr/bin/setpriv (uid \(getuid()))")
            return nil
        }
        // A copy the other user can reach, whatever the permissions of the build tree.
        guard let directory = try? TemporaryDirectory(), let source = try? LoomProcess.executable() else { return nil }
        loom = directory.path("loom")
        guard (try? FileManager.default.copyItem(atPath: source.path, toPath: loom)) != nil,
              (try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.url.path)) != nil
        else { return nil }
        self.directory = directory
    }

    func run(_ arguments: [String], in directory: String) throws -> ExternalCommand.Outcome {
        try ExternalCommand.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", loom] + arguments, in: directory)
    }
}
