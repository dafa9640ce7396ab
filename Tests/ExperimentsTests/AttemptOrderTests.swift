import Cluster
import Experiments
import Foundation
import ProcessTestSupport
import Runner
import Tasks
import Testing

/// A dispatcher whose coordinator moves on between any two of the runner's questions, as the
/// real one does on its own thread: after each call, the next task starts and finishes at once.
/// It publishes the start before the result, as `Coordinator` does.
private final class RacingDispatcher: RunDispatcher {
    /// Whether attempt events are given at all (a coordinator of an older Loom gives none).
    let tellsEvents: Bool
    init(tellsEvents: Bool = true) { self.tellsEvents = tellsEvents }
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
        events.append(AttemptEvent(taskID: id, attempt: 1, kind: .started(workers: ["w"])))
        results[id] = TaskResult(taskID: id, attempt: 1, succeeded: true, metrics: ["value": .string("\(id)")], artifacts: [],
                                 error: "", seconds: 2.5, worker: "w")
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
        let summary = try ExperimentRunner.run(experiment, runs: runs, kindVersion: 1, store: store, dispatcher: RacingDispatcher(tellsEvents: tellsEvents),
                                               provenance: provenance, force: false, progressInterval: .seconds(60),
                                               shouldStop: { false }, progress: { _ in })
        #expect(summary.succeeded == 4)
        for run in try store.runs(experiment: "echoes") {
            #expect(try store.attempts(run: run.id) == [ResultsStore.AttemptRecord(attempt: 1, workers: "w", status: "SUCCEEDED", error: nil)],
                    "run \(run.id)")
            // Without the start event, the start is the result's arrival less the 2.5 s it ran.
            let elapsed = (run.finishedAt ?? 0) - (run.startedAt ?? .infinity)
            #expect(tellsEvents ? elapsed >= 0 && elapsed < 2 : elapsed >= 2.5 && elapsed < 4.5, "run \(run.id): \(elapsed) s")
        }
    }
}
