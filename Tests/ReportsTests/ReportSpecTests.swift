import Experiments
import Testing
@testable import Reports

/// The `report:` section of an experiment file.
@Suite struct ReportSpecTests {
    static let parameters: Set<String> = ["n", "threads", "causal"]

    func parse(_ yaml: String) throws(ExperimentError) -> ReportSpec {
        let root = try YAMLReader.parse(Array(yaml.utf8), file: "x.yaml")
        return try ReportSpec.parse(root["report"], file: "x.yaml", parameters: ReportSpecTests.parameters)
    }

    @Test func aGoodFileGivesEveryKey() throws {
        let spec = try parse("""
            report:
              - name: gflops-vs-n
                kind: line
                x: n
                y: gflops
                series: threads
                facet: causal
                logx: true
                logy: false
                title: sgemm throughput
                xlabel: matrix size
                ylabel: GFLOP/s
              - {name: spread_2, kind: scatter, x: threads, y: seconds}
            """)
        #expect(spec.figures == [
            FigureSpec(name: "gflops-vs-n", kind: .line, x: "n", y: "gflops", series: "threads", facet: "causal", logX: true,
                       logY: false, title: "sgemm throughput", xLabel: "matrix size", yLabel: "GFLOP/s"),
            FigureSpec(name: "spread_2", kind: .scatter, x: "threads", y: "seconds"),
        ])
    }

    @Test(arguments: ["name: x", "report: []", "report:"])
    func noReportOrAnEmptyListIsNoFigures(_ yaml: String) throws {
        #expect(try parse(yaml).figures.isEmpty)
    }

    @Test func anUnknownKeyIsNamedAtItsLineWithTheNearestKey() {
        let error = #expect(throws: ExperimentError.self) {
            try parse("report:\n  - name: speed\n    x: n\n    y: gflops\n    seris: threads\n")
        }
        #expect(error?.line == 5 && error?.column == 5, "\(String(describing: error))")
        #expect(error?.description.contains("unknown key 'seris'") == true && error?.description.contains("did you mean 'series'?") == true,
                "\(String(describing: error))")
    }

    @Test func aBadKindIsRefusedWithTheChoices() {
        let error = #expect(throws: ExperimentError.self) { try parse("report:\n  - {name: a, x: n, y: g, kind: lines}\n") }
        #expect(error?.description.contains("x.yaml:2:") == true, "\(String(describing: error))")
        #expect(error?.description.contains("one of line, scatter, winner; did you mean 'line'?") == true, "\(String(describing: error))")
    }

    @Test func aSeriesThatIsNotAParameterIsRefused() {
        let error = #expect(throws: ExperimentError.self) {
            try parse("report:\n  - name: a\n    x: n\n    y: gflops\n    series: thread\n")
        }
        #expect(error?.line == 5 && error?.column == 13, "\(String(describing: error))")
        #expect(error?.description.contains("series 'thread' of figure 'a' is not a parameter") == true
                && error?.description.contains("did you mean 'threads'?") == true, "\(String(describing: error))")
    }

    @Test(arguments: [
        ("report: {name: a}", "is a list of figures"),
        ("report:\n  - {x: n, y: g}", "needs 'name'"),
        ("report:\n  - {name: a, y: g}", "needs 'x'"),
        ("report:\n  - {name: 'a b', x: n, y: g}", "must be letters, digits"),
        ("report:\n  - {name: a, x: n, y: g, logx: yes}", "takes true or false"),
        ("report:\n  - {name: a, x: n, y: g}\n  - {name: a, x: n, y: h}", "two figures are named 'a'"),
        ("report:\n  - {name: a, x: n, y: g, facet: causl}", "did you mean 'causal'?"),
    ])
    func malformedFiguresAreRefused(_ yaml: String, _ expected: String) {
        let error = #expect(throws: ExperimentError.self) { try parse(yaml) }
        #expect(error?.description.contains(expected) == true, "\(String(describing: error))")
    }
}
