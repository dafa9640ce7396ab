import Foundation
import ProcessTestSupport
import Testing

/// Another user of the machine cannot reach the coordinator of `loom up` or `loom run`: not as a
/// client (`loom status`, `loom submit`, a raw connect), not as a fake worker. The owner can.
@Suite(.serialized) struct LocalAccessTests {
    /// The owner's view of the coordinator: its worker names and how many registrations it took.
    static func ownerStatus(_ endpoint: String) throws -> (workers: [String], registrations: Int) {
        let status = try LoomProcess.run(["status", "--connect", endpoint, "--json"], deadline: .seconds(30))
        try #require(status.status == 0, "the owner must reach its own coordinator: \(status)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(status.standardOutput.utf8)) as? [String: Any])
        let workers = (object["workers"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        let registrations = (object["counters"] as? [String: Any])?["registrations"] as? Int ?? 0
        return (workers, registrations)
    }

    /// Checks every way uid 65534 might reach `endpoint`, and that the owner still does.
    static func expectOnlyTheOwnerReaches(_ endpoint: String, trySubmit: Bool) throws {
        #expect(endpoint.hasPrefix("ipc:///"), "the embedded coordinator must not listen on TCP: \(endpoint)")
        let other = try OtherUser()
        let before = try ownerStatus(endpoint)

        let status = try other.run(["status", "--connect", endpoint, "--timeout", "1"])
        #expect(status.status == 1 && status.standardError.contains("no answer"), "uid 65534 reached the coordinator: \(status)")
        if trySubmit {
            let submit = try other.run(["submit", "--connect", endpoint, "--kind", "echo", "--param", "value=intruder"])
            #expect(submit.status == 1 && submit.standardError.contains("no answer"), "uid 65534 submitted a task: \(submit)")
        }
        if endpoint.hasPrefix("ipc:///") {
            let socket = String(endpoint.dropFirst("ipc://".count))
            let seen = try other.run(["-c", "%a %U", socket], program: "/usr/bin/stat")
            #expect(seen.status != 0 && seen.standardError.contains("Permission denied"), "uid 65534 can see \(socket): \(seen)")
            if FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") {
                let code = "import socket, sys\ns = socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\nprint('connected')"
                let raw = try other.run(["-c", code, socket], program: "/usr/bin/python3")
                #expect(raw.status != 0 && raw.standardError.contains("PermissionError") && !raw.standardOutput.contains("connected"),
                        "uid 65534 connected to \(socket): \(raw)")
            } else {
                print("no /usr/bin/python3: the raw connect(2) check is left to 'loom status' and 'loom worker' above")
            }
        }

        // A fake worker: it would take tasks and report invented results if it could register.
        let fake = try other.start(["worker", "--connect", endpoint, "--name", "intruder", "--heartbeat-ms", "100"])
        defer { if fake.isRunning { kill(fake.processIdentifier, SIGKILL); fake.waitUntilExit() } }
        Thread.sleep(forTimeInterval: 1.5)
        #expect(fake.isRunning, "the fake worker should still be trying, not have given up or crashed")
        let after = try ownerStatus(endpoint)
        #expect(!after.workers.contains("intruder") && after.registrations == before.registrations,
                "a worker of uid 65534 registered: \(after.workers), registrations \(before.registrations) → \(after.registrations)")
    }

    @Test(.enabled(if: OtherUser.unavailableReason == nil, "needs root and setpriv to act as uid 65534"))
    func anotherUserCannotReachLoomUp() throws {
        let up = try UpCommandTests.RunningUp(workers: 1)
        try #require(!up.endpoint.isEmpty, "\(up.standardError)")
        try Self.expectOnlyTheOwnerReaches(up.endpoint, trySubmit: true)
        kill(up.process.processIdentifier, SIGINT)
        up.process.waitUntilExit()
        let directory = URL(fileURLWithPath: String(up.endpoint.dropFirst("ipc://".count))).deletingLastPathComponent().path
        #expect(!FileManager.default.fileExists(atPath: directory), "\(directory) must go when loom up stops")
    }

    @Test(.enabled(if: OtherUser.unavailableReason == nil, "needs root and setpriv to act as uid 65534"))
    func anotherUserCannotReachTheCoordinatorInsideLoomRun() throws {
        let scratch = try TemporaryDirectory()
        try "name: slow\ntask: sleep\nparams: {seconds: 60}\n".write(toFile: scratch.path("x.yaml"), atomically: true, encoding: .utf8)
        let run = try LoomProcess.start(["run", scratch.path("x.yaml"), "--workers", "1", "--quiet", "--state", scratch.path("state")])
        defer { if run.isRunning { kill(run.processIdentifier, SIGKILL); run.waitUntilExit() } }
        // `loom run` does not print its endpoint; its worker's command line holds it.
        var endpoint: String?
        let end = ContinuousClock.now + .seconds(30)
        while endpoint == nil && ContinuousClock.now < end && run.isRunning {
            for pid in WorkerLossTests.children(of: run.processIdentifier) {
                let words = ((try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data())
                    .split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
                if let index = words.firstIndex(of: "--connect"), index + 1 < words.count { endpoint = words[index + 1] }
            }
            if endpoint == nil { Thread.sleep(forTimeInterval: 0.05) }
        }
        let found = try #require(endpoint, "no worker of loom run was seen")
        try Self.expectOnlyTheOwnerReaches(found, trySubmit: false)
        kill(run.processIdentifier, SIGINT)
        run.waitUntilExit()
        let directory = URL(fileURLWithPath: String(found.dropFirst("ipc://".count))).deletingLastPathComponent().path
        #expect(!FileManager.default.fileExists(atPath: directory), "\(directory) must go when loom run stops")
    }

    @Test func aLoopbackTCPBindNeedsCurveOrAnAcknowledgement() throws {
        for command in [["up", "--workers", "1"], ["coordinator"]] {
            let refused = try LoomProcess.run(command + ["--bind", "tcp://127.0.0.1:*"], deadline: .seconds(30))
            #expect(refused.status == 2 && refused.standardError.contains("--insecure-loopback")
                    && refused.standardError.contains("--curve"), "\(refused)")
        }
        let scratch = try TemporaryDirectory()
        _ = FileManager.default.createFile(atPath: scratch.path("out"), contents: nil)
        let coordinator = Process()
        coordinator.executableURL = try LoomProcess.executable()
        coordinator.arguments = ["coordinator", "--bind", "tcp://127.0.0.1:*", "--insecure-loopback"]
        coordinator.standardOutput = try FileHandle(forWritingTo: scratch.url.appendingPathComponent("out"))
        coordinator.standardError = FileHandle.nullDevice
        try coordinator.run()
        defer { if coordinator.isRunning { kill(coordinator.processIdentifier, SIGKILL); coordinator.waitUntilExit() } }
        var printed = ""
        let end = ContinuousClock.now + .seconds(30)
        while !printed.contains("\n") && ContinuousClock.now < end && coordinator.isRunning {
            printed = (try? String(contentsOfFile: scratch.path("out"), encoding: .utf8)) ?? ""
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(printed.hasPrefix("tcp://127.0.0.1:"), "with --insecure-loopback the bind goes ahead: '\(printed)'")
        kill(coordinator.processIdentifier, SIGTERM)
        coordinator.waitUntilExit()
        #expect(coordinator.terminationStatus == 0)
    }
}
