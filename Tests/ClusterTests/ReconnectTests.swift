import Cluster
import ClusterTestSupport
import Foundation
import ProcessTestSupport
import Testing

/// A worker outlives its coordinator and joins the next one on the same endpoint.
@Suite(.serialized) struct ReconnectTests {
    @Test func workerRegistersAgainAfterTheCoordinatorRestarts() throws {
        let first = try Coordinator(CoordinatorConfiguration(bind: "tcp://127.0.0.1:*", liveness: TestCluster.liveness))
        let endpoint = first.endpoint
        let logs = try TemporaryDirectory()
        let worker = Process()
        worker.executableURL = try LoomProcess.executable()
        worker.arguments = ["worker", "--connect", endpoint, "--name", "survivor", "--heartbeat-ms", "100", "--verbose"]
        _ = FileManager.default.createFile(atPath: logs.path("worker.log"), contents: nil)
        worker.standardError = try FileHandle(forWritingTo: logs.url.appendingPathComponent("worker.log"))
        try worker.run()
        defer { worker.terminate(); worker.waitUntilExit() }
        func log() -> String { (try? String(contentsOfFile: logs.path("worker.log"), encoding: .utf8)) ?? "" }
        func waitForWorker(_ coordinator: Coordinator) -> Bool {
            let end = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < end {
                if coordinator.status()?.workers.first?.name == "survivor" { return true }
                Thread.sleep(forTimeInterval: 0.02)
            }
            return false
        }
        try #require(waitForWorker(first), "\(log())")
        first.stop()
        Thread.sleep(forTimeInterval: 1.5)                  // the worker notices the silence (10 beats of 100 ms)
        // The port is free again once libzmq has closed the socket (asynchronously).
        var second: Coordinator?
        let end = ContinuousClock.now + .seconds(10)
        while second == nil && ContinuousClock.now < end {
            second = try? Coordinator(CoordinatorConfiguration(bind: endpoint, liveness: TestCluster.liveness))
            if second == nil { Thread.sleep(forTimeInterval: 0.05) }
        }
        let restarted = try #require(second, "could not bind \(endpoint) again")
        defer { restarted.stop() }
        #expect(waitForWorker(restarted), "the worker should register with the new coordinator:\n\(log())")
        let ids = try restarted.submit(kind: "echo", params: ["value": .string("again")])
        #expect(restarted.waitForResults(ids, timeout: .seconds(20))?.first?.metrics["value"] == .string("again"))
        #expect(log().contains("reconnecting"), "\(log())")
    }
}
