import Experiments
import Testing
@testable import Reports

/// The `winner` figure kind in `report:` (ReportSpec+Winner.swift).
@Suite struct ReportSpecWinnerTests {
    static let parameters: Set<String> = ["tokens", "workers", "algorithm", "link_gbps"]

    func parse(_ yaml: String) throws(ExperimentError) -> ReportSpec {
        let root = try YAMLReader.parse(Array(yaml.utf8), file: "x.yaml")
        return try ReportSpec.parse(root["report"], file: "x.yaml", parameters: ReportSpecWinnerTests.parameters)
    }

    @Test func aWinnerFigureGivesItsObjective() throws {
        let spec = try parse("""
            report:
              - name: crossover
                kind: winner
                title: fastest schedule (forward + backward)
                x: tokens
                y: workers
                series: algorithm
                minimize: sim.predicted_s
                facet: link_gbps
                xlabel: sequence length N
                size: double
              - {name: best, kind: winner, x: workers, y: tokens, series: algorithm, maximize: gflops, logx: false}
            """)
        #expect(spec.figures == [
            FigureSpec(name: "crossover", kind: .winner, x: "tokens", y: "workers", series: "algorithm", facet: "link_gbps",
                       title: "fastest schedule (forward + backward)", xLabel: "sequence length N", size: .double,
                       objective: .init(.minimize, "sim.predicted_s")),
            FigureSpec(name: "best", kind: .winner, x: "workers", y: "tokens", series: "algorithm", objective: .init(.maximize, "gflops")),
        ])
    }

    /// A figure, the line and column of the error, and what it says.
    static let malformed: [(String, Int, Int, String)] = [
        ("{name: c, x: tokens, y: s, minimize: s}", 2, 42, "'minimize' is for winner figures (kind: winner); figure 'c' is a line figure"),
        ("{name: c, kind: scatter, x: tokens, y: s, maximize: g}", 2, 57, "'maximize' is for winner figures"),
        ("{name: c, kind: winner, x: tokens, y: workers, series: algorithm}", 2, 5, "winner figure 'c' needs the metric it compares: 'minimize'"),
        ("{name: c, kind: winner, x: tokens, y: workers, series: algorithm, minimize: s, maximize: g}", 2, 94, "has both 'minimize' and 'maximize'"),
        ("{name: c, kind: winner, x: tokens, y: workers, series: algorithm, minimize: [s]}", 2, 81, "'minimize' of figure 'c' takes a metric name"),
        ("{name: c, kind: winner, x: tokens, y: workers, minimize: s}", 2, 5, "winner figure 'c' needs 'series': the parameter whose values compete"),
        ("{name: c, kind: winner, x: tokens, y: sim.predicted_s, series: algorithm, minimize: s}", 2, 43,
         "y 'sim.predicted_s' of winner figure 'c' is not a parameter of this experiment"),
        ("{name: c, kind: winner, x: token, y: workers, series: algorithm, minimize: s}", 2, 32, "x 'token' of winner figure 'c' is not a parameter of this experiment; did you mean 'tokens'?"),
        ("{name: c, kind: winner, x: tokens, y: tokens, series: algorithm, minimize: s}", 2, 43, "uses 'tokens' for both x and y"),
        ("{name: c, kind: winner, x: tokens, y: workers, series: algorithm, facet: workers, minimize: s}", 2, 78, "uses 'workers' for both y and facet"),
        ("{name: c, kind: winner, x: tokens, y: workers, series: algorithm, minimize: s, logx: true}", 2, 90, "so 'logx' has no scale to change"),
        ("{name: c, kind: winner, x: tokens, y: workers, series: algorithm, minimize: s, logy: true}", 2, 90, "so 'logy' has no scale to change"),
        ("{name: c, kind: winner, x: tokens, y: workers, series: algorithm, minimize: s, reference: {label: p, points: [[1, 2]]}}", 2, 95,
         "'reference' is for line and scatter figures"),
        ("{name: c, kind: winner, x: tokens, y: workers, series: algorithm, minimise: s}", 2, 71, "unknown key 'minimise' in a report figure; did you mean 'minimize'?"),
    ]

    @Test(arguments: malformed)
    func malformedWinnerFiguresAreRefusedAtTheirNode(_ figure: String, _ line: Int, _ column: Int, _ expected: String) {
        let error = #expect(throws: ExperimentError.self) { try parse("report:\n  - " + figure + "\n") }
        #expect(error?.description.contains(expected) == true, "\(String(describing: error))")
        #expect(error?.line == line && error?.column == column, "\(String(describing: error))")
        #expect(error?.description.hasPrefix("x.yaml:\(line):\(column):") == true, "\(String(describing: error))")
    }
}
