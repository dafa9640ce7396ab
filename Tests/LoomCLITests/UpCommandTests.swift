import Foundation
import ProcessTestSupport
import Testing

/// `loom up`, `loom submit` and `loom status` as users run them, and Ctrl-C leaving nothing behind.
@Suite(.serialized) struct UpCommandTests {
    /// A running `loom up`: its process, the endpoint it printed, and its workers' pids.
    final class RunningUp {
        let process = Process()
        let scratch: TemporaryDirectory
        var endpoint = ""
        var workerPIDs: [Int32] = []

        init(workers: Int, extraArguments: [String] = []) throws {
            scratch = try TemporaryDirectory()
            process.executableURL = try LoomProcess.executable()
            process.arguments = ["up", "--workers", String(workers), "--heartbeat-ms", "100", "--logs", scratch.path("logs")]
                + extraArguments
            _ = FileManager.default.createFile(atPath: scratch.path("out"), contents: nil)
            _ = FileManager.default.createFile(atPath: scratch.path("err"), contents: nil)
            process.standardOutput = try FileHandle(forWritingTo: scratch.url.appendingPathComponent("out"))
            process.standardError = try FileHandle(forWritingTo: scratch.url.appendingPathComponent("err"))
            process.standardInput = FileHandle.nullDevice
            try process.run()
            let end = ContinuousClock.now + .seconds(30)
            while endpoint.isEmpty && ContinuousClock.now < end && process.isRunning {
                endpoint = (try? String(contentsOfFile: scratch.path("out"), encoding: .utf8))?
                    .split(separator: "\n").first.map(String.init) ?? ""
                Thread.sleep(forTimeInterval: 0.02)
            }
            let err = (try? String(contentsOfFile: scratch.path("err"), encoding: .utf8)) ?? ""
            if let line = err.split(separator: "\n").first(where: { $0.contains("pids") }) {
                workerPIDs = line.split(separator: "pids").last!.split(separator: " ").compactMap { Int32($0) }
            }
        }

        var standardError: String { (try? String(contentsOfFile: scratch.path("err"), encoding: .utf8)) ?? "" }

        deinit {
            if process.isRunning { process.terminate(); process.waitUntilExit() }
            for pid in workerPIDs { kill(pid, SIGKILL) }
        }
    }

