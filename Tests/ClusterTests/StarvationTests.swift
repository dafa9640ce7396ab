import Cluster
import ClusterTestSupport
import Foundation
import ProcessTestSupport
import Synchronization
import Testing
import Wire

/// A worker cannot starve the cluster: its slots are capped, every attempt has a lease, and a
/// worker whose leases keep expiring is dropped for good.
@Suite(.serialized) struct StarvationTests {
    /// A short default lease, so an expiry shows within a second.
    static let lease = Duration.milliseconds(800)

    /// A peer that speaks the worker protocol on a real DEALER: it registers, heartbeats every
    /// 100 ms, registers again when asked, and takes tasks without ever answering them.
    final class SilentWorker: Sendable {
        static let heartbeatInterval = Duration.milliseconds(100)
        /// What the peer's thread and the test share.
        private final class Shared: Sendable {
            let commands = Mutex<[String]>([])
            let stopping = Atomic<Bool>(false)
            let stopped = DispatchSemaphore(value: 0)
        }
        private let shared = Shared()

        init(endpoint: String, info: WorkerInfo) {
            let thread = Thread { [shared] in
                defer { shared.stopped.signal() }
                do {
                    let context = try Context()
                    let socket = try Socket(context, kind: .dealer)   // created, used and closed here
                    try socket.connect(endpoint)
                    _ = try socket.send(ClusterMessage.register(info).message.frames)
                    var lastSent = ContinuousClock.now
                    while !shared.stopping.load(ordering: .acquiring) {
                        if let received = try socket.receive(timeout: .milliseconds(20)),
                           let message = try? ClusterMessage(Message(frames: received.frames[...])) {
                            shared.commands.withLock { $0.append(message.command) }
                            if case .reregister = message {
                                _ = try socket.send(ClusterMessage.register(info).message.frames)
                                lastSent = ContinuousClock.now
                            }
                        }
                        if ContinuousClock.now - lastSent >= SilentWorker.heartbeatInterval {
                            _ = try socket.send(ClusterMessage.heartbeat.message.frames)
                            lastSent = ContinuousClock.now
                        }
                    }
                } catch {
                    shared.commands.withLock { $0.append("stopped: \(error)") }
                }
            }
            thread.name = "silent-worker"
            thread.start()
        }

        /// How many messages with `command` the coordinator sent it.
        func count(_ command: String) -> Int { shared.commands.withLock { $0.filter { $0 == command }.count } }
        var log: String { shared.commands.withLock { $0.joined(separator: " ") } }

        func stop() {
            guard !shared.stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
            shared.stopped.wait()
        }

        deinit { stop() }
    }

    /// Claims 4096 slots on 2 cores, so without a cap it would take the whole queue.
    static let greedy = WorkerInfo(name: "silent", host: "nowhere", hostID: "nowhere-boot", pid: 4242, cores: 2,
                                   slots: 4096, version: "0", kinds: ["echo", "sleep"])

    @Test func aSilentWorkerLosesItsTasksToARealOneAndIsDropped() throws {
        let cluster = try TestCluster(workers: 1) { $0.defaultAttemptTimeout = StarvationTests.lease }
        let silent = SilentWorker(endpoint: cluster.coordinator.endpoint, info: StarvationTests.greedy)
        defer { silent.stop() }
        try cluster.wait(for: "the silent worker to register") { $0.workers.count == 2 }
        let registration = try cluster.status()
        let registered = try #require(registration.workers.first { $0.name == "silent" })
        #expect(registered.slots == 16 && registered.declaredSlots == 4096,
                "8 slots per declared core, not the 4096 asked for: \(registration.json)")

        // The silent worker has the most free slots, so it is given both tasks first.
        let submitted = ContinuousClock.now
        let ids = try cluster.coordinator.submit(kind: "sleep", params: ["seconds": .double(0.2)], count: 2)
        let results = try #require(cluster.coordinator.waitForResults(ids, timeout: .seconds(20)), "\(cluster.logText)")
        let elapsed = ContinuousClock.now - submitted
        #expect(silent.count("task") == 2, "the silent worker should have been given both tasks: \(silent.log)")
        for result in results {
            #expect(result.succeeded && result.attempt == 2 && result.worker == "local-0", "\(result)\n\(cluster.logText)")
        }
        // One lease (0.8 s), then two 0.2 s tasks on the one-slot real worker: well under 4 s.
        #expect(elapsed < .seconds(4), "the tasks took \(elapsed); a silent worker must not hold them past the lease")

