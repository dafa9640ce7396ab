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

/// `loom run` redraws the report while the experiment runs: the page exists, says how far the
/// run is and reloads itself before the last run ends; the final page does not reload.
@Suite struct RunCommandLiveReportTests {
    @Test func theReportIsRedrawnWhileTheExperimentRuns() throws {
        let scratch = try TemporaryDirectory()
        try """
            name: slow
            task: sleep
            params: {seconds: [2.5, 2.6, 2.7, 2.8]}
            """.write(toFile: scratch.path("slow.yaml"), atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = try LoomProcess.executable()
        process.arguments = ["run", scratch.path("slow.yaml"), "--workers", "1", "--quiet"]
        process.currentDirectoryURL = scratch.url
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        let index = scratch.url.appendingPathComponent("reports/slow/index.html")
        var seenLive: String?
        let end = ContinuousClock.now + .seconds(9)
        while ContinuousClock.now < end, process.isRunning, seenLive == nil {
            if let page = try? String(contentsOf: index, encoding: .utf8), page.contains("Experiment running") { seenLive = page }
            Thread.sleep(forTimeInterval: 0.2)
        }
        let live = try #require(seenLive, "no live page within 9 s")
        #expect(live.contains("http-equiv=\"refresh\"") && live.contains("of 4 runs done"))
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let final = try String(contentsOf: index, encoding: .utf8)
        #expect(!final.contains("http-equiv=\"refresh\"") && !final.contains("Experiment running"))
    }
}
