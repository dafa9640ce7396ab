import Experiments
import Foundation
import Launch
import ProcessTestSupport
import Testing
@testable import LoomCLI

/// `loom cluster up/down/status` with real processes: a remote shell with ssh's calling
/// convention that runs the command on this machine stands in for ssh, so hosts are names and
/// workers are real `loom worker` processes talking CURVE to a real coordinator over TCP.
/// (`make cluster-test` does the same across network namespaces.)
@Suite(.serialized) struct ClusterCommandTests {
    /// A scratch folder with a local remote shell (`rsh`, which fails with ssh's 255 for the
    /// destination `unreachable`) and a hostfile.
    final class Scratch {
        let directory: TemporaryDirectory
        init(hostfile: String) throws {
            directory = try TemporaryDirectory()
            // node-b plays a Slurm node: what runs there sees the variables srun would set.
            let script = "#!/bin/sh\nif [ \"$1\" = unreachable ]; then echo 'ssh: connect to host unreachable port 22: No route to host' >&2; exit 255; fi\n"
                + "if [ \"$1\" = node-b ]; then export SLURM_JOB_ID=4242 SLURM_PROCID=1 SLURMD_NODENAME=node-b; fi\n"
                + "shift\nexec /bin/sh -c \"$*\"\n"
            try script.write(toFile: path("rsh"), atomically: true, encoding: .utf8)
            chmod(path("rsh"), 0o755)
            try hostfile.write(toFile: path("hosts"), atomically: true, encoding: .utf8)
        }
        func path(_ name: String) -> String { directory.path(name) }

        var upArguments: [String] {
            ["cluster", "up", "--hostfile", path("hosts"), "--rsh", path("rsh"), "--address", "127.0.0.1", "--state", path("state"),
             "--remote-dir", path("remote"), "--heartbeat-ms", "100", "--timeout", "30"]
        }

        func state() throws -> ClusterState? { try ClusterState.load(from: path("state")) }

        /// Stops whatever a failed test left running.
        deinit {
            if let state = try? ClusterState.load(from: path("state")) {
                for pid in state.workers.map(\.pid) + [state.coordinatorPID].compactMap({ $0 }) where LocalProcesses.isRunning(pid) {
                    kill(pid, SIGKILL)
                }
            }
        }
    }

