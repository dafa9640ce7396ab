@testable import Experiments
import Foundation
import ProcessTestSupport
import Testing
@testable import Reports
import Tasks

/// A figure naming a metric or parameter the runs do not have is an error with the nearest name,
/// not an empty figure; a metric that exists but has no usable run is still "no data".
@Suite struct FigureNameTests {
    static func problems(_ figure: FigureSpec, fixture: ReportFixture) throws -> [String] {
        let out = fixture.directory.url.appendingPathComponent("out-\(figure.name)")
        let error = #expect(throws: ReportError.self) {
            try Report.render(experiment: "sgemm", spec: ReportSpec(figures: [figure]), store: fixture.store, to: out)
        }
        guard case let .unknownNames(index, problems)? = error else {
            Issue.record("expected unknownNames, got \(String(describing: error))")
            return []
        }
        let html = try String(contentsOfFile: index, encoding: .utf8)
        #expect(html.contains("Not drawn: report figure 1 &#39;\(figure.name)&#39;"), "the index says why")
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("\(figure.name).gp").path))
        return problems
    }

    @Test func aMisspeltYNamesTheNearestMetricAndTheKnownNames() throws {
        let fixture = try ReportFixture()
        let problems = try FigureNameTests.problems(FigureSpec(name: "speed", x: "n", y: "gflop"), fixture: fixture)
        #expect(problems == ["report figure 1 'speed': y: 'gflop' is neither a metric nor a parameter of experiment sgemm; "
                             + "did you mean 'gflops'? (metrics: gflops, note, seconds; parameters: causal, n, threads)"])
    }

    @Test(arguments: [
        (FigureSpec(name: "f", x: "nn", y: "gflops"), "x: 'nn' is neither a metric nor a parameter of experiment sgemm; did you mean 'n'?"),
        (FigureSpec(name: "f", x: "n", y: "gflops", series: "thread"),
         "series: 'thread' is not a parameter of experiment sgemm; did you mean 'threads'? (parameters: causal, n, threads)"),
        (FigureSpec(name: "f", x: "n", y: "gflops", facet: "seconds"), "facet: 'seconds' is not a parameter of experiment sgemm"),
    ])
    func otherMisspeltNames(figure: FigureSpec, expected: String) throws {
        let problems = try FigureNameTests.problems(figure, fixture: try ReportFixture())
        #expect(problems.count == 1 && problems[0].contains(expected), "\(problems)")
    }

    @Test func noNameIsJudgedBeforeARunHasReportedMetrics() throws {
        let out = try TemporaryDirectory()
        let runs = [ReportData.Run(id: 1, index: 0, repetition: 0, status: .failed, params: ["n": .int(1)], metrics: [:], metricsSource: nil),
                    ReportData.Run(id: 2, index: 1, repetition: 0, status: .running, params: ["n": .int(2)], metrics: [:],
                                   metricsSource: nil, curves: ["loss": [StepPoint(step: 0, value: 1)]])]
        let data = ReportData(experiment: "e", description: "", file: "e.yaml", invocation: 1, runs: runs, provenance: [])
        // Every run failed or is still going: a final metric may yet come, so these have no data.
        let spec = ReportSpec(figures: [FigureSpec(name: "a", x: "n", y: "gflops"), FigureSpec(name: "b", x: "n", y: "accuracy")])
        let output = try Report.render(data, spec: spec, to: out.url)
        #expect(output.figures.map(\.state) == [.noData, .noData])
    }

    @Test func aMetricOnlyEarlierInvocationsReportedIsKnown() throws {
        let directory = try TemporaryDirectory()
        let store = try ResultsStore(path: directory.path("loom.db"))
        let experiment = try store.experiment(named: "e", description: "", file: directory.path("e.yaml"))
        func invocation(_ runs: [(ResultsStore.Status, [String: ParameterValue])], key: String) throws {
            let id = try store.startInvocation(experiment: experiment, provenance: ReportFixture.provenance)
            let ids = try store.addRuns(runs.indices.map { ExperimentRun(index: $0, repetition: 0, params: ["n": .int($0)]) }, task: "t",
                                        cacheKeys: runs.indices.map { "\(key)-\($0)" }, experiment: experiment, invocation: id)
            for (run, (status, metrics)) in zip(ids, runs) {
                try store.setStatus(run, status)
                if !metrics.isEmpty { try store.addMetrics(run, metrics) }
            }
            try store.finishInvocation(id)
        }
        try invocation([(.succeeded, ["loss": .double(1)])], key: "a")
        // The latest invocation: the runs that would report loss failed; another reported only time.
        try invocation([(.failed, [:]), (.succeeded, ["seconds": .double(2)])], key: "b")
        let out = directory.url.appendingPathComponent("out")
        let output = try Report.render(experiment: "e", spec: ReportSpec(figures: [FigureSpec(name: "loss", x: "n", y: "loss")]),
                                       store: store, to: out)
        #expect(output.figures.map(\.state) == [.noData])
        let error = #expect(throws: ReportError.self) {
            try Report.render(experiment: "e", spec: ReportSpec(figures: [FigureSpec(name: "loss", x: "n", y: "los")]), store: store, to: out)
        }
        #expect(error?.description.contains("did you mean 'loss'? (metrics: loss, seconds; parameters: n)") == true, "\(String(describing: error))")
    }
}
