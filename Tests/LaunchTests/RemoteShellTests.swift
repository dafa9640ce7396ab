import Foundation
import Launch
import ProcessTestSupport
import Testing

/// The remote shell runs as ssh would, through a real `/bin/sh -c` on the "host" side: arguments
/// arrive intact, outputs and statuses come back, and a command that hangs is killed on time.
@Suite struct RemoteShellTests {
    /// A remote shell with ssh's calling convention that runs the command here.
    static func localShell(_ scratch: TemporaryDirectory, timeout: Duration = .seconds(30)) throws -> RemoteShell {
        let path = scratch.path("rsh")
        try "#!/bin/sh\nshift\nexec /bin/sh -c \"$*\"\n".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return RemoteShell(program: [path], timeout: timeout)
    }

    @Test func hostileArgumentsArriveUnchangedAndNothingRuns() throws {
        let scratch = try TemporaryDirectory()
        let shell = try Self.localShell(scratch)
        let outcome = try shell.run("node01", ["printf", "%s\\n", "$(touch \(scratch.path("PWNED")))", "a;b", "it's"])
        #expect(outcome.status == 0, "\(outcome.errorOutput)")
        #expect(outcome.output == "$(touch \(scratch.path("PWNED")))\na;b\nit's\n")
        #expect(!FileManager.default.fileExists(atPath: scratch.path("PWNED")))
    }

    @Test func statusAndStandardErrorComeBack() throws {
        let scratch = try TemporaryDirectory()
        let shell = try Self.localShell(scratch)
        let outcome = try shell.run("node01", ["sh", "-c", "echo first >&2; echo second >&2; exit 7"])
        #expect(outcome.status == 7)
        #expect(outcome.errorTail == "first | second")
        #expect(!outcome.timedOut)
    }