    @Test func upStartsWorkersOnEveryHostAndDownStopsExactlyThem() throws {
        let scratch = try Scratch(hostfile: "# two hosts\nnode-a slots=2\nnode-b\n")
        let up = try LoomProcess.run(scratch.upArguments, deadline: .seconds(90))
        #expect(up.status == 0, "\(up)")
        let endpoint = up.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(endpoint.hasPrefix("tcp://127.0.0.1:"), "\(up)")
        #expect(up.standardError.contains("3 worker(s) on 2 host(s) registered"), "\(up)")
        let state = try #require(try scratch.state())
        #expect(state.workers.map(\.name).sorted() == ["node-a/0", "node-a/1", "node-b/0"])
        for worker in state.workers { #expect(LocalProcesses.isRunning(worker.pid), "\(worker.name) should run") }
        // The allow-list holds exactly the two hosts' keys, made on the hosts.
        let allowed = try String(contentsOfFile: state.keys + "/allowed_keys", encoding: .utf8)
        #expect(allowed.split(separator: "\n").map { $0.split(separator: " ").last.map(String.init) } == ["node-a", "node-b"])
        #expect(FileManager.default.fileExists(atPath: scratch.path("remote/keys/worker-0.key")))

        let status = try LoomProcess.run(["cluster", "status", "--state", scratch.path("state")])
        #expect(status.status == 0 && status.standardOutput.contains("3 worker(s)") && status.standardOutput.contains("node-b/0"), "\(status)")

        // An experiment runs on the cluster with the keys up printed.
        try "name: on-cluster\ntask: echo\nparams: {value: [a, b, c, d]}\n".write(toFile: scratch.path("x.yaml"), atomically: true, encoding: .utf8)
        let ran = try LoomProcess.run(["run", scratch.path("x.yaml"), "--connect", endpoint, "--curve", "--keys", state.keys, "--key", "coordinator",
                                       "--state", scratch.path("store")], deadline: .seconds(60))
        #expect(ran.status == 0 && ran.standardOutput.contains("4 succeeded"), "\(ran)")
        // The store records where Slurm placed each worker (node-b's), read from the status.
        let store = try ResultsStore(path: scratch.path("store/loom.db"))
        let placements = try store.workerPlacements(invocation: 1)
        #expect(placements == ["node-b/0": ["SLURM_JOB_ID": "4242", "SLURM_PROCID": "1", "SLURMD_NODENAME": "node-b"]], "\(placements)")

        // SIGUSR2, Slurm's warning before a time limit, drains a worker: it leaves by itself.
        let drained = state.workers.first { $0.name == "node-a/1" }!
        kill(drained.pid, SIGUSR2)
        #expect(LocalProcesses.waitForExit(drained.pid, within: .seconds(20)), "SIGUSR2 should drain the worker")

        // A second up on the same state is refused, and nothing is started.
        let again = try LoomProcess.run(scratch.upArguments)
        #expect(again.status == 2 && again.standardError.contains("already recorded"), "\(again)")

        let down = try LoomProcess.run(["cluster", "down", "--state", scratch.path("state")], deadline: .seconds(90))
        #expect(down.status == 0 && down.standardError.contains("1 gone, 2 stopped"), "\(down)")
        for pid in state.workers.map(\.pid) + [state.coordinatorPID!] {
            #expect(!LocalProcesses.isRunning(pid), "pid \(pid) is still running after down")
        }
        #expect(try scratch.state() == nil)
    }

    @Test func anUnreachableHostIsNamedAndTheRestStaysUpUntilDown() throws {
        let scratch = try Scratch(hostfile: "node-a\nunreachable\n")
        let up = try LoomProcess.run(scratch.upArguments, deadline: .seconds(90))
        #expect(up.status == 1, "\(up)")
        #expect(up.standardError.contains("1 of 2 worker(s) registered"), "\(up)")
        #expect(up.standardError.contains("unreachable: making its keys: cannot reach the host (remote shell exit 255): ssh: connect to host unreachable"), "\(up)")
        #expect(up.standardError.contains("loom cluster down"), "\(up)")
        let state = try #require(try scratch.state())
        #expect(state.workers.map(\.name) == ["node-a/0"])
        // The unreachable host's key is not admitted.
        let allowed = try String(contentsOfFile: state.keys + "/allowed_keys", encoding: .utf8)
        #expect(!allowed.contains("unreachable"))
        let down = try LoomProcess.run(["cluster", "down", "--state", scratch.path("state")], deadline: .seconds(90))
        #expect(down.status == 0, "\(down)")
        #expect(!LocalProcesses.isRunning(state.workers[0].pid) && !LocalProcesses.isRunning(state.coordinatorPID!))
    }

    @Test func workersThatNeverRegisterAreNamedWithTheEndOfTheirLogs() throws {
        let scratch = try Scratch(hostfile: "node-a\n")
        // 192.0.2.1 (TEST-NET-1) is never routed: the worker starts but cannot reach the coordinator.
        let arguments = scratch.upArguments.map { $0 == "127.0.0.1" ? "192.0.2.1" : $0 }.map { $0 == "30" ? "2" : $0 }
        let up = try LoomProcess.run(arguments, deadline: .seconds(90))
        #expect(up.status == 1, "\(up)")
        #expect(up.standardError.contains("node-a: 1 worker(s) did not register within 2 s"), "\(up)")
        #expect(up.standardError.contains("node-a/0 running"), "\(up)")
        let down = try LoomProcess.run(["cluster", "down", "--state", scratch.path("state"), "--grace", "2"], deadline: .seconds(90))
        #expect(down.status == 0 && down.standardError.contains("1 stopped"), "\(down)")
    }

    @Test func stopLeavesAProcessThatIsNotTheWorkerAlone() throws {
        let scratch = try Scratch(hostfile: "node-a\n")
        let pid = try DetachedProcess.start(executable: "/bin/sleep", arguments: ["30"], log: scratch.path("sleep.log"))
        defer { kill(pid, SIGKILL) }
        let stop = try LoomProcess.run(["cluster", "node", "stop", "--connect", "tcp://127.0.0.1:1", "\(pid):node-a/0", "999999:node-a/1"])
        #expect(stop.status == 0, "\(stop)")
        #expect(stop.standardOutput == "\(pid) node-a/0 not-ours\n999999 node-a/1 gone\n", "\(stop)")
        #expect(LocalProcesses.isRunning(pid))
        let bad = try LoomProcess.run(["cluster", "node", "stop", "--connect", "tcp://127.0.0.1:1", "12;rm"])
        #expect(bad.status == 2 && bad.standardError.contains("is not PID:NAME"), "\(bad)")
    }

    @Test func badInputIsRefusedBeforeAnythingStarts() throws {
        let scratch = try Scratch(hostfile: "node-a\n-oProxyCommand=touch\n")
        let up = try LoomProcess.run(scratch.upArguments)
        #expect(up.status == 2 && up.standardError.contains("hosts:2:1:") && up.standardError.contains("cannot start with '-'"), "\(up)")
        #expect(try scratch.state() == nil)
        let noShell = try LoomProcess.run(["cluster", "up", "--hostfile", scratch.path("hosts"), "--rsh", "no-such-remote-shell"])
        #expect(noShell.status == 2, "\(noShell)")
        let good = try Scratch(hostfile: "node-a\n")
        for address in ["a b", "host;id", "$(id)", ""] {
            let arguments = good.upArguments.map { $0 == "127.0.0.1" ? address : $0 }
            let bad = try LoomProcess.run(arguments)
            #expect(bad.status == 2 && bad.standardError.contains("is not a host name or address"), "\(address): \(bad)")
        }
        #expect(try good.state() == nil)
        let down = try LoomProcess.run(["cluster", "down", "--state", scratch.path("nothing")])
        #expect(down.status == 2 && down.standardError.contains("no cluster is recorded"), "\(down)")
    }

    /// `--state ~/.loom` once made cluster up replace the user's own coordinator keys (even when
    /// no host came up); keys it did not make are now left alone.
    @Test func upNeverReplacesKeysItDidNotMake() throws {
        let scratch = try Scratch(hostfile: "node-a\n")
        let keys = scratch.path("state/keys")
        try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
        try "mine\n".write(toFile: keys + "/coordinator.key", atomically: true, encoding: .utf8)
        let up = try LoomProcess.run(scratch.upArguments, deadline: .seconds(60))
        #expect(up.status == 2 && up.standardError.contains("which 'loom cluster up' did not make"), "\(up)")
        #expect(try String(contentsOfFile: keys + "/coordinator.key", encoding: .utf8) == "mine\n")
        #expect(try scratch.state() == nil)
    }

    /// Values a coordinator's wire refuses are refused here, with the bound, instead of a
    /// submit the coordinator drops unanswered ("no answer … is it running?").
    @Test(arguments: [(["--count", "1000001"], "--count must be at most 1000000"), (["--gang", "65537"], "--gang must be at most 65536"),
                      (["--attempts", "1001"], "--attempts must be at most 1000"), (["--slots", "5000"], "--slots must be at most 4096")])
    func valuesTheWireRefusesAreUsageErrors(arguments: [String], expected: String) throws {
        let command = arguments[0] == "--slots" ? ["worker", "--connect", "tcp://127.0.0.1:9"] : ["submit", "--kind", "sleep", "--connect", "tcp://127.0.0.1:9"]
        let outcome = try LoomProcess.run(command + arguments, deadline: .seconds(30))
        #expect(outcome.status == 2 && outcome.standardError.contains(expected), "\(outcome)")
    }

    @Test func aWorkerNameWithControlCharactersIsRefused() throws {
        for name in ["", "a\nb", "x\u{1B}[2J"] {
            let outcome = try LoomProcess.run(["worker", "--connect", "tcp://127.0.0.1:9", "--name", name], deadline: .seconds(30))
            #expect(outcome.status == 2 && outcome.standardError.contains("--name must be 1 to 128 characters"), "\(outcome)")
        }
    }

    /// Loopback is an address in 127.0.0.0/8, `localhost` or `[::1]`, never a name that starts
    /// with "127." (a DNS name can, and would then get traffic without CURVE).
    @Test func loopbackIsAnAddressNotAPrefix() {
        for endpoint in ["tcp://127.0.0.1:5555", "tcp://127.1.2.3:1", "tcp://localhost:5", "tcp://[::1]:5555", "ipc:///tmp/x"] {
            #expect(ClusterOptions.isLoopback(endpoint), "\(endpoint)")
        }
        for endpoint in ["tcp://127.attacker.example:5555", "tcp://127.0.0.1.example:5", "tcp://127.0.0:5", "tcp://128.0.0.1:5", "tcp://[::2]:5"] {
            #expect(!ClusterOptions.isLoopback(endpoint), "\(endpoint)")
        }
    }

    /// A wait past Int64's milliseconds once stopped the process that converted it; each option
    /// that becomes a Duration now takes at most a year, and says so before anything starts.
    @Test(arguments: [["status", "--connect", "tcp://127.0.0.1:9", "--timeout"],
                      ["submit", "--kind", "sleep", "--connect", "tcp://127.0.0.1:9", "--wait", "--timeout"],
                      ["worker", "--connect", "tcp://127.0.0.1:9", "--drain-timeout"],
                      ["worker", "--connect", "tcp://127.0.0.1:9", "--peer-timeout"],
                      ["cluster", "down", "--state", "/nonexistent", "--grace"],
                      ["cluster", "node", "stop", "--connect", "tcp://127.0.0.1:9", "--grace"]])
    func aWaitLongerThanAYearIsRefused(arguments: [String]) throws {
        for (value, expected) in [("1e30", "longer than a year; give at most 31536000 seconds"),
                                  ("nan", "expects a positive number of seconds"), ("-1", "expects a positive number of seconds")] {
            let outcome = try LoomProcess.run(arguments + [value], deadline: .seconds(30))
            #expect(outcome.status == 2 && outcome.standardError.contains(expected), "\(arguments) \(value): \(outcome)")
        }
    }
}