        // Two leases in a row expired on it: it is told why, forgotten and counted.
        try cluster.wait(for: "the silent worker to be refused", timeout: .seconds(5)) { _ in silent.count("refused") >= 1 }
        #expect(silent.count("cancel") == 2, "each expired attempt is cancelled on its worker: \(silent.log)")
        let status = try cluster.status()
        #expect(status.workers.map(\.name) == ["local-0"], "\(status.json)")
        #expect(status.counters["attempts_expired"] == 2 && status.counters["workers_dropped"] == 1
                && status.counters["attempts_lost"] == 2 && status.counters["slots_capped"] == 1, "\(status.json)")

        // It keeps heartbeating, is asked to register, and is refused; so is a fresh connection
        // that claims the same identity.
        try cluster.wait(for: "its re-registration to be refused", timeout: .seconds(5)) {
            ($0.counters["registrations_refused"] ?? 0) >= 1
        }
        let again = SilentWorker(endpoint: cluster.coordinator.endpoint, info: StarvationTests.greedy)
        defer { again.stop() }
        try cluster.wait(for: "the fresh connection to be refused", timeout: .seconds(5)) { _ in again.count("refused") >= 1 }
        #expect(again.count("welcome") == 0 && silent.count("welcome") == 1, "\(again.log)")
        #expect(try cluster.status().workers.map(\.name) == ["local-0"])

        // And the real worker still takes work, all of it now.
        let later = try cluster.coordinator.submit(kind: "echo", params: ["value": .string("after")], count: 3)
        let laterResults = try #require(cluster.coordinator.waitForResults(later, timeout: .seconds(10)), "\(cluster.logText)")
        #expect(laterResults.allSatisfy { $0.succeeded && $0.attempt == 1 && $0.worker == "local-0" })
    }

    @Test func anExpiredAttemptIsRequeuedOnAnotherWorker() throws {
        let cluster = try TestCluster(workers: 1) {
            $0.defaultAttemptTimeout = StarvationTests.lease
            $0.maxExpiredAttempts = 5                        // keep the silent worker registered
        }
        let silent = SilentWorker(endpoint: cluster.coordinator.endpoint, info: StarvationTests.greedy)
        defer { silent.stop() }
        try cluster.wait(for: "the silent worker to register") { $0.workers.count == 2 }
        // It still has 15 free slots to the real worker's 1 when the lease expires: only the
        // expiry sends the new attempt elsewhere.
        let ids = try cluster.coordinator.submit(kind: "sleep", params: ["seconds": .double(0.2)])
        let result = try #require(cluster.coordinator.waitForResults(ids, timeout: .seconds(10))?.first, "\(cluster.logText)")
        #expect(result.succeeded && result.attempt == 2 && result.worker == "local-0", "\(result)\n\(cluster.logText)")
        #expect(silent.count("task") == 1 && silent.count("cancel") == 1, "\(silent.log)")
        let status = try cluster.status()
        #expect(status.workers.count == 2 && status.counters["workers_dropped"] == nil, "\(status.json)")
    }

    @Test func aGangChargesOnlyTheRankThatNeverBound() throws {
        let cluster = try TestCluster(workers: 0) {
            $0.defaultAttemptTimeout = .milliseconds(1200)
            $0.maxExpiredAttempts = 1                        // one charge drops: shows who was charged
        }
        // Registered first, so it has the lowest id and the first gang attempt includes it.
        let silent = SilentWorker(endpoint: cluster.coordinator.endpoint, info: WorkerInfo(
            name: "silent", host: "nowhere", hostID: "nowhere-boot", pid: 4242, cores: 1, slots: 1, version: "0",
            kinds: ["gang.barrier"]))
        defer { silent.stop() }
        try cluster.wait(for: "the silent worker to register") { $0.workers.count == 1 }
        let executable = try LoomProcess.executable()
        for index in 0..<3 {
            try cluster.local.spawnWorker(index: index, executable: executable, arguments: [
                "--slots", "1", "--heartbeat-ms", "100", "--liveness", "10", "--drain-timeout", "2", "--verbose"])
        }
        try cluster.wait(for: "the real workers to register", timeout: .seconds(30)) { $0.workers.count == 4 }
        let ids = try cluster.coordinator.submit(kind: "gang.barrier", params: ["rounds": .int(3)], gang: 3)
        let result = try #require(cluster.coordinator.waitForResults(ids, timeout: .seconds(15))?.first, "\(cluster.logText)")
        #expect(result.succeeded && result.attempt == 2, "\(result)\n\(cluster.logText)")
        #expect(!result.worker.contains("silent"), "the retry must leave out the rank that never bound: \(result.worker)")
        #expect(silent.count("task") == 1 && silent.count("refused") >= 1, "\(silent.log)")
        // The two honest ranks of the first attempt had bound and were waiting: not charged.
        let status = try cluster.status()
        #expect(status.counters["attempts_expired"] == 1 && status.counters["workers_dropped"] == 1
                && status.workers.map(\.name).sorted() == ["local-0", "local-1", "local-2"], "\(status.json)")
    }

    @Test func aRealWorkerAskingForTooManySlotsGetsTheCap() throws {
        let cluster = try TestCluster(workers: 1, slots: 100) { $0.maxSlotsPerWorker = 3 }
        let registration = try cluster.status()
        let worker = try #require(registration.workers.first)
        #expect(worker.slots == 3 && worker.declaredSlots == 100, "\(registration.json)")
        let ids = try cluster.coordinator.submit(kind: "sleep", params: ["seconds": .double(0.4)], count: 6)
        var peak = 0
        while cluster.coordinator.results(for: ids).count < ids.count {
            peak = max(peak, try cluster.status().running)
            Thread.sleep(forTimeInterval: 0.01)
        }
        #expect(peak == 3, "the worker should hold exactly its capped 3 slots at once, held \(peak)")
        #expect(try cluster.status().counters["slots_capped"] == 1)
    }

    @Test func anHonestWorkerThatAnswersTheCancelIsNotDropped() throws {
        let cluster = try TestCluster(workers: 2) {
            $0.defaultAttemptTimeout = StarvationTests.lease
            $0.recordsAttemptEvents = true
        }
        // Longer than the lease on every worker: each attempt expires, is cancelled (the sleep
        // honours it) and moves to the other worker, until the task has been lost 3 times.
        let ids = try cluster.coordinator.submit(kind: "sleep", params: ["seconds": .double(30)])
        let result = try #require(cluster.coordinator.waitForResults(ids, timeout: .seconds(15))?.first, "\(cluster.logText)")
        #expect(!result.succeeded && result.error.contains("lost 3 time(s)")
                && result.error.contains("attempt exceeded its lease of 0.8 s on worker local-"), "\(result)")
        let starts = cluster.coordinator.takeAttemptEvents().compactMap { event -> String? in
            if case let .started(workers) = event.kind { workers.first } else { nil }
        }
        #expect(starts.count == 3 && starts[0] != starts[1], "the first requeue goes to the other worker: \(starts)")
        // Both cancelled their sleeps (answering frees their slots) and both stay.
        try cluster.wait(for: "both workers to answer their cancels", timeout: .seconds(3)) {
            $0.workers.count == 2 && $0.running == 0 && $0.workers.allSatisfy { $0.running == 0 }
        }
        let status = try cluster.status()
        #expect(status.counters["attempts_expired"] == 3 && status.counters["workers_dropped"] == nil, "\(status.json)")
    }

    @Test func aLongTaskWithinItsLeaseIsNotCancelled() throws {
        let cluster = try TestCluster(workers: 1) { $0.defaultAttemptTimeout = .seconds(3) }
        let ids = try cluster.coordinator.submit(kind: "sleep", params: ["seconds": .double(1.5)])
        let result = try #require(cluster.coordinator.waitForResults(ids, timeout: .seconds(10))?.first, "\(cluster.logText)")
        #expect(result.succeeded && result.attempt == 1, "\(result)")
        #expect(try cluster.status().counters["attempts_expired"] == nil)
    }

    @Test func aTasksOwnTimeoutReplacesTheLeaseAndStillFailsTheAttempt() throws {
        let cluster = try TestCluster(workers: 1) { $0.defaultAttemptTimeout = .milliseconds(400) }
        // Longer than the default lease but within its own timeout: it runs to the end.
        let long = try cluster.coordinator.submit(kind: "sleep", params: ["seconds": .double(1.2)], timeout: .seconds(5))
        let longResult = try #require(cluster.coordinator.waitForResults(long, timeout: .seconds(10))?.first, "\(cluster.logText)")
        #expect(longResult.succeeded && longResult.attempt == 1, "\(longResult)")
        // Past its own timeout: a failure of the task (retried by its policy), not a lost attempt.
        let slow = try cluster.coordinator.submit(kind: "sleep", params: ["seconds": .double(5)], maxAttempts: 1,
                                                  timeout: .milliseconds(300))
        let slowResult = try #require(cluster.coordinator.waitForResults(slow, timeout: .seconds(10))?.first, "\(cluster.logText)")
        #expect(!slowResult.succeeded && slowResult.error.contains("timed out after 0.3 s"), "\(slowResult)")
        let status = try cluster.status()
        #expect(status.counters["attempts_timed_out"] == 1 && status.counters["attempts_failed"] == 1
                && status.counters["attempts_expired"] == nil && status.counters["attempts_lost"] == nil, "\(status.json)")
    }

    @Test(arguments: [(["--attempt-lease", "0"], "--attempt-lease expects a positive number of seconds"),
                      (["--attempt-lease", "1e30"], "give at most 31536000 seconds"),
                      (["--attempt-lease", "1e-9"], "--attempt-lease 1e-9 is shorter than 0.1 s"),
                      (["--max-slots", "0"], "--max-slots must be at least 1"),
                      (["--max-expired", "many"], "--max-expired expects a whole number"),
                      // Their product once overflowed the liveness deadline and stopped the process.
                      (["--heartbeat-ms", "9223372036854775807"], "--heartbeat-ms must be at most 3600000"),
                      (["--liveness", "20000"], "--liveness must be at most 1000")])
    func badLimitsExitTwoWithTheFix(arguments: [String], expected: String) throws {
        let outcome = try LoomProcess.run(["coordinator", "--bind", "tcp://127.0.0.1:*", "--insecure-loopback"] + arguments,
                                          deadline: .seconds(30))
        #expect(outcome.status == 2 && outcome.standardError.contains(expected), "\(outcome)")
    }

    @Test func loomUpTakesTheLeaseAndTheSlotCap() throws {
        let scratch = try TemporaryDirectory()
        _ = FileManager.default.createFile(atPath: scratch.path("out"), contents: nil)
        let up = Process()
        up.executableURL = try LoomProcess.executable()
        up.arguments = ["up", "--workers", "1", "--slots", "50", "--max-slots", "2", "--attempt-lease", "0.5",
                        "--heartbeat-ms", "100", "--logs", scratch.path("logs")]
        up.standardOutput = try FileHandle(forWritingTo: scratch.url.appendingPathComponent("out"))
        up.standardError = FileHandle.nullDevice
        up.standardInput = FileHandle.nullDevice
        try up.run()
        defer { up.terminate(); up.waitUntilExit() }       // SIGTERM stops its worker too
        var endpoint = ""
        let end = ContinuousClock.now + .seconds(30)
        while endpoint.isEmpty && up.isRunning && ContinuousClock.now < end {
            endpoint = (try? String(contentsOfFile: scratch.path("out"), encoding: .utf8))?.split(separator: "\n").first.map(String.init) ?? ""
            Thread.sleep(forTimeInterval: 0.02)
        }
        try #require(!endpoint.isEmpty, "loom up printed no endpoint")
        let table = try LoomProcess.run(["status", "--connect", endpoint], deadline: .seconds(30))
        #expect(table.standardOutput.contains(" 2/50 "), "the capped slots and the asked ones: \(table)")
        // A sleep longer than the lease expires on every attempt and fails after 3 losses.
        let submitted = try LoomProcess.run(["submit", "--connect", endpoint, "--kind", "sleep", "--param", "seconds=30",
                                             "--wait", "--timeout", "20"], deadline: .seconds(30))
        #expect(submitted.standardOutput.contains("lease of 0.5 s"), "\(submitted)")
        let json = try LoomProcess.run(["status", "--connect", endpoint, "--json"], deadline: .seconds(30))
        #expect(json.standardOutput.contains("\"attempts_expired\":3"), "\(json)")
    }
}
