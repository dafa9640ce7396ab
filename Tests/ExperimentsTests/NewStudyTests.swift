import Cluster
import Foundation
import ProcessTestSupport
import Synchronization
import Tasks
import Testing
@testable import Experiments
import Runner

// A whole new study, as a study module would hold it: a parameters type, one kind, one metric.

struct ScaleParameters: TaskParameters {
    static let declaration = [ParameterSpec("x", .double, "the number to scale"),
                              ParameterSpec("factor", .int, default: .int(2), "the factor", minimum: 1)]
    let x: Double, factor: Int
    init(_ values: ResolvedParameters) { x = values.double("x"); factor = values.int("factor") }
}

let scaleKind = TaskKind(name: "study.scale", summary: "multiplies x by a factor", parameters: ScaleParameters.self,
                         metrics: [MetricSpec("scaled", "x times the factor")]) { _, parameters in
    TaskOutcome(metrics: ["scaled": .double(parameters.x * Double(parameters.factor))])
}

/// A study plugs in with its file and one registration line: experiment files, checks,
/// scheduling and the store need nothing else.
@Suite struct NewStudyTests {
    static var registry: TaskRegistry {
        var registry = TaskRegistry.builtIn
        registry.register(scaleKind)                    // the one line a new study adds
        return registry
    }

    @Test func aTypedKindRunsFromAFileIntoTheStore() throws {
        let directory = try TemporaryDirectory()
        try "name: scale\ntask: study.scale\nparams: {x: [1.5, 2], factor: 3}\n"
            .write(toFile: directory.path("x.yaml"), atomically: true, encoding: .utf8)
        let registry = NewStudyTests.registry
        let experiment = try ExperimentLoader.load(directory.path("x.yaml"), registry: registry)
        let runs = try experiment.expand(registry: registry)
        #expect(runs.map { $0.params["factor"] } == [.int(3), .int(3)])

        // A real coordinator and a worker agent on a real socket, in this process (a `loom
        // worker` process knows only the kinds built into `loom`).
        let coordinator = try Coordinator(CoordinatorConfiguration(bind: "tcp://127.0.0.1:*", registry: registry))
        defer { coordinator.stop() }
        let configuration = WorkerConfiguration(connect: coordinator.endpoint, name: "study", registry: registry, version: "test")
        let stop = WorkerStop()
        let finished = DispatchSemaphore(value: 0)
        Thread {
            // The agent is made, run and closed on this thread (it is not Sendable).
            if let agent = try? WorkerAgent(configuration) { _ = agent.run(shouldDrain: { false }, shouldStop: { stop.requested }) }
            finished.signal()
        }.start()
        defer { stop.request(); finished.wait() }

        let store = try ResultsStore(path: directory.path("state/loom.db"))
        let provenance = ResultsStore.Provenance(command: "test", gitCommit: nil, gitDirty: nil, loomVersion: "0", loomBuild: "test",
                                                 host: "test", libraries: [:])
        let summary = try ExperimentRunner.run(experiment, runs: runs, kindVersion: scaleKind.version, store: store,
                                               dispatcher: coordinator, provenance: provenance, force: false,
                                               progressInterval: .seconds(60), shouldStop: { false }, progress: { _ in })
        #expect(summary.succeeded == 2)
        let scaled = try store.runs(experiment: "scale").map { try store.finalMetrics(run: $0.id)["scaled"] }
        #expect(scaled == [.double(4.5), .double(6)])
    }

    @Test func itsDeclarationChecksTheFileWhereTheValueIsWritten() throws {
        let directory = try TemporaryDirectory()
        try "name: scale\ntask: study.scale\nparams:\n  x: 1\n  factor: 0\n"
            .write(toFile: directory.path("x.yaml"), atomically: true, encoding: .utf8)
        let registry = NewStudyTests.registry
        #expect {
            try ExperimentLoader.load(directory.path("x.yaml"), registry: registry).expand(registry: registry)
        } throws: { error in
            "\(error)".contains("x.yaml:5:11") && "\(error)".contains("parameter 'factor' must be at least 1")
        }
    }

    @Test func theKindCarriesItsDeclarations() {
        let values = ResolvedParameters(["x": .double(1.5), "factor": .int(3)])
        #expect(ScaleParameters(values).factor == 3)
        #expect(scaleKind.metrics.map(\.name) == ["scaled"])
        #expect(scaleKind.parameters.map(\.name) == ["x", "factor"])
    }
}

/// A flag the worker's thread polls.
final class WorkerStop: Sendable {
    private let flag = Atomic<Bool>(false)
    var requested: Bool { flag.load(ordering: .acquiring) }
    func request() { flag.store(true, ordering: .releasing) }
}
