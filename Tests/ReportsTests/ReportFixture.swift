@testable import Experiments
import Foundation
import ProcessTestSupport
import Reports
import Tasks

/// A results store filled through the `ResultsStore` API as `loom run` fills it, with numbers a
/// test can compute by hand.
struct ReportFixture {
    /// Multipliers of the three repetitions: the median is ×1, the min ×0.5, the max ×1.5.
    static let repetitionFactors = [1.0, 1.5, 0.5]
    static let sizes = [64, 128, 256]
    static let threads = [1, 2]

    /// gflops before the repetition factor: n/64 · threads · (2 when not causal).
    static func base(n: Int, threads: Int, causal: Bool) -> Double { Double(n / 64 * threads * (causal ? 1 : 2)) }

    static let provenance = ResultsStore.Provenance(command: "loom run sgemm.yaml", gitCommit: "abc123", gitDirty: true,
                                                    loomVersion: "0.1.0", loomBuild: "debug", host: "test-host",
                                                    libraries: ["SQLite": "3.40.1", "gnuplot": "5.4"])

    let directory: TemporaryDirectory
    let store: ResultsStore
    /// The latest invocation's run ids, in expansion order (the CACHED one first, the FAILED one last).
    let runIDs: [Int64]
    /// The run of the earlier invocation that the CACHED run takes its metrics from.
    let cacheSource: Int64

    /// Experiment `sgemm`: n × threads × causal, 3 repetitions, in a second invocation. Its first
    /// run is CACHED from a run of an earlier invocation; one more run (n = 512) FAILED.
    init() throws {
        directory = try TemporaryDirectory()
        store = try ResultsStore(path: directory.path("state/loom.db"))
        let experiment = try store.experiment(named: "sgemm", description: "sgemm throughput <by size> & threads",
                                              file: directory.path("gone.yaml"))
        let earlier = try store.startInvocation(experiment: experiment, provenance: ReportFixture.provenance)
        let firstParams: [String: ParameterValue] = ["n": .int(64), "threads": .int(1), "causal": .bool(false)]
        let source = try store.addRuns([ExperimentRun(index: 0, repetition: 0, params: firstParams)], task: "gemm",
                                       cacheKeys: ["key-0-0"], experiment: experiment, invocation: earlier)[0]
        try store.setStatus(source, .succeeded)
        try store.addMetrics(source, ["gflops": .double(ReportFixture.base(n: 64, threads: 1, causal: false))])
        try store.finishInvocation(earlier)
        cacheSource = source

        let latest = try store.startInvocation(experiment: experiment, provenance: ReportFixture.provenance)
        var runs: [ExperimentRun] = [], keys: [String] = []
        for causal in [false, true] {
            for threads in ReportFixture.threads {
                for n in ReportFixture.sizes {
                    for repetition in 0..<3 {
                        keys.append("key-\(runs.count / 3)-\(repetition)")
                        runs.append(ExperimentRun(index: runs.count / 3, repetition: repetition,
                                                  params: ["n": .int(n), "threads": .int(threads), "causal": .bool(causal)]))
                    }
                }
            }
        }
        runs.append(ExperimentRun(index: runs.count / 3, repetition: 0, params: ["n": .int(512), "threads": .int(1), "causal": .bool(false)]))
        keys.append("key-failed")
        runIDs = try store.addRuns(runs, task: "gemm", cacheKeys: keys, experiment: experiment, invocation: latest)
        for (id, run) in zip(runIDs, runs) {
            if id == runIDs.first { try store.setStatus(id, .cached); continue }
            if id == runIDs.last { try store.setStatus(id, .failed, error: "sgemm refused"); continue }
            try store.setStatus(id, .running, attempt: 1, worker: "w0")
            guard case let .int(n) = run.params["n"]!, case let .int(threads) = run.params["threads"]!,
                  case let .bool(causal) = run.params["causal"]! else { continue }
            let gflops = ReportFixture.base(n: n, threads: threads, causal: causal) * ReportFixture.repetitionFactors[run.repetition]
            try store.setStatus(id, .succeeded)
            try store.addMetrics(id, ["gflops": .double(gflops), "seconds": .double(1 / gflops), "note": .string("ok")])
        }
        try store.finishInvocation(latest)
    }
}

/// Whether gnuplot is on the PATH (tests that draw are enabled only then, STYLE §7).
let gnuplotIsInstalled: Bool = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin")
    .split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/gnuplot") }
