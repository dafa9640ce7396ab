import Cluster
import Experiments
import Foundation
import ProcessTestSupport
@testable import Runner
import Tasks
import Testing

/// A dispatcher whose coordinator moves on between any two of the runner's questions, as the
/// real one does on its own thread: after each call, the next task starts and finishes at once.
/// It publishes the start before the result, as `Coordinator` does.
private final class RacingDispatcher: RunDispatcher {
    /// Whether attempt events are given at all (a coordinator of an older Loom gives none).
    let tellsEvents: Bool
    /// The run time each result reports (a worker's word, not checked by the coordinator).
    let seconds: Double
    /// When each task's start was queued, by task id.
    private(set) var startQueued: [UInt64: Double] = [:]
    init(tellsEvents: Bool, seconds: Double) { self.tellsEvents = tellsEvents; self.seconds = seconds }
    private var queued: [UInt64] = [], next: UInt64 = 1
    private var events: [AttemptEvent] = [], results: [UInt64: TaskResult] = [:]

    func submitRun(kind: String, params: [String: ParameterValue], gang: Int, maxAttempts: Int, timeout: Duration?) throws -> UInt64 {
        defer { next += 1 }
        queued.append(next)
        return next
    }
    func results(for ids: [UInt64]) throws -> [TaskResult] {
        defer { step() }
        return ids.compactMap { results[$0] }
    }
    func takeAttemptEvents() -> [AttemptEvent] {
        defer { events = []; step() }
        return tellsEvents ? events : []
    }
    var pollInterval: Duration { .milliseconds(1) }
    func workerSightings() -> [ResultsStore.WorkerSighting] { [] }

    private func step() {
        guard !queued.isEmpty else { return }
        let id = queued.removeFirst()
        startQueued[id] = ResultsStore.now
        events.append(AttemptEvent(taskID: id, attempt: 1, kind: .started(workers: ["w"])))
        results[id] = TaskResult(taskID: id, attempt: 1, succeeded: true, metrics: ["value": .string("\(id)")], artifacts: [],
                                 error: "", seconds: seconds, worker: "w")
    }
}

/// A result that arrives between the runner's two questions, or from a dispatcher that gives no
/// attempt events, still has its attempt stored: `loom show` lists it with the run's elapsed
/// time and machine.
@Suite struct AttemptOrderTests {
    @Test(arguments: [true, false]) func everyResultKeepsItsAttemptWhateverTheTiming(tellsEvents: Bool) throws {
        let directory = try TemporaryDirectory()
        try "name: echoes\ntask: echo\nparams: {value: [a, b, c, d]}\n".write(toFile: directory.path("x.yaml"), atomically: true, encoding: .utf8)
        let registry = TaskRegistry.builtIn
        let experiment = try ExperimentLoader.load(directory.path("x.yaml"), registry: registry)
        let runs = try experiment.expand(registry: registry)
        let store = try ResultsStore(path: directory.path("state/loom.db"))
        let provenance = ResultsStore.Provenance(command: "test", gitCommit: nil, gitDirty: nil, loomVersion: "0", loomBuild: "test",
                                                 host: "test", libraries: [:])
        // Each result claims 1000 s, longer than this invocation has existed.
        let dispatcher = RacingDispatcher(tellsEvents: tellsEvents, seconds: 1000)
        let before = ResultsStore.now
        let summary = try ExperimentRunner.run(experiment, runs: runs, kindVersion: 1, store: store, dispatcher: dispatcher,
                                               provenance: provenance, force: false, progressInterval: .seconds(60),
                                               shouldStop: { false }, progress: { _ in })
        #expect(summary.succeeded == 4)
        for (index, run) in try store.runs(experiment: "echoes").enumerated() {
            #expect(try store.attempts(run: run.id) == [ResultsStore.AttemptRecord(attempt: 1, workers: "w", status: "SUCCEEDED", error: nil)],
                    "run \(run.id)")
            let started = try #require(run.startedAt), finished = try #require(run.finishedAt)
            let queued = try #require(dispatcher.startQueued[UInt64(index + 1)])
            if tellsEvents {
                // The start event itself, taken after it was queued (never the result's guess).
                #expect(started >= queued && finished >= started, "run \(run.id)")
            } else {
                // From the result: 1000 s before its arrival is before the invocation began.
                #expect(started >= before && started <= queued && finished >= started, "run \(run.id)")
            }
        }
    }

    @Test func aResultsRunTimeCannotPlaceItsStartBeforeTheInvocationOrNowhere() {
        let began = ResultsStore.now - 60
        #expect(abs(ExperimentRunner.startOfAttempt(ranFor: 2.5, invocationStarted: began) - (ResultsStore.now - 2.5)) < 1)
        #expect(ExperimentRunner.startOfAttempt(ranFor: 1e300, invocationStarted: began) == began)
        for hostile in [Double.infinity, -.infinity, .nan, -5] {
            let start = ExperimentRunner.startOfAttempt(ranFor: hostile, invocationStarted: began)
            #expect(start.isFinite && start >= began && start <= ResultsStore.now, "\(hostile)")
        }
    }
}
