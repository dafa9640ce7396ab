import Cluster
import Foundation
import ProcessTestSupport
import Testing
@testable import Experiments

/// The SQLite results store on real files.
@Suite struct ResultsStoreTests {
    static func runs(_ count: Int) -> [ExperimentRun] {
        (0..<count).map { ExperimentRun(index: $0, repetition: 0, params: ["n": .int(64 * ($0 + 1)), "threads": .int(1)]) }
    }

    static let provenance = ResultsStore.Provenance(command: "loom run x.yaml", gitCommit: "abc123", gitDirty: false,
                                                    loomVersion: "0.1.0", loomBuild: "debug", host: "test",
                                                    libraries: ["SQLite": StoreInfo.sqliteVersion])

    @Test func createsTheSchemaOnceAndReopens() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("state/loom.db")
        let store = try ResultsStore(path: path)
        #expect(store.schemaVersion == ResultsStore.migrations.count)
        #expect(try store.integrityCheck() == "ok")
        let again = try ResultsStore(path: path)
        #expect(again.schemaVersion == ResultsStore.migrations.count, "migrations apply once")
        let journal = try store.database.query("PRAGMA journal_mode")
        #expect(journal.first?.first == .text("wal"))
    }

    /// Each worker's machine (CPU, tile) is stored as given, SQL and JSON metacharacters included,
    /// and read back by name; a worker of an older Loom has none.
    @Test func workersKeepTheirMachines() throws {
        let directory = try TemporaryDirectory()
        let store = try ResultsStore(path: directory.path("loom.db"))
        let experiment = try store.experiment(named: "x", description: "d", file: "x.yaml")
        let invocation = try store.startInvocation(experiment: experiment, provenance: ResultsStoreTests.provenance)
        let cpu = "AMD EPYC'); DROP TABLE run; -- \"quoted\" \\ \u{1B}[0m"
        try store.recordWorkers([
            .init(name: "fast", host: "a", pid: 1, slots: 1, version: "0.1.0", machine: ["cpu": cpu, "tile": "avx512"]),
            .init(name: "old", host: "b", pid: 2, slots: 1, version: "0.0.9"),
        ], invocation: invocation)
        #expect(try store.workerMachines(invocation: invocation) == ["fast": ["cpu": cpu, "tile": "avx512"]])
        #expect(try store.workers(invocation: invocation).map(\.name) == ["fast", "old"])
        #expect(try store.integrityCheck() == "ok" && (try store.database.query("SELECT count(*) FROM run")).count == 1)
    }

    @Test func runsMoveThroughTheirStatusesWithParamsMetricsAndEvents() throws {
        let directory = try TemporaryDirectory()
        let store = try ResultsStore(path: directory.path("loom.db"))
        let experiment = try store.experiment(named: "x", description: "d", file: "x.yaml")
        #expect(try store.experiment(named: "x", description: "d2", file: "x.yaml") == experiment, "one row per name")
        let invocation = try store.startInvocation(experiment: experiment, provenance: ResultsStoreTests.provenance)
        let ids = try store.addRuns(ResultsStoreTests.runs(3), task: "gemm", cacheKeys: ["k0", "k1", "k2"],
                                    experiment: experiment, invocation: invocation)
        #expect(ids.count == 3)
        #expect(try store.statusCounts(experiment: experiment) == [.pending: 3])
        try store.setStatus(ids[0], .running, attempt: 1, worker: "w0")
        try store.setStatus(ids[0], .succeeded)
        try store.addMetrics(ids[0], ["gflops": .double(31.5), "note": .string("fine")])
        try store.setStatus(ids[1], .lost, attempt: 1)
        #expect(try store.statusCounts(experiment: experiment) == [.pending: 1, .succeeded: 1, .lost: 1])
        #expect(try store.succeededRun(cacheKey: "k0") == ids[0] && store.succeededRun(cacheKey: "k1") == nil)
        let params = try store.database.query("SELECT name, value, type FROM param WHERE run_id = ? ORDER BY name", [.integer(ids[2])])
        #expect(params == [[.text("n"), .text("192"), .text("int")], [.text("threads"), .text("1"), .text("int")]])
        let metrics = try store.database.query("SELECT name, value, text FROM metric WHERE run_id = ? ORDER BY name", [.integer(ids[0])])
        #expect(metrics == [[.text("gflops"), .real(31.5), .null], [.text("note"), .null, .text("fine")]])
        let events = try store.database.query("SELECT COUNT(*) FROM event WHERE run_id = ?", [.integer(ids[0])])
        #expect(events.first?.first == .integer(2))
        let stored = try store.database.query("SELECT git_commit, libraries FROM invocation WHERE id = ?", [.integer(invocation)])
        #expect(stored.first?.first == .text("abc123"))
    }

    @Test func theSchemaRefusesAnUnknownStatusAndANewerFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("loom.db")
        let store = try ResultsStore(path: path)
        let experiment = try store.experiment(named: "x", description: "", file: "x.yaml")
        let invocation = try store.startInvocation(experiment: experiment, provenance: ResultsStoreTests.provenance)
        let ids = try store.addRuns(ResultsStoreTests.runs(1), task: "gemm", cacheKeys: ["k"], experiment: experiment, invocation: invocation)
        #expect(throws: StoreError.self) { try store.database.query("UPDATE run SET status = 'DONE' WHERE id = ?", [.integer(ids[0])]) }
        try store.database.execute("PRAGMA user_version = 99")
        #expect { _ = try ResultsStore(path: path) } throws: { "\($0)".contains("newer than this Loom knows") }
    }

    @Test func aFailedTransactionLeavesNothingBehind() throws {
        let directory = try TemporaryDirectory()
        let store = try ResultsStore(path: directory.path("loom.db"))
        let experiment = try store.experiment(named: "x", description: "", file: "x.yaml")
        #expect(throws: StoreError.self) {
            // The invocation does not exist: the foreign key fails on the first run, and no run is kept.
            _ = try store.addRuns(ResultsStoreTests.runs(5), task: "gemm", cacheKeys: ["a", "b", "c", "d", "e"],
                                  experiment: experiment, invocation: 999)
        }
        #expect(try store.statusCounts(experiment: experiment).isEmpty)
        #expect(try store.integrityCheck() == "ok")
    }
}

