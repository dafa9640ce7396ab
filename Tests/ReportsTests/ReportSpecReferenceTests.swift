import Experiments
import Testing
@testable import Reports

/// A figure's `reference:` (published points) in the `report:` section.
@Suite struct ReportSpecReferenceTests {
    func parse(_ yaml: String) throws(ExperimentError) -> ReportSpec {
        let root = try YAMLReader.parse(Array(yaml.utf8), file: "x.yaml")
        return try ReportSpec.parse(root["report"], file: "x.yaml", parameters: ["n"])
    }

    /// A figure `a` whose reference is `reference` (written from column 5 of line 5).
    static func figure(_ reference: String) -> String { "report:\n  - name: a\n    x: n\n    y: g\n    reference:" + reference + "\n" }

    @Test func aGoodReferenceKeepsItsLabelAndPointsInOrder() throws {
        let spec = try parse(ReportSpecReferenceTests.figure("""

                  label: Guo et al. 2024, d = 256
                  points: [[1000, 0.78], [10000, 0.81], [1e3, -2], [5, 7]]
            """))
        #expect(spec.figures.first?.reference == FigureReference(label: "Guo et al. 2024, d = 256", points: [
            .init(x: 1000, y: 0.78), .init(x: 10000, y: 0.81), .init(x: 1000, y: -2), .init(x: 5, y: 7),
        ]))
        #expect(try parse("report:\n  - {name: a, x: n, y: g}\n").figures.first?.reference == nil)
    }

    @Test(arguments: [
        (" [[1, 2]]", 5, 16, "'reference' of figure 'a' is a mapping such as {label:"),
        ("\n      lable: Guo\n      points: [[1, 2]]", 6, 7, "unknown key 'lable' in the reference of figure 'a'; did you mean 'label'?"),
        (" {points: [[1, 2]]}", 5, 16, "the reference of figure 'a' needs 'label'"),
        ("\n      label: ''\n      points: [[1, 2]]", 6, 14, "reference key 'label' of figure 'a' takes a non-empty scalar"),
        ("\n      label: [Guo]\n      points: [[1, 2]]", 6, 14, "takes a non-empty scalar (it names the points in the key); this is a list"),
        (" {label: Guo}", 5, 16, "the reference of figure 'a' needs 'points'"),
        (" {label: Guo, points: []}", 5, 37, "'points' of figure 'a' takes a non-empty list of [x, y] pairs"),
        (" {label: Guo, points: 3}", 5, 37, "takes a non-empty list of [x, y] pairs such as [[1000, 0.78], [10000, 0.81]]; this is a scalar"),
        ("\n      label: Guo\n      points: [[1, 2], [3]]", 7, 24, "is a list [x, y] of two numbers, such as [1000, 0.78]; this is a list of 1"),
        ("\n      label: Guo\n      points: [[1, 2, 3]]", 7, 16, "this is a list of 3"),
        ("\n      label: Guo\n      points: [[1, big]]", 7, 16, "this is [1, big]"),
        ("\n      label: Guo\n      points: [['1', 2]]", 7, 16, "this is ['1', 2]"),
        ("\n      label: Guo\n      points: [[1, .nan]]", 7, 16, "this is [1, .nan]"),
        ("\n      label: Guo\n      points: [5]", 7, 16, "this is a scalar"),
    ])
    func malformedReferencesNameTheirLineAndColumn(_ reference: String, _ line: Int, _ column: Int, _ expected: String) {
        let error = #expect(throws: ExperimentError.self) { try parse(ReportSpecReferenceTests.figure(reference)) }
        #expect(error?.line == line && error?.column == column, "\(String(describing: error))")
        #expect(error?.description.contains(expected) == true, "\(String(describing: error))")
    }

    @Test func anUnknownFigureKeyNowSuggestsReference() {
        let error = #expect(throws: ExperimentError.self) { try parse("report:\n  - {name: a, x: n, y: g, refrence: {}}\n") }
        #expect(error?.description.contains("did you mean 'reference'?") == true, "\(String(describing: error))")
    }
}
