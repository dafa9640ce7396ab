import Cluster
import ClusterTestSupport
import Foundation
import Testing

/// Tasks through a coordinator and real worker processes.
@Suite(.serialized) struct TaskDispatchTests {
    @Test func echoTasksReturnTheirValuesFromEveryWorker() throws {
        let cluster = try TestCluster(workers: 2, slots: 2)
        let ids = try (0..<20).flatMap { i in
            try cluster.coordinator.submit(kind: "echo", params: ["value": .string("v\(i)")])
        }
        let results = try #require(cluster.coordinator.waitForResults(ids, timeout: .seconds(30)), "\(cluster.logText)")
        for (i, result) in results.enumerated() {
            #expect(result.succeeded && result.metrics["value"] == .string("v\(i)") && result.attempt == 1, "\(result)")
        }
        #expect(Set(results.map(\.worker)).count == 2, "both workers should take tasks")
    }

    @Test func creditNeverExceedsAWorkersSlots() throws {
        let cluster = try TestCluster(workers: 2, slots: 2)
        let ids = try cluster.coordinator.submit(kind: "sleep", params: ["seconds": .double(0.3)], count: 8)
        var peak = 0
        while cluster.coordinator.results(for: ids).count < ids.count {
            let status = try cluster.status()
            for worker in status.workers { #expect(worker.running <= 2, "worker \(worker.name) holds \(worker.running) tasks with 2 slots") }
            peak = max(peak, status.running)
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(peak == 4, "4 slots in all should all be used")
    }

    @Test func aFailingTaskIsRetriedUpToItsAttempts() throws {
        let cluster = try TestCluster(workers: 1)
        let ids = try cluster.coordinator.submit(kind: "fail", params: ["probability": .double(1)], maxAttempts: 3)
        let result = try #require(cluster.coordinator.waitForResults(ids, timeout: .seconds(20))?.first)
        #expect(!result.succeeded && result.error.contains("failed 3 time(s)"), "\(result)")
        #expect(try cluster.status().counters["attempts_failed"] == 3)
    }

    @Test func badSubmissionsAreRefusedWithTheNearestName() throws {
        let cluster = try TestCluster(workers: 0)
        #expect { _ = try cluster.coordinator.submit(kind: "slep") } throws: { "\($0)".contains("did you mean 'sleep'") }
        #expect { _ = try cluster.coordinator.submit(kind: "sleep", params: ["second": .double(1)]) } throws: {
            "\($0)".contains("did you mean 'seconds'")
        }
        #expect { _ = try cluster.coordinator.submit(kind: "sleep", params: ["seconds": .string("soon")]) } throws: {
            "\($0)".contains("must be double")
        }
        #expect { _ = try cluster.coordinator.submit(kind: "gang.barrier") } throws: { "\($0)".contains("gang") }
        // Its milliseconds would not fit Int64, and converting them would stop the worker.
        for (kind, name) in [("sleep", "seconds"), ("steps", "seconds"), ("crash", "after")] {
            #expect { _ = try cluster.coordinator.submit(kind: kind, params: [name: .double(1e30)]) } throws: {
                "\($0)".contains("must be in 0…31536000")
            }
        }
    }
}
