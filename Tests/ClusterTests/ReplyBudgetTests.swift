import ClusterTestSupport
import Foundation
import Synchronization
import Testing
import Wire
@testable import Cluster
import Tasks

/// A coordinator's replies to a client stay within the control sockets' message limit, however
/// many large results are waiting: the rest come with the client's next ask.
@Suite struct ReplyBudgetTests {
    /// A peer on a real DEALER that registers as a worker and answers every task at once with a
    /// result carrying a 100,000-point curve (about 2.5 MB encoded).
    final class BulkyWorker: Sendable {
        private final class Shared: Sendable {
            let stopping = Atomic<Bool>(false)
            let stopped = DispatchSemaphore(value: 0)
        }
        private let shared = Shared()

        init(endpoint: String) {
            let info = WorkerInfo(name: "bulky", host: "here", hostID: "here-boot", pid: 4343, cores: 2,
                                  slots: 4, version: "0", kinds: ["echo"])
            let curve = (1...100_000).map { StepMetric(name: "value", step: $0, value: Double($0)) }
            let thread = Thread { [shared] in
                defer { shared.stopped.signal() }
                guard let context = try? Context(), let socket = try? Socket(context, kind: .dealer) else { return }
                do {
                    try socket.connect(endpoint)
                    _ = try socket.send(ClusterMessage.register(info).message.frames)
                    var lastSent = ContinuousClock.now
                    while !shared.stopping.load(ordering: .acquiring) {
                        if let received = try socket.receive(timeout: .milliseconds(20)),
                           let message = try? ClusterMessage(Message(frames: received.frames[...])),
                           case let .task(taskID, attempt, _, _, _, _) = message {
                            var result = TaskResult(taskID: taskID, attempt: attempt, succeeded: true, metrics: ["steps": .int(curve.count)],
                                                    artifacts: [], error: "", seconds: 0, worker: "bulky")
                            result.series = curve
                            _ = try socket.send(ClusterMessage.result(result).message.frames)
                            lastSent = ContinuousClock.now
                        }
                        if ContinuousClock.now - lastSent >= .milliseconds(100) {
                            _ = try socket.send(ClusterMessage.heartbeat.message.frames)
                            lastSent = ContinuousClock.now
                        }
                    }
                } catch {}
            }
            thread.start()
        }

        deinit {
            shared.stopping.store(true, ordering: .releasing)
            shared.stopped.wait()
        }
    }

    @Test func resultsLargerThanOneMessageArriveOverSeveralAsks() throws {
        // A budget of 4 MiB stands for the default 32 MiB at a tenth of the bytes.
        let cluster = try TestCluster(workers: 0) { $0.replyBudget = 4 << 20 }
        let worker = BulkyWorker(endpoint: cluster.coordinator.endpoint)
        try cluster.wait(for: "the bulky worker to register") { $0.workers.count == 1 }
        let client = try ClusterClient(connect: cluster.coordinator.endpoint)
        // Four results of about 2.5 MB: 10 MB in all, which no reply may carry at once.
        let ids = try client.submit(kind: "echo", params: [:], count: 4, gang: 0, maxAttempts: 1)
        try cluster.wait(for: "every result", timeout: .seconds(60)) { $0.succeeded >= 4 }
        var received: [UInt64: TaskResult] = [:]
        var asks = 0
        while received.count < ids.count && asks < 10 {
            asks += 1
            for result in try client.results(ids.filter { received[$0] == nil }, timeout: .seconds(20)) { received[result.taskID] = result }
        }
        #expect(received.count == 4 && received.values.allSatisfy { $0.series.count == 100_000 }, "\(received.count) results in \(asks) asks")
        #expect(asks >= 2, "a 10 MB answer cannot come in one 4 MiB reply")
        #expect(try cluster.status().counters["replies_split"] ?? 0 >= 1)
        withExtendedLifetime(worker) {}
    }

    @Test func theBudgetKeepsAtLeastOneItemAndAPrefix() {
        let small = Array(repeating: AttemptEvent(taskID: 1, attempt: 1, kind: .lost(reason: "x")), count: 3)
        #expect(Coordinator.withinBudget(1 << 20, small) { .events([$0]) }.count == 3)
        var big = TaskResult(taskID: 1, attempt: 1, succeeded: true, metrics: [:], artifacts: [], error: "", seconds: 0, worker: "w")
        big.series = (1...40_000).map { StepMetric(name: "value", step: $0, value: 0) }     // about 1 MB
        #expect(Coordinator.withinBudget(1 << 20, [big, big, big]) { .results([$0]) }.count == 1, "two of 1 MB pass a 1 MiB budget")
        #expect(Coordinator.withinBudget(3 << 20, [big, big, big]) { .results([$0]) }.count == 3)
        #expect(Coordinator.withinBudget(1, [big]) { .results([$0]) }.count == 1, "one item always goes")
        #expect(CoordinatorConfiguration(bind: "").replyBudget * 2 <= MessageLimit.control.maximumBytes)
    }
}
