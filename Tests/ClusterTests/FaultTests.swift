import Cluster
import ClusterTestSupport
import Foundation
import Testing
import Tasks

/// Dead workers, dead gang members and draining workers: nothing is lost, nothing runs twice.
@Suite(.serialized) struct FaultTests {
    @Test(arguments: [("sleep", ["seconds": ParameterValue.double(3)]),
                      ("gemm", ["n": .int(768), "repeat": .int(150)])])
    func killNineMidTaskRequeuesOnAnotherWorker(kind: String, params: [String: ParameterValue]) throws {
        let cluster = try TestCluster(workers: 2)
        let ids = try cluster.coordinator.submit(kind: kind, params: params)
        try cluster.wait(for: "the task to start") { $0.running == 1 }
        Thread.sleep(forTimeInterval: 0.3)                  // well inside the task
        let victim = try #require(try cluster.status().workers.first { $0.running == 1 })
        kill(Int32(victim.pid), SIGKILL)
        let killedAt = ContinuousClock.now
        try cluster.wait(for: "the loss to be noticed", timeout: .seconds(5)) { $0.counters["workers_lost"] == 1 }
        #expect(ContinuousClock.now - killedAt < .seconds(2), "3 missed beats of 100 ms should take well under 2 s")
        let results = try #require(cluster.coordinator.waitForResults(ids, timeout: .seconds(120)), "\(cluster.logText)")
        let result = try #require(results.first)
        #expect(result.succeeded, "\(result)\n\(cluster.logText)")
        #expect(result.attempt == 2 && result.worker != victim.name, "\(result)")
        let status = try cluster.status()
        #expect(status.succeeded == 1 && status.failed == 0 && status.counters["attempts_lost"] == 1, "\(status.json)")
    }

    @Test func gangOfFourSurvivesAMemberKilledMidBarrier() throws {
        let cluster = try TestCluster(workers: 5)
        let ids = try cluster.coordinator.submit(kind: "gang.barrier", params: ["rounds": .int(30), "pause": .double(0.1)], gang: 4)
        try cluster.wait(for: "the gang to start") { $0.workers.filter { $0.running == 1 }.count == 4 }
        Thread.sleep(forTimeInterval: 0.5)                  // mid-way through the barriers
        let victim = try #require(try cluster.status().workers.first { $0.running == 1 })
        kill(Int32(victim.pid), SIGKILL)
        let killedAt = ContinuousClock.now
        try cluster.wait(for: "the gang attempt to fail", timeout: .seconds(5)) { $0.counters["attempts_lost"] == 1 }
        #expect(ContinuousClock.now - killedAt < .seconds(2), "the attempt should fail within a few heartbeats")
        let result = try #require(cluster.coordinator.waitForResults(ids, timeout: .seconds(60))?.first, "\(cluster.logText)")
        #expect(result.succeeded && result.attempt == 2, "\(result)\n\(cluster.logText)")
        #expect(!result.worker.split(separator: ",").contains(Substring(victim.name)), "the retry must not use the dead worker")
        #expect(result.metrics["gang_size"] == .int(4))
        // Everyone is free again: the surviving members of the failed attempt let go of it.
        try cluster.wait(for: "all workers idle", timeout: .seconds(10)) { $0.workers.count == 4 && $0.running == 0 }
    }

    @Test func aRingGangPassesItsBarriers() throws {
        let cluster = try TestCluster(workers: 3)
        let ids = try cluster.coordinator.submit(kind: "gang.barrier", params: ["rounds": .int(20), "topology": .string("ring")], gang: 3)
        let result = try #require(cluster.coordinator.waitForResults(ids, timeout: .seconds(30))?.first, "\(cluster.logText)")
        #expect(result.succeeded && result.metrics["rank2.rank"] == .int(2), "\(result)")
    }

    @Test func sigtermDrainsAWorkerAfterItsTask() throws {
        let cluster = try TestCluster(workers: 1)
        let ids = try cluster.coordinator.submit(kind: "sleep", params: ["seconds": .double(0.8)])
        try cluster.wait(for: "the task to start") { $0.running == 1 }
        let worker = try #require(try cluster.status().workers.first)
        kill(Int32(worker.pid), SIGTERM)
        let result = try #require(cluster.coordinator.waitForResults(ids, timeout: .seconds(10))?.first, "\(cluster.logText)")
        #expect(result.succeeded && result.attempt == 1, "the drained worker should finish its task: \(result)")
        try cluster.wait(for: "the worker to leave", timeout: .seconds(5)) { $0.workers.isEmpty }
        #expect(try cluster.status().counters["workers_lost"] == nil, "a drained worker leaves, it is not lost")
    }

    @Test func aDrainingWorkerHandsBackWhatItCannotFinish() throws {
        let cluster = try TestCluster(workers: 2)           // --drain-timeout 2 s
        let ids = try cluster.coordinator.submit(kind: "sleep", params: ["seconds": .double(4)])
        try cluster.wait(for: "the task to start") { $0.running == 1 }
        let worker = try #require(try cluster.status().workers.first { $0.running == 1 })
        kill(Int32(worker.pid), SIGTERM)
        let result = try #require(cluster.coordinator.waitForResults(ids, timeout: .seconds(30))?.first, "\(cluster.logText)")
        #expect(result.succeeded && result.attempt == 2 && result.worker != worker.name, "\(result)")
        #expect(try cluster.status().counters["handed_back"] == 1)
    }

    @Test func aCrashingTaskIsFailedAfterThreeLossesNotRetriedForever() throws {
        let cluster = try TestCluster(workers: 3)
        let ids = try cluster.coordinator.submit(kind: "crash")
        let result = try #require(cluster.coordinator.waitForResults(ids, timeout: .seconds(30))?.first, "\(cluster.logText)")
        #expect(!result.succeeded && result.error.contains("lost 3 time(s)"), "\(result)")
    }
}
