import Testing
@testable import Reports

/// Loom's value at the x nearest each published point, against numbers worked out by hand.
@Suite struct ReferenceComparisonTests {
    /// Runs of `algorithm` with gflops `values` at each n (several values are repeats).
    static func runs(_ algorithm: String, _ values: [Int: [Double]]) -> [ReportData.Run] {
        values.sorted { $0.key < $1.key }.flatMap { n, ys in
            ys.map { y in
                ReportData.Run(id: 0, index: 0, repetition: 0, status: .succeeded, params: ["n": .int(n), "algorithm": .string(algorithm)],
                               metrics: ["gflops": .double(y)], metricsSource: nil)
            }
        }
    }

    static let oneLine = FigureData(figure: FigureSpec(name: "f", x: "n", y: "gflops"),
                                    runs: runs("ring", [64: [2, 8, 4], 128: [1, 5, 4], 256: [9]]))

    static func compare(_ xs: [Double], in data: FigureData) -> ReferenceComparison {
        ReferenceComparison(reference: FigureReference(label: "paper", points: xs.map { .init(x: $0, y: 0.5) }), data: data)
    }

    @Test func anExactXTakesTheMedianOverRepeatsThere() {
        let comparison = ReferenceComparisonTests.compare([128, 64], in: ReferenceComparisonTests.oneLine)
        #expect(comparison.lines == [nil])
        #expect(comparison.rows.map(\.matches) == [[.init(x: .int(128), median: 4)], [.init(x: .int(64), median: 4)]])
        #expect(comparison.rows.map(\.published) == [.init(x: 128, y: 0.5), .init(x: 64, y: 0.5)])
    }

    @Test(arguments: [
        (100.0, 128, 4.0),     // 28 from 128, 36 from 64
        (96, 64, 4),           // halfway: the smaller x
        (200, 256, 9),         // 56 from 256, 72 from 128
        (1_000_000, 256, 9),   // beyond the largest x
        (-5, 64, 4),           // below the smallest x
    ])
    func betweenOrBeyondTheDataTheNearestXIsUsed(_ x: Double, _ used: Int, _ median: Double) {
        let comparison = ReferenceComparisonTests.compare([x], in: ReferenceComparisonTests.oneLine)
        #expect(comparison.rows[0].matches == [.init(x: .int(used), median: median)])
    }

    @Test func eachSeriesIsMatchedAgainstItsOwnXs() {
        let runs = ReferenceComparisonTests.runs("ring", [64: [1], 1024: [3, 5]]) + ReferenceComparisonTests.runs("ulysses", [512: [7]])
        let data = FigureData(figure: FigureSpec(name: "f", x: "n", y: "gflops", series: "algorithm"), runs: runs)
        let comparison = ReferenceComparisonTests.compare([600, 64], in: data)
        #expect(comparison.lines == ["algorithm=ring", "algorithm=ulysses"])
        #expect(comparison.rows[0].matches == [.init(x: .int(1024), median: 4), .init(x: .int(512), median: 7)])
        #expect(comparison.rows[1].matches == [.init(x: .int(64), median: 1), .init(x: .int(512), median: 7)])
    }

    @Test func aFigureWithoutDataHasNoLinesAndItsTableSaysSo() throws {
        let figure = FigureSpec(name: "f", x: "n", y: "missing", reference: FigureReference(label: "paper", points: [.init(x: 10000, y: 0.81)]))
        let runs = ReferenceComparisonTests.runs("ring", [64: [1]])
        let comparison = ReferenceComparison(reference: figure.reference!, data: FigureData(figure: figure, runs: runs))
        #expect(comparison.lines.isEmpty && comparison.rows.count == 1 && comparison.rows[0].matches.isEmpty)
        let table = try #require(ReferenceTable(figure: figure, runs: runs))
        #expect(table.header == ["x", "published", "Loom", "at x"] && table.rows == [["10000", "0.81", "no data", "—"]])
        #expect(ReferenceTable(figure: FigureSpec(name: "g", x: "n", y: "gflops"), runs: runs) == nil, "no reference, no table")
    }
}
