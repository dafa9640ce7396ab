import Cluster
import Foundation
import ProcessTestSupport
import Testing
@testable import Experiments
import Tasks

/// What makes a stored result reusable: the run's identity (kind, kind version, parameters,
/// repetition) and the code that computed it.
@Suite struct CacheIdentityTests {
    static let codeA = CodeIdentity(hash: "aaaaaaaaaaaaaaaa", commit: "111111111111")
    static let codeB = CodeIdentity(hash: "bbbbbbbbbbbbbbbb", commit: "222222222222")

    static func provenance(_ code: CodeIdentity) -> ResultsStore.Provenance {
        ResultsStore.Provenance(command: "loom run x.yaml", gitCommit: nil, gitDirty: nil, loomVersion: "0.1.0",
                                loomBuild: "debug", host: "test", libraries: [:], code: code)
    }

    /// An experiment of the `sleep` kind, loaded from a real file.
    static var experiment: Experiment {
        get throws {
            let directory = try TemporaryDirectory()
            try "name: x\ntask: sleep\nparams: {seconds: 0}\n".write(toFile: directory.path("x.yaml"), atomically: true, encoding: .utf8)
            return try ExperimentLoader.load(directory.path("x.yaml"), registry: TaskRegistry.builtIn)
        }
    }

    /// Three repetitions of one parameter set, stored SUCCEEDED by `code`.
    static func storeSucceeded(_ store: ResultsStore, code: CodeIdentity, kindVersion: Int = 1) throws -> [ExperimentRun] {
        let runs = (0..<3).map { ExperimentRun(index: $0, repetition: $0, params: ["seconds": .double(0)]) }
        let experimentID = try store.experiment(named: "x", description: "", file: "x.yaml")
        let invocation = try store.startInvocation(experiment: experimentID, provenance: provenance(code))
        let keys = runs.map { RunPlan.cacheKey(task: "sleep", kindVersion: kindVersion, params: $0.params, repetition: $0.repetition) }
        for id in try store.addRuns(runs, task: "sleep", cacheKeys: keys, experiment: experimentID, invocation: invocation) {
            try store.setStatus(id, .succeeded, attempt: 1)
        }
        return runs
    }

    @Test func everyRepetitionIsItsOwnRunEvenWithoutASeed() {
        let params: [String: ParameterValue] = ["seconds": .double(1)]
        let keys = (0..<20).map { RunPlan.cacheKey(task: "sleep", kindVersion: 1, params: params, repetition: $0) }
        #expect(Set(keys).count == 20, "one key per repetition")
        #expect(RunPlan.cacheKey(task: "sleep", kindVersion: 2, params: params, repetition: 0) != keys[0],
                "a new kind version is a new identity")
    }

    @Test func onlyTheRepetitionsStoredAreCached() throws {
        let directory = try TemporaryDirectory()
        let store = try ResultsStore(path: directory.path("loom.db"))
        let stored = try CacheIdentityTests.storeSucceeded(store, code: CacheIdentityTests.codeA)
        let more = stored + (3..<5).map { ExperimentRun(index: $0, repetition: $0, params: ["seconds": .double(0)]) }
        let plan = try RunPlan(try CacheIdentityTests.experiment, runs: more, kindVersion: 1, code: CacheIdentityTests.codeA,
                               store: store, force: false, rerunFailed: false)
        #expect(plan.cached == 3 && plan.toRun == 2, "\(plan.entries.map(\.decision.reason))")
    }

    @Test func resultsOfOtherCodeRunAgainUnlessAccepted() throws {
        let directory = try TemporaryDirectory()
        let store = try ResultsStore(path: directory.path("loom.db"))
        let runs = try CacheIdentityTests.storeSucceeded(store, code: CacheIdentityTests.codeA)
        let strict = try RunPlan(try CacheIdentityTests.experiment, runs: runs, kindVersion: 1, code: CacheIdentityTests.codeB,
                                 store: store, force: false, rerunFailed: false)
        #expect(strict.toRun == 3 && strict.cached == 0)
        let reason = strict.entries[0].decision.reason
        #expect(reason.contains("commit 111111111111 (now 222222222222)") && reason.contains("--accept-code-change"), "\(reason)")
        let accepting = try RunPlan(try CacheIdentityTests.experiment, runs: runs, kindVersion: 1, code: CacheIdentityTests.codeB,
                                    store: store, force: false, rerunFailed: false, acceptCodeChange: true)
        #expect(accepting.cached == 3)
        let accepted = accepting.entries[0].decision.reason
        #expect(accepted.hasPrefix("cached from commit 111111111111 (now 222222222222)"), "\(accepted)")
    }

    @Test func aNewCommitWithTheSameSourcesKeepsTheCacheAndSaysSo() throws {
        let directory = try TemporaryDirectory()
        let store = try ResultsStore(path: directory.path("loom.db"))
        let runs = try CacheIdentityTests.storeSucceeded(store, code: CacheIdentityTests.codeA)
        let docsOnly = CodeIdentity(hash: CacheIdentityTests.codeA.hash, commit: "333333333333")
        let plan = try RunPlan(try CacheIdentityTests.experiment, runs: runs, kindVersion: 1, code: docsOnly,
                               store: store, force: false, rerunFailed: false)
        #expect(plan.cached == 3)
        #expect(plan.entries[0].decision.reason.contains("commit 111111111111 (now 333333333333), the same sources"),
                "\(plan.entries[0].decision.reason)")
    }

    @Test func aNewKindVersionIsNeverReusedEvenWhenAccepted() throws {
        let directory = try TemporaryDirectory()
        let store = try ResultsStore(path: directory.path("loom.db"))
        let runs = try CacheIdentityTests.storeSucceeded(store, code: CacheIdentityTests.codeA, kindVersion: 1)
        let plan = try RunPlan(try CacheIdentityTests.experiment, runs: runs, kindVersion: 2, code: CacheIdentityTests.codeA,
                               store: store, force: false, rerunFailed: false, acceptCodeChange: true)
        #expect(plan.toRun == 3 && plan.entries.allSatisfy { $0.decision.reason.hasPrefix("new:") })
    }

    @Test func anUnknownCodeNeverMatches() {
        #expect(!CodeIdentity.unknown.matches(.unknown))
        #expect(CacheIdentityTests.codeA.matches(CodeIdentity(hash: CacheIdentityTests.codeA.hash, commit: "x")))
    }

    @Test func aCachedRowReportsTheRunThePlanChose() throws {
        let directory = try TemporaryDirectory()
        let store = try ResultsStore(path: directory.path("loom.db"))
        let runs = try CacheIdentityTests.storeSucceeded(store, code: CacheIdentityTests.codeA)
        let experimentID = try store.experiment(named: "x", description: "", file: "x.yaml")
        // A later success by other code, which the plan must not pick for code A.
        let other = try store.startInvocation(experiment: experimentID, provenance: CacheIdentityTests.provenance(CacheIdentityTests.codeB))
        let key = RunPlan.cacheKey(task: "sleep", kindVersion: 1, params: runs[0].params, repetition: 0)
        let otherID = try store.addRuns([runs[0]], task: "sleep", cacheKeys: [key], experiment: experimentID, invocation: other)[0]
        try store.setStatus(otherID, .succeeded, attempt: 1)
        try store.addMetrics(otherID, ["slept_s": .double(99)])
        let plan = try RunPlan(try CacheIdentityTests.experiment, runs: [runs[0]], kindVersion: 1, code: CacheIdentityTests.codeA,
                               store: store, force: false, rerunFailed: false)
        guard case let .cached(from, _) = plan.entries[0].decision else { Issue.record("not cached"); return }
        #expect(from != otherID)
        let invocation = try store.startInvocation(experiment: experimentID, provenance: CacheIdentityTests.provenance(CacheIdentityTests.codeA))
        let row = try store.addRuns([runs[0]], task: "sleep", cacheKeys: [key], experiment: experimentID, invocation: invocation)[0]
        try store.setStatus(row, .cached, cachedFrom: from)
        let reported = try store.reportRuns(invocation: invocation)
        #expect(reported.first?.metricsSource == from, "the row shows the run the plan chose, not the newest success")
    }
}