    @Test func ctrlCOnUpLeavesNoProcessBehind() throws {
        let up = try RunningUp(workers: 2)
        #expect(up.endpoint.hasPrefix("ipc:///"), "\(up.standardError)")
        #expect(up.workerPIDs.count == 2, "\(up.standardError)")
        for pid in up.workerPIDs { #expect(kill(pid, 0) == 0, "worker \(pid) should be running") }
        kill(up.process.processIdentifier, SIGINT)
        let end = ContinuousClock.now + .seconds(15)
        while up.process.isRunning && ContinuousClock.now < end { Thread.sleep(forTimeInterval: 0.02) }
        #expect(!up.process.isRunning, "loom up should exit after Ctrl-C")
        #expect(up.process.terminationStatus == 0, "\(up.standardError)")
        for pid in up.workerPIDs {
            #expect(kill(pid, 0) == -1 && errno == ESRCH, "worker \(pid) is still there after Ctrl-C")
        }
    }

    @Test func runConnectSendsAnExperimentToARunningCoordinator() throws {
        let up = try RunningUp(workers: 2)
        try #require(up.endpoint.hasPrefix("ipc://"), "\(up.standardError)")
        let scratch = try TemporaryDirectory()
        try "name: remote\ntask: echo\nparams: {value: [a, b, c]}\n".write(toFile: scratch.path("x.yaml"), atomically: true, encoding: .utf8)
        let arguments = ["run", scratch.path("x.yaml"), "--connect", up.endpoint, "--state", scratch.path("state")]
        let ran = try LoomProcess.run(arguments, deadline: .seconds(60))
        #expect(ran.status == 0 && ran.standardOutput.contains("3 succeeded, 0 cached, 0 failed of 3"), "\(ran)")
        let again = try LoomProcess.run(arguments, deadline: .seconds(60))
        #expect(again.status == 0 && again.standardOutput.contains("0 succeeded, 3 cached"), "\(again)")
        let both = try LoomProcess.run(arguments + ["--workers", "2"])
        #expect(both.status == 2 && both.standardError.contains("give one"), "\(both)")
        let nobody = try LoomProcess.run(["run", scratch.path("x.yaml"), "--connect", "tcp://127.0.0.1:9", "--state", scratch.path("s2")],
                                         deadline: .seconds(60))
        #expect(nobody.status == 1 && nobody.standardError.contains("no answer from a coordinator"), "\(nobody)")
    }

    /// `resources.timeout` holds through `--connect` as it does on local workers: an attempt
    /// that overruns it fails, and the run is FAILED with the reason, in seconds, not hours.
    @Test func runConnectCarriesTheAttemptTimeout() throws {
        let up = try RunningUp(workers: 1)
        try #require(up.endpoint.hasPrefix("ipc://"), "\(up.standardError)")
        let scratch = try TemporaryDirectory()
        try "name: overrun\ntask: sleep\nparams: {seconds: 60}\nresources: {timeout: 1}\n"
            .write(toFile: scratch.path("x.yaml"), atomically: true, encoding: .utf8)
        let start = ContinuousClock.now
        let ran = try LoomProcess.run(["run", scratch.path("x.yaml"), "--connect", up.endpoint, "--state", scratch.path("state")],
                                      deadline: .seconds(40))
        #expect(ContinuousClock.now - start < .seconds(30), "the 1 s timeout ended the 60 s task")
        #expect(ran.status == 1 && ran.standardOutput.contains("0 succeeded, 0 cached, 1 failed of 1"), "\(ran)")
        let shown = try LoomProcess.run(["runs", "--state", scratch.path("state"), "--json"])
        #expect(shown.standardOutput.contains("FAILED") && shown.standardOutput.contains("timed out after 1 s (resources.timeout)"), "\(shown)")
    }

    /// Through a running coordinator too, a run's curve reaches the store while it runs.
    @Test func runConnectStreamsARunningTasksCurve() throws {
        let up = try RunningUp(workers: 1)
        try #require(up.endpoint.hasPrefix("ipc://"), "\(up.standardError)")
        try WorkerLossTests.expectCurveStreamed(through: ["--connect", up.endpoint])
    }

    @Test func workersLeaveWhenUpIsKilledOutright() throws {
        let up = try RunningUp(workers: 2)
        try #require(up.workerPIDs.count == 2, "\(up.standardError)")
        kill(up.process.processIdentifier, SIGKILL)
        up.process.waitUntilExit()
        // Orphans are re-parented to init (or a subreaper) which reaps them once they exit.
        let end = ContinuousClock.now + .seconds(10)
        while up.workerPIDs.contains(where: { kill($0, 0) == 0 }) && ContinuousClock.now < end {
            Thread.sleep(forTimeInterval: 0.05)
        }
        for pid in up.workerPIDs {
            let state = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?.split(separator: " ").dropFirst(2).first
            #expect(state == nil || state == "Z", "worker \(pid) outlived a killed loom up (state \(state.map(String.init) ?? "gone"))")
        }
    }

    @Test func submitAndStatusTalkToARunningUp() throws {
        let up = try RunningUp(workers: 2, extraArguments: ["--test-kinds"])
        try #require(!up.endpoint.isEmpty, "\(up.standardError)")
        let submitted = try LoomProcess.run(["submit", "--connect", up.endpoint, "--kind", "echo", "--param", "value=hello",
                                             "--count", "3", "--wait", "--json"], deadline: .seconds(60))
        #expect(submitted.status == 0, "\(submitted)")
        let lines = submitted.standardOutput.split(separator: "\n")
        #expect(lines.count == 3 && lines.allSatisfy { $0.contains("\"value\":\"hello\"") && $0.contains("\"succeeded\":true") },
                "\(submitted)")
        let failing = try LoomProcess.run(["submit", "--connect", up.endpoint, "--kind", "fail", "--wait", "--test-kinds"], deadline: .seconds(60))
        #expect(failing.status == 1 && failing.standardOutput.contains("FAILED"), "\(failing)")
        let status = try LoomProcess.run(["status", "--connect", up.endpoint, "--json"], deadline: .seconds(30))
        #expect(status.status == 0, "\(status)")
        let object = try JSONSerialization.jsonObject(with: Data(status.standardOutput.utf8)) as? [String: Any]
        #expect((object?["workers"] as? [Any])?.count == 2, "\(status)")
        #expect(((object?["tasks"] as? [String: Any])?["succeeded"] as? Int) == 3, "\(status)")
    }

    @Test(arguments: [
        (["submit", "--connect", "tcp://127.0.0.1:1", "--kind", "slep"], "did you mean 'sleep'"),
        (["submit", "--connect", "tcp://127.0.0.1:1", "--kind", "sleep", "--param", "secnds=1"], "did you mean 'seconds'"),
        (["submit", "--connect", "tcp://127.0.0.1:1", "--kind", "gang.barrier"], "--gang"),
        (["submit", "--connect", "127.0.0.1:5555", "--kind", "echo"], "not a ZeroMQ endpoint"),
        (["worker"], "needs --connect"),
        (["coordinator", "--bind", "tcp://0.0.0.0:*", "--keys", "/nonexistent-loom-keys"], "loom keys generate"),
    ])
    func badClusterArgumentsExitTwoWithTheFix(arguments: [String], expected: String) throws {
        let outcome = try LoomProcess.run(arguments, deadline: .seconds(30))
        #expect(outcome.status == 2 && outcome.standardError.contains(expected), "\(outcome)")
    }

    @Test func statusOfNoCoordinatorTimesOutWithAHint() throws {
        let outcome = try LoomProcess.run(["status", "--connect", "tcp://127.0.0.1:9", "--timeout", "0.5"], deadline: .seconds(30))
        #expect(outcome.status == 1 && outcome.standardError.contains("is 'loom coordinator' or 'loom up' running"), "\(outcome)")
    }
}
