import ClusterTestSupport
import Foundation
import ProcessTestSupport
import Testing
import Wire
@testable import Cluster
import Tasks

/// What a worker computes on (`WorkerInfo.machine`): carried by its registration, bounded, and
/// passed through the coordinator's status as data, whatever bytes it holds.
@Suite struct WorkerMachineTests {
    static func info(machine: [String]) -> WorkerInfo {
        WorkerInfo(name: "w", host: "h", hostID: "i", pid: 7, cores: 2, slots: 1, version: "0", kinds: ["echo"],
                   scheduler: ["SLURM_JOB_ID=1"], machine: machine)
    }

    @Test func aRegistrationCarriesItsMachine() throws {
        let machine = ["cpu=AMD EPYC 7B13", "tile=avx2", "simd=AVX2+FMA", "blas=Zen"]
        guard case let .register(back) = try ClusterMessage(ClusterMessage.register(Self.info(machine: machine)).message) else {
            Issue.record("not a registration"); return
        }
        #expect(back.machine == machine && back.scheduler == ["SLURM_JOB_ID=1"])
    }

    /// A worker of an older Loom sends neither list (or no machine after its scheduler entries).
    @Test func anOlderRegistrationHasNoMachine() throws {
        var old = ByteWriter()
        old.write("w"); old.write("h"); old.write("i"); old.write(7); old.write(2); old.write(1); old.write("0")
        old.write(["echo"]); old.write("")
        var withScheduler = old
        withScheduler.write(["SLURM_JOB_ID=1"])
        for header in [old.data, withScheduler.data] {
            guard case let .register(info) = try ClusterMessage(Message("register", header: header)) else {
                Issue.record("not a registration"); return
            }
            #expect(info.machine.isEmpty && info.name == "w")
        }
    }

    @Test func tooManyOrTooLongOrMalformedEntriesAreRefused() throws {
        let limits = WorkerInfo.machineLimits
        let hostile = [
            (0...limits.entries).map { "k\($0)=v" },                       // one entry too many
            ["cpu=" + String(repeating: "x", count: limits.bytes)],         // one byte too long
            ["no equals sign"],
        ]
        for machine in hostile {
            #expect(throws: WireError.self, "\(machine.count) entries") {
                _ = try ClusterMessage(ClusterMessage.register(Self.info(machine: machine)).message)
            }
        }
        // At the limits exactly, it is accepted.
        let fullest = (0..<limits.entries).map { index in "k\(index)=" + String(repeating: "x", count: limits.bytes - 3 - String(index).count) }
        guard case let .register(back) = try ClusterMessage(ClusterMessage.register(Self.info(machine: fullest)).message) else {
            Issue.record("not a registration"); return
        }
        #expect(back.machine == fullest)
    }

    /// Quotes, backslashes, control bytes and a terminal escape in a machine entry reach the
    /// status JSON as text: it parses, and gives back exactly what the worker sent.
    @Test func hostileMachineTextStaysDataInTheStatus() throws {
        let cluster = try TestCluster(workers: 0)
        defer { cluster.local.stop() }
        let cpu = "AMD \"EPYC\"\\\n\u{1B}[31m</script>{},"
        let context = try Context()
        let peer = try Socket(context, kind: .dealer)
        try peer.connect(cluster.coordinator.endpoint)
        try peer.send(ClusterMessage.register(Self.info(machine: ["cpu=" + cpu, "tile=avx2"])).message.frames)
        try cluster.wait(for: "the peer to register") { $0.workers.count == 1 }
        let status = try cluster.status()
        #expect(status.workers[0].machine == ["cpu=" + cpu, "tile=avx2"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(status.json.utf8)) as? [String: Any])
        let workers = try #require(object["workers"] as? [[String: Any]])
        #expect(workers.first?["machine"] as? [String: String] == ["cpu": cpu, "tile": "avx2"], "\(status.json)")
    }

    /// The coordinator's log names each worker with its tile; control bytes a registration
    /// carries (a terminal escape in a name or a machine entry) reach the terminal replaced.
    @Test func theCoordinatorsLogShowsTheTileAndNoControlBytes() throws {
        let scratch = try TemporaryDirectory()
        let process = Process()
        process.executableURL = try LoomProcess.executable()
        process.arguments = ["coordinator", "--bind", "tcp://127.0.0.1:*", "--insecure-loopback",
                             "--rendezvous", scratch.path("endpoint"), "--advertise", "127.0.0.1"]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        #expect(FileManager.default.createFile(atPath: scratch.path("log"), contents: nil))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch.path("log")))
        try process.run()
        defer { if process.isRunning { process.terminate() }; process.waitUntilExit() }
        func waitFor(_ what: String, _ read: () -> String?) throws -> String {
            for _ in 0..<1000 {
                if let text = read() { return text }
                Thread.sleep(forTimeInterval: 0.01)
            }
            struct Timeout: Error { var what: String }
            throw Timeout(what: what)
        }
        let endpoint = try waitFor("the rendezvous file") {
            let text = (try? String(contentsOfFile: scratch.path("endpoint"), encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            return text?.isEmpty == false ? text : nil
        }
        var info = Self.info(machine: ["cpu=x", "tile=avx2\u{1B}[2J"])
        info.name = "evil\u{1B}]0;title\u{07}"
        let context = try Context()
        let peer = try Socket(context, kind: .dealer)
        try peer.connect(endpoint)
        try peer.send(ClusterMessage.register(info).message.frames)
        let log = try waitFor("the registration in the log") {
            let text = (try? String(contentsOfFile: scratch.path("log"), encoding: .utf8)) ?? ""
            return text.contains("registered") ? text : nil
        }
        #expect(log.contains("tile avx2\u{FFFD}[2J") && log.contains("evil\u{FFFD}]0;title\u{FFFD}"), "\(log)")
        #expect(!log.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 }, "\(log)")
    }
}
