@testable import Experiments
import Foundation
import ProcessTestSupport
import Tasks
import Testing
@testable import Reports

/// A report rendered while its experiment runs says so and reloads itself; once the experiment
/// ends, or its `loom run` is gone, it does neither.
@Suite struct ReportLiveTests {
    /// Experiment `live` with 5 runs, 2 of them SUCCEEDED, its invocation still open.
    static func store(in directory: TemporaryDirectory) throws -> (ResultsStore, invocation: Int64, runs: [Int64]) {
        let store = try ResultsStore(path: directory.path("state/loom.db"))
        let experiment = try store.experiment(named: "live", description: "", file: directory.path("live.yaml"))
        let invocation = try store.startInvocation(experiment: experiment, provenance: ReportFixture.provenance)
        let runs = (0..<5).map { ExperimentRun(index: $0, repetition: 0, params: ["n": .int($0)]) }
        let ids = try store.addRuns(runs, task: "gemm", cacheKeys: runs.map { "k\($0.index)" }, experiment: experiment, invocation: invocation)
        for id in ids.prefix(2) {
            try store.setStatus(id, .succeeded)
            try store.addMetrics(id, ["gflops": .double(1)])
        }
        try store.setStatus(ids[2], .running, attempt: 1, worker: "w0")
        return (store, invocation, ids)
    }

    static let refresh = "<meta http-equiv=\"refresh\" content=\"\(ReportIndex.reloadSeconds)\">"

    @Test func aRunningExperimentsPageReloadsAndSaysHowFarItIs() throws {
        let directory = try TemporaryDirectory()
        let (store, invocation, ids) = try ReportLiveTests.store(in: directory)
        let data = try #require(try ReportData.load(experiment: "live", from: store))
        #expect(data.invocationIsLive)
        #expect(data.progress.map { [$0.done, $0.total] } == [2, 5])
        let out = directory.url.appendingPathComponent("report")
        var output = try Report.render(experiment: "live", spec: ReportSpec(), store: store, to: out)
        var html = try String(contentsOf: output.indexHTML, encoding: .utf8)
        #expect(html.contains(ReportLiveTests.refresh))
        #expect(html.contains("Experiment running: 2 of 5 runs done."))
        #expect(html.contains("<title>live (running, 2/5) — Loom report</title>"), "the tab says it too")
        #expect(try String(contentsOf: output.indexMarkdown, encoding: .utf8).contains("Experiment running: 2 of 5 runs done."))

        // Every run ended: no reload even before the invocation is marked finished.
        for id in ids.dropFirst(2) { try store.setStatus(id, .failed, error: "no") }
        #expect(try #require(try ReportData.load(experiment: "live", from: store)).progress == nil)
        try store.finishInvocation(invocation)
        output = try Report.render(experiment: "live", spec: ReportSpec(), store: store, to: out)
        html = try String(contentsOf: output.indexHTML, encoding: .utf8)
        #expect(!html.contains("http-equiv=\"refresh\"") && !html.contains("Experiment running"))
        #expect(try #require(try ReportData.load(experiment: "live", from: store)).invocationIsLive == false)
    }

    @Test func anInvocationWithoutARecentHeartbeatIsNotLive() throws {
        let directory = try TemporaryDirectory()
        let (store, invocation, _) = try ReportLiveTests.store(in: directory)
        // A `loom run` killed a minute ago: open, runs unfinished, no heartbeat since.
        let past = Date().timeIntervalSince1970 - 60
        _ = try store.database.query("UPDATE invocation SET started_at = ?, heartbeat_at = ? WHERE id = ?",
                                     [.real(past), .real(past), .integer(invocation)])
        let data = try #require(try ReportData.load(experiment: "live", from: store))
        #expect(!data.invocationIsLive && data.progress == nil)
        let html = ReportIndex(data: data, figures: [], notes: []).html
        #expect(!html.contains("http-equiv=\"refresh\""))

        try store.heartbeat(invocation: invocation)
        #expect(try #require(try ReportData.load(experiment: "live", from: store)).progress != nil, "a fresh heartbeat: live again")
    }
}