    @Test func aCommandPastItsTimeIsKilled() throws {
        let scratch = try TemporaryDirectory()
        let shell = try Self.localShell(scratch, timeout: .milliseconds(300))
        let start = ContinuousClock.now
        let outcome = try shell.run("node01", ["sleep", "30"])
        #expect(outcome.timedOut)
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test func theProgramIsFoundOrNamed() throws {
        #expect(try RemoteShell.program(from: "ssh -p 2222  -o BatchMode=yes") == ["ssh", "-p", "2222", "-o", "BatchMode=yes"])
        #expect(throws: LaunchError.self) { try RemoteShell.program(from: "  ") }
        #expect(throws: LaunchError.self) { try RemoteShell.program(from: "-oProxyCommand=x") }
        let missing = RemoteShell(program: ["no-such-remote-shell-here"])
        #expect(throws: LaunchError.self) { try missing.executablePath() }
        #expect(throws: LaunchError.self) { try missing.run("node01", ["true"]) }
    }

    @Test func forEachKeepsOrderAndRunsAtOnce() {
        let start = ContinuousClock.now
        let results = RemoteShell.forEach(Array(0..<16), width: 16) { item -> Int in
            Thread.sleep(forTimeInterval: 0.2)
            return item * item
        }
        #expect(results == (0..<16).map { $0 * $0 })
        #expect(ContinuousClock.now - start < .seconds(2), "16 waits of 0.2 s at once should not take 3.2 s")
    }
}

/// Detached processes outlive their starter in a session of their own, and are stopped only when
/// their command line is the one expected.
@Suite struct DetachedProcessTests {
    @Test func aDetachedProcessHasItsOwnSessionLogAndNoInheritedDescriptors() throws {
        let scratch = try TemporaryDirectory()
        let log = scratch.path("log")
        // A descriptor open here (a pipe) must not reach the child, or a remote shell reading
        // the starter's output would wait for the child too.
        let pipe = Pipe()
        let pid = try DetachedProcess.start(executable: "/bin/sh",
                                            arguments: ["-c", "echo out; echo err >&2; ls /proc/self/fd; exec sleep 30"], log: log)
        defer { kill(pid, SIGKILL); _ = LocalProcesses.waitForExit(pid, within: .seconds(5)) }
        try pipe.fileHandleForWriting.close()
        #expect(pipe.fileHandleForReading.readDataToEndOfFile().isEmpty)
        #expect(getsid(pid) == pid, "the child should lead its own session")
        let end = ContinuousClock.now + .seconds(10)
        var text = ""
        while (!text.contains("err") || LocalProcesses.commandLine(of: pid) != ["sleep", "30"]) && ContinuousClock.now < end {
            text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(text.contains("out") && text.contains("err"))
        let descriptors = text.split(separator: "\n").compactMap { Int($0) }
        #expect(descriptors.allSatisfy { $0 <= 3 }, "inherited descriptors: \(descriptors)")   // 3 is ls's own directory
        #expect(LocalProcesses.commandLine(of: pid) == ["sleep", "30"])
    }

    @Test func stopActsOnlyOnTheProcessItWasToldAbout() throws {
        let scratch = try TemporaryDirectory()
        let pid = try DetachedProcess.start(executable: "/bin/sleep", arguments: ["30"], log: scratch.path("log"))
        defer { kill(pid, SIGKILL) }
        // Until the child has exec'd, its command line is not yet sleep's.
        let end = ContinuousClock.now + .seconds(10)
        while LocalProcesses.commandLine(of: pid) != ["/bin/sleep", "30"] && ContinuousClock.now < end { Thread.sleep(forTimeInterval: 0.01) }
        #expect(LocalProcesses.stop(pid, grace: .seconds(1)) { $0.contains("worker") } == .notOurs)
        #expect(LocalProcesses.isRunning(pid), "a process that is not ours must be left alone")
        #expect(LocalProcesses.stop(pid, grace: .seconds(5)) { $0 == ["/bin/sleep", "30"] } == .stopped)
        #expect(!LocalProcesses.isRunning(pid))
        #expect(LocalProcesses.stop(pid, grace: .seconds(1)) { _ in true } == .gone)
    }

    @Test func optionsAreMatchedAsPairs() {
        let line = ["loom", "worker", "--name", "node01/0", "--connect=tcp://h:1"]
        #expect(LocalProcesses.has(line, option: "name", value: "node01/0"))
        #expect(LocalProcesses.has(line, option: "connect", value: "tcp://h:1"))
        #expect(!LocalProcesses.has(line, option: "name", value: "node01/1"))
        #expect(!LocalProcesses.has(["loom", "node01/0", "--name"], option: "name", value: "node01/0"))
    }
}

/// The state file `up` writes and `down` reads.
@Suite struct ClusterStateTests {
    @Test func stateRoundTripsAndGroupsWorkersByHost() throws {
        let scratch = try TemporaryDirectory()
        var state = ClusterState(started: "2026-12-04T00:00:00Z", hostfile: "hosts", rsh: ["ssh"], remoteLoom: "loom",
                                 remoteDirectory: ".loom/cluster", keys: "/k")
        state.endpoint = "tcp://head:5555"
        state.workers = [.init(destination: "b", name: "b/0", pid: 2, log: "l"), .init(destination: "a", name: "a/0", pid: 3, log: "l"),
                         .init(destination: "b", name: "b/1", pid: 4, log: "l")]
        try state.save(to: scratch.url.path)
        let read = try ClusterState.load(from: scratch.url.path)
        #expect(read == state)
        #expect(state.workersByHost.map(\.destination) == ["b", "a"])
        #expect(state.workersByHost[0].workers.map(\.pid) == [2, 4])
        ClusterState.remove(from: scratch.url.path)
        #expect(try ClusterState.load(from: scratch.url.path) == nil)
        try "{not json".write(toFile: ClusterState.path(in: scratch.url.path), atomically: true, encoding: .utf8)
        #expect(throws: LaunchError.self) { try ClusterState.load(from: scratch.url.path) }
    }

    @Test func theRouteSourceIsALocalAddress() {
        #expect(RouteSource.address(toward: "127.0.0.1") == "127.0.0.1")
        #expect(RouteSource.address(toward: "no-such-host.invalid") == nil)
    }
}