/// Artifacts are copied beside the store with their digest; a directory (a checkpoint) is
/// digested file by file, so its row says what it holds.
@Suite struct ArtifactDigestTests {
    @Test func aDirectoryArtifactIsDigestedByItsFiles() throws {
        let directory = try TemporaryDirectory()
        let store = try ResultsStore(path: directory.path("state/loom.db"))
        let experiment = try store.experiment(named: "x", description: "", file: "x.yaml")
        let invocation = try store.startInvocation(experiment: experiment, provenance: ResultsStoreTests.provenance)
        let runs = try store.addRuns(ResultsStoreTests.runs(3), task: "gemm", cacheKeys: ["a", "b", "c"],
                                     experiment: experiment, invocation: invocation)
        func tree(_ name: String, weights: String) throws -> String {
            let root = directory.url.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: root.appendingPathComponent("sub"), withIntermediateDirectories: true)
            try "{\"step\": 3}".write(to: root.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
            try weights.write(to: root.appendingPathComponent("sub/weights.bin"), atomically: true, encoding: .utf8)
            return root.path
        }
        let artifacts = directory.url.appendingPathComponent("artifacts")
        try store.collectArtifacts(runs[0], paths: [try tree("one", weights: "0123456789")], into: artifacts)
        try store.collectArtifacts(runs[1], paths: [try tree("two", weights: "0123456789")], into: artifacts)
        try store.collectArtifacts(runs[2], paths: [try tree("three", weights: "0123456780")], into: artifacts)
        let rows = try runs.map { try #require(try store.artifacts(run: $0).first) }
        #expect(rows.allSatisfy { $0.bytes == 11 + 10 }, "the files' sizes: \(rows)")
        #expect(rows[0].sha256 == rows[1].sha256, "equal trees, equal digests")
        #expect(rows[0].sha256 != rows[2].sha256, "one changed byte changes the digest")
        var empty = SHA256()
        #expect(rows[0].sha256 != empty.hexDigest(), "not the digest of nothing")
        #expect(FileManager.default.fileExists(atPath: rows[0].path + "/sub/weights.bin"), "the tree is copied")
    }

    @Test func aFileNotOnThisMachineIsAnEventThatNamesTheFix() throws {
        let directory = try TemporaryDirectory()
        let store = try ResultsStore(path: directory.path("state/loom.db"))
        let experiment = try store.experiment(named: "x", description: "", file: "x.yaml")
        let invocation = try store.startInvocation(experiment: experiment, provenance: ResultsStoreTests.provenance)
        let run = try store.addRuns(ResultsStoreTests.runs(1), task: "gemm", cacheKeys: ["a"], experiment: experiment, invocation: invocation)[0]
        let stored = try store.collectArtifacts(run, paths: [directory.path("elsewhere/ce.npy")], into: directory.url.appendingPathComponent("artifacts"))
        let recorded = try store.artifacts(run: run)
        #expect(stored.isEmpty && recorded.isEmpty, "nothing is recorded as stored")
        let events = try store.database.query("SELECT detail FROM event WHERE run_id = ? AND kind = 'artifact'", [.integer(run)])
        let detail = events.first.flatMap { if case let .text(text) = $0[0] { text } else { nil } } ?? ""
        #expect(events.count == 1 && detail.contains("elsewhere/ce.npy") && detail.contains("shared filesystem"), "\(events)")
    }
}
