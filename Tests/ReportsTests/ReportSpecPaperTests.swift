import Experiments
import Testing
@testable import Reports

/// The `report:` keys for paper figures: a list of metrics in `y`, and `size`.
@Suite struct ReportSpecPaperTests {
    func parse(_ figure: String) throws(ExperimentError) -> ReportSpec {
        let root = try YAMLReader.parse(Array("report:\n  - \(figure)\n".utf8), file: "x.yaml")
        return try ReportSpec.parse(root["report"], file: "x.yaml", parameters: ["n", "causal"])
    }

    @Test func severalMetricsAndASize() throws {
        let spec = try parse("{name: values, x: step, y: [L0.H0.value_drain, L0.H0.value_others], facet: causal, size: double}")
        #expect(spec.figures == [FigureSpec(name: "values", x: "step", y: "L0.H0.value_drain", facet: "causal",
                                            alsoY: ["L0.H0.value_others"], size: .double)])
        #expect(spec.figures[0].ys == ["L0.H0.value_drain", "L0.H0.value_others"])
        #expect(try parse("{name: one, x: n, y: [gflops], size: slide}").figures[0] == FigureSpec(name: "one", x: "n", y: "gflops", size: .slide))
    }

    @Test(arguments: [
        ("{name: f, x: n, y: gflops, size: poster}", "x.yaml:2:38: figure size 'poster' is not one of single, double, slide"),
        ("{name: f, x: n, y: []}", "'y' of figure 'f' takes a metric name or a list of 1 to 8 names"),
        ("{name: f, x: n, y: [a, b, a]}", "figure 'f' lists metric 'a' twice in 'y'"),
        ("{name: f, x: n, y: [a, {b: 1}]}", "each metric in the 'y' list of figure 'f' is a name; this is a mapping"),
        ("{name: f, x: n, y: [a, b, c, d, e, f, g, h, i]}", "a list of 1 to 8 names"),
        ("{name: f, x: n, y: [a, b], series: causal}", "figure 'f' draws several metrics, and each is already a series; drop 'series'"),
        ("{name: f, x: n}", "a report figure needs 'y'"),
    ])
    func badMetricListsAndSizesAreRefused(_ figure: String, _ expected: String) {
        let error = #expect(throws: ExperimentError.self) { try parse(figure) }
        #expect(error?.description.contains(expected) == true, "\(String(describing: error))")
    }
}
