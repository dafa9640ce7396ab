import Experiments
import Testing
@testable import Reports
import Tasks

/// Grouping runs and the statistics over repeats, against numbers computed by hand.
@Suite struct FigureDataTests {
    static func run(_ id: Int64, n: Int, series: String = "a", gflops: ParameterValue?, status: ResultsStore.Status = .succeeded)
        -> ReportData.Run {
        ReportData.Run(id: id, index: 0, repetition: 0, status: status, params: ["n": .int(n), "algorithm": .string(series)],
                       metrics: gflops.map { ["gflops": $0] } ?? [:], metricsSource: nil)
    }

    @Test func mediansMinimaAndMaximaOverRepeats() {
        let runs = [
            FigureDataTests.run(1, n: 128, gflops: .double(5)), FigureDataTests.run(2, n: 128, gflops: .double(1)),
            FigureDataTests.run(3, n: 128, gflops: .double(4)),                             // odd count: median 4
            FigureDataTests.run(4, n: 64, gflops: .double(2)), FigureDataTests.run(5, n: 64, gflops: .double(8)),
            FigureDataTests.run(6, n: 64, gflops: .double(4)), FigureDataTests.run(7, n: 64, gflops: .double(6)),  // even: (4+6)/2
            FigureDataTests.run(8, n: 64, gflops: .double(100), status: .failed),          // only SUCCEEDED and CACHED count
            FigureDataTests.run(9, n: 64, gflops: .string("n/a")),                          // not a number
            FigureDataTests.run(10, n: 64, gflops: nil),                                    // no metric
            FigureDataTests.run(11, n: 1024, gflops: .int(7), status: .cached),            // an int metric is a number
        ]
        let data = FigureData(figure: FigureSpec(name: "f", x: "n", y: "gflops"), runs: runs)
        #expect(data.panels.count == 1 && data.panels[0].series.count == 1 && !data.isCategorical && data.hasSpread)
        let points = data.panels[0].series[0].points
        #expect(points.map(\.position) == [64, 128, 1024], "x ascending numerically")
        #expect(points[0].median == 5 && points[0].minimum == 2 && points[0].maximum == 8 && points[0].count == 4)
        #expect(points[1].median == 4 && points[1].minimum == 1 && points[1].maximum == 5 && points[1].count == 3)
        #expect(points[2].median == 7 && points[2].minimum == 7 && points[2].maximum == 7 && points[2].count == 1)
    }

    @Test func aStepAxisDrawsTrainingCurvesWithTheirSpreadOverRepeats() {
        func run(_ id: Int64, optimizer: String, losses: [Double]) -> ReportData.Run {
            var run = ReportData.Run(id: id, index: 0, repetition: 0, status: .succeeded, params: ["optimizer": .string(optimizer)],
                                     metrics: ["loss": .double(losses.last!)], metricsSource: nil)
            run.curves["loss"] = losses.enumerated().map { StepPoint(step: $0.offset * 100, value: $0.element) }
            return run
        }
        let runs = [run(1, optimizer: "adamw", losses: [4, 2, 1]), run(2, optimizer: "adamw", losses: [4, 3, 0.5]),
                    run(3, optimizer: "sgd", losses: [4, 3.5, 3])]
        let data = FigureData(figure: FigureSpec(name: "loss", x: "step", y: "loss", series: "optimizer"), runs: runs)
        let series = data.panels[0].series
        #expect(series.map(\.label) == ["optimizer=adamw", "optimizer=sgd"])
        #expect(series[0].points.map(\.position) == [0, 100, 200] && series[0].points.map(\.median) == [4, 2.5, 0.75])
        #expect(series[0].points[2].minimum == 0.5 && series[0].points[2].maximum == 1 && series[0].points[2].count == 2)
        #expect(series[1].points.map(\.median) == [4, 3.5, 3] && series[1].points.allSatisfy { $0.count == 1 })
    }

    /// A running run's curve so far is drawn over steps; its final metrics (none yet) are not.
    @Test func aRunningRunsPartialCurveIsDrawnOnlyOverSteps() {
        var running = ReportData.Run(id: 1, index: 0, repetition: 0, status: .running, params: ["n": .int(1)],
                                     metrics: [:], metricsSource: nil)
        running.curves["loss"] = [StepPoint(step: 50, value: 3), StepPoint(step: 100, value: 2)]
        var failed = running
        failed.id = 2
        failed.status = .failed
        let curve = FigureData(figure: FigureSpec(name: "c", x: "step", y: "loss"), runs: [running, failed])
        #expect(curve.panels.count == 1 && curve.panels[0].series[0].points.map(\.median) == [3, 2]
                && curve.panels[0].series[0].points.allSatisfy { $0.count == 1 }, "the failed run is left out")
        running.metrics["loss"] = .double(2)   // a metric without the step axis: final values only
        let final = FigureData(figure: FigureSpec(name: "f", x: "n", y: "loss"), runs: [running])
        #expect(final.panels.allSatisfy { $0.series.allSatisfy(\.points.isEmpty) })
    }

    @Test func stringXIsCategoricalInFileOrderAndSharedAcrossSeries() {
        var runs: [ReportData.Run] = []
        for (id, (algorithm, n)) in [("ring", 1), ("zigzag_ring", 1), ("ring", 2), ("ulysses", 2)].enumerated() {
            runs.append(ReportData.Run(id: Int64(id), index: id, repetition: 0, status: .succeeded,
                                       params: ["algorithm": .string(algorithm), "n": .int(n)], metrics: ["gflops": .double(Double(id))],
                                       metricsSource: nil))
        }
        let figure = FigureSpec(name: "f", kind: .scatter, x: "algorithm", y: "gflops", series: "n")
        let data = FigureData(figure: figure, runs: runs)
        #expect(data.categories == ["ring", "zigzag_ring", "ulysses"] && !data.hasSpread)
        #expect(data.panels[0].series.map(\.label) == ["n=1", "n=2"])
        #expect(data.panels[0].series[1].points.map(\.position) == [0, 2], "ulysses keeps its place when n=1 lacks it")
        #expect(data.datText(for: figure).contains("2 3 3 3 1 \"ulysses\""))
    }

    @Test func paramsJSONKeepsIntegersBooleansAndDoubles() {
        let params = ReportData.decodeParams(#"{"causal":true,"n":64,"ratio":2.0,"scale":0.5,"mode":"ring"}"#)
        #expect(params == ["causal": .bool(true), "n": .int(64), "ratio": .double(2), "scale": .double(0.5), "mode": .string("ring")])
    }
}