/// Several processes (here: connections on several threads, which SQLite locks the same way)
/// opening one store at once.
@Suite struct StoreConcurrencyTests {
    @Test func twoFirstOpensOfANewStoreBothSucceed() throws {
        for round in 0..<20 {
            let directory = try TemporaryDirectory()
            let path = directory.path("state/loom.db")
            let failures = ConcurrentFailures()
            DispatchQueue.concurrentPerform(iterations: 2) { _ in
                do { _ = try ResultsStore(path: path) } catch { failures.add("\(error)") }
            }
            #expect(failures.all.isEmpty, "round \(round): \(failures.all)")
            #expect(try ResultsStore(path: path).schemaVersion == ResultsStore.migrations.count)
        }
    }

    @Test func aSecondLockOnOneExperimentIsRefusedAndAnotherExperimentsIsNot() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("loom.db")
        let first = try InvocationLock.acquire(experiment: "sweep", storePath: path)
        #expect(first != nil)
        #expect(try InvocationLock.acquire(experiment: "sweep", storePath: path) == nil, "flock is per open file, so this refuses")
        #expect(try InvocationLock.acquire(experiment: "other", storePath: path) != nil)
        withExtendedLifetime(first) {}
    }

    @Test func readersOpenReadOnlyAndWritesAreRefused() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("loom.db")
        _ = try CacheIdentityTests.storeSucceeded(try ResultsStore(path: path), code: CacheIdentityTests.codeA)
        let reader = try ResultsStore(readingAt: path)
        #expect(reader.isReadOnly)
        #expect(try reader.runs().count == 3)
        #expect(throws: StoreError.self) { try reader.experiment(named: "y", description: "", file: "y.yaml") }
    }

    @Test func storeErrorsSayWhatToDo() {
        let full = StoreError(path: "s/loom.db", step: "COMMIT", code: 13, message: "database or disk is full")
        #expect(full.description.contains("free space") && full.isOutOfSpace)
        let corrupt = StoreError(path: "s/loom.db", step: "open", code: 11, message: "malformed")
        #expect(corrupt.description.contains("PRAGMA integrity_check") && corrupt.description.contains("backup"))
        let readOnly = StoreError(path: "s/loom.db", step: "INSERT", code: 8 | (1 << 8), message: "attempt to write a readonly database")
        #expect(readOnly.description.contains("permissions") && readOnly.description.contains("--state"))
    }
}

/// Error strings gathered from several threads.
final class ConcurrentFailures: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ failure: String) { lock.lock(); list.append(failure); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return list }
}
