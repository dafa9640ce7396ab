import Experiments
import Foundation
import FoundationXML
import ProcessTestSupport
import Tasks
import Testing
@testable import Reports

/// Winner figures (crossover maps): which schedule wins per cell, by how much, and the files drawn.
@Suite struct WinnerMapTests {
    /// Predicted seconds per (workers, tokens, algorithm) at link_gbps = 25, one list of repeats each:
    ///
    /// | workers \ tokens | 1024                       | 2048                           | 4096            |
    /// |------------------|----------------------------|--------------------------------|-----------------|
    /// | 2                | ring 1, ulysses 1.31, tr 2 | ring 2 = ulysses 2 (tie), tr 3 | no runs         |
    /// | 4                | ring 1,5,3 → 3; ulysses 2, 2.5 → 2.25; tr 4 | ulysses 1 alone | ring 8, ulysses 4, tr 2 |
    static let seconds: [(workers: Int, tokens: Int, algorithm: String, repeats: [Double])] = [
        (2, 1024, "ring", [1]), (2, 1024, "ulysses", [1.31]), (2, 1024, "tokenring", [2]),
        (2, 2048, "ring", [2]), (2, 2048, "ulysses", [2]), (2, 2048, "tokenring", [3]),
        (4, 1024, "ring", [1, 5, 3]), (4, 1024, "ulysses", [2, 2.5]), (4, 1024, "tokenring", [4]),
        (4, 2048, "ulysses", [1]),
        (4, 4096, "ring", [8]), (4, 4096, "ulysses", [4]), (4, 4096, "tokenring", [2]),
    ]

    /// The runs of `seconds` at link_gbps = 25, a FAILED tokenring run that would have won at
    /// (2, 1024), and with `faster` one more link speed, 100, where ulysses wins (2, 1024) by 2×.
    static func runs(faster: Bool = false) -> [ReportData.Run] {
        var runs: [ReportData.Run] = []
        func add(_ workers: Int, _ tokens: Int, _ algorithm: String, _ value: Double, link: Int, repetition: Int, status: ResultsStore.Status = .succeeded) {
            runs.append(ReportData.Run(id: Int64(runs.count), index: runs.count, repetition: repetition, status: status,
                                       params: ["workers": .int(workers), "tokens": .int(tokens), "algorithm": .string(algorithm),
                                                "link_gbps": .int(link), "topology": .string("nvlink")],
                                       metrics: ["sim.predicted_s": .double(value)], metricsSource: nil))
        }
        for entry in seconds {
            for (repetition, value) in entry.repeats.enumerated() { add(entry.workers, entry.tokens, entry.algorithm, value, link: 25, repetition: repetition) }
        }
        add(2, 1024, "tokenring", 0.1, link: 25, repetition: 1, status: .failed)
        if faster {
            add(2, 1024, "ring", 1, link: 100, repetition: 0)
            add(2, 1024, "ulysses", 0.5, link: 100, repetition: 0)
        }
        return runs
    }

    static let figure = FigureSpec(name: "crossover", kind: .winner, x: "tokens", y: "workers", series: "algorithm",
                                   title: "fastest schedule", objective: .init(.minimize, "sim.predicted_s"))

    @Test func eachCellHasItsWinnerMarginAndRunnerUp() throws {
        let map = try WinnerMap(figure: WinnerMapTests.figure, runs: WinnerMapTests.runs())
        #expect(map.columns == [.int(1024), .int(2048), .int(4096)] && map.rows == [.int(2), .int(4)])
        #expect(map.contenders == [.string("ring"), .string("ulysses"), .string("tokenring")], "in order of first appearance")
        #expect(map.panels.count == 1 && map.panels[0].label == nil)
        let cells = map.panels[0].cells
        #expect(cells.map { [$0.column, $0.row] } == [[0, 0], [1, 0], [0, 1], [1, 1], [2, 1]], "(4096, 2) has no runs and no cell")
        // (1024, 2): ring 1 beats ulysses 1.31; the FAILED tokenring run's 0.1 does not count.
        #expect(cells[0].winners == [0] && cells[0].runnerUp == 1 && cells[0].margin == 1.31 && cells[0].counts == [1, 1, 1])
        // (2048, 2): ring and ulysses tie at 2; tokenring's 3 is the runner-up, 1.5× behind.
        #expect(cells[1].isTie && cells[1].winners == [0, 1] && cells[1].runnerUp == 2 && cells[1].margin == 1.5)
        // (1024, 4): repeats pooled by their median: ring 3 (of 1, 5, 3), ulysses 2.25 (of 2, 2.5), tokenring 4.
        #expect(cells[2].medians == [3, 2.25, 4] && cells[2].counts == [3, 2, 1])
        #expect(cells[2].winners == [1] && cells[2].runnerUp == 0 && cells[2].margin == 3 / 2.25)
        // (2048, 4): ulysses alone.
        #expect(cells[3].winners == [1] && cells[3].runnerUp == nil && cells[3].margin == nil && cells[3].medians == [nil, 1, nil])
        #expect(cells[4].winners == [2] && cells[4].runnerUp == 1 && cells[4].margin == 2)
        #expect(map.label(of: cells[0]) == ("ring", "1.31×") && map.label(of: cells[1]) == ("tie", "ring=ulys…")
                && map.label(of: cells[3]) == ("ulysses", "alone") && map.label(of: cells[4]) == ("tokenring", "2.00×"))
    }

    @Test func maximizeReversesTheRanking() throws {
        var figure = WinnerMapTests.figure
        figure.objective = .init(.maximize, "sim.predicted_s")
        let cells = try WinnerMap(figure: figure, runs: WinnerMapTests.runs()).panels[0].cells
        #expect(cells[0].winners == [2] && cells[0].runnerUp == 1 && cells[0].margin == 2 / 1.31)
        #expect(cells[1].winners == [2] && cells[1].runnerUp == 0 && cells[1].margin == 1.5)
        #expect(cells[4].winners == [0] && cells[4].margin == 2)
    }

    /// A median against 2, and whether the two tie (`tieTolerance` is 1e-9 relative).
    static let nearTies: [(Double, Bool)] = [(2 * (1 + 1e-12), true), (2 * (1 + 1e-10), true), (2 * (1 + 1e-8), false), (2 * (1 - 1e-8), false)]

    @Test(arguments: nearTies)
    func mediansWithinTheToleranceTie(_ other: Double, _ isTie: Bool) {
        let cell = WinnerMap.cell(column: 0, row: 0, medians: [2, other, nil], counts: [1, 1, 0], objective: .init(.minimize, "s"))
        #expect(cell.isTie == isTie, "2 against \(other): \(cell)")
        #expect(cell.winners.contains(other < 2 ? 1 : 0))
    }

    @Test func aParameterThatVariesInsideACellIsNamedUnlessItIsTheFacet() throws {
        let error = #expect(throws: WinnerMap.MixedRuns.self) { try WinnerMap(figure: WinnerMapTests.figure, runs: WinnerMapTests.runs(faster: true)) }
        #expect(error?.parameters == [FigureData.Pooled(parameter: "link_gbps", values: ["25", "100"])])
        let message = error?.message(figure: WinnerMapTests.figure, number: 2) ?? ""
        #expect(message.hasPrefix("report figure 2 'crossover': runs of one cell and algorithm value differ in link_gbps (25, 100)")
                && message.contains("make it the figure's 'facet' or fix its value"), "\(message)")

        var faceted = WinnerMapTests.figure
        faceted.facet = "link_gbps"
        let map = try WinnerMap(figure: faceted, runs: WinnerMapTests.runs(faster: true))
        #expect(map.panels.map(\.label) == ["link_gbps=25", "link_gbps=100"])
        #expect(map.panels[1].cells.count == 1 && map.panels[1].cells[0].winners == [1] && map.panels[1].cells[0].margin == 2,
                "ulysses keeps its number (its colour) in the second panel")
    }

    @Test func theDatFileHoldsEveryCellWithItsMedians() throws {
        let map = try WinnerMap(figure: WinnerMapTests.figure, runs: WinnerMapTests.runs())
        let lines = map.datText(for: WinnerMapTests.figure).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0].hasPrefix("# crossover: the algorithm value with the least sim.predicted_s per (tokens, workers) cell"))
        #expect(lines[1] == "# contenders (number: value): 0: ring, 1: ulysses, 2: tokenring; winner -1 is a tie within a relative 1e-09")
        #expect(lines[2] == "# column row winner best margin x y name margin_label median(ring) median(ulysses) median(tokenring)")
        #expect(Array(lines[3...]) == [
            "# block 0: all runs",
            "0 0 0 1 1.31 \"1024\" \"2\" \"ring\" \"1.31×\" 1 1.31 2",
            "1 0 -1 2 1.5 \"2048\" \"2\" \"tie\" \"ring=ulys…\" 2 2 3",
            "0 1 1 2.25 \(3 / 2.25) \"1024\" \"4\" \"ulysses\" \"1.33×\" 3 2.25 4",
            "1 1 1 1 NaN \"2048\" \"4\" \"ulysses\" \"alone\" NaN 1 NaN",
            "2 1 2 2 2 \"4096\" \"4\" \"tokenring\" \"2.00×\" 8 4 2",
            "",
        ])
    }

    @Test(.enabled(if: gnuplotIsInstalled))
    func aFacetedWinnerFigureIsDrawnAndListedInTheIndex() throws {
        let out = try TemporaryDirectory()
        var figure = WinnerMapTests.figure
        figure.facet = "link_gbps"
        let data = ReportData(experiment: "crossover", description: "", file: "x.yaml", invocation: 1,
                              runs: WinnerMapTests.runs(faster: true), provenance: [])
        let output = try Report.render(data, spec: ReportSpec(figures: [figure]), to: out.url)
        #expect(output.figures.map(\.state) == [.drawn])
        #expect(output.figures[0].files == ["crossover.dat", "crossover.gp", "crossover.svg", "crossover.pdf"])
        let root = RootElement(), parser = XMLParser(data: try Data(contentsOf: out.url.appendingPathComponent("crossover.svg")))
        parser.delegate = root
        #expect(parser.parse() && root.name == "svg")
        #expect(try Data(contentsOf: out.url.appendingPathComponent("crossover.pdf")).starts(with: Array("%PDF".utf8)))
        let texts = try EscapingRenderTests.texts(ofSVG: out.url.appendingPathComponent("crossover.svg"))
        for expected in ["fastest schedule", "link_gbps=25", "link_gbps=100", "ring", "ulysses", "tokenring", "tie", "1.31×", "2.00×", "alone"] {
            #expect(texts.contains(expected), "crossover.svg shows \(expected): \(texts)")
        }
        let dat = try String(contentsOf: out.url.appendingPathComponent("crossover.dat"), encoding: .utf8)
        let blocks = dat.components(separatedBy: "\n\n\n")
        #expect(blocks.count == 2 && blocks[1] == "# block 1: link_gbps=100\n0 0 1 0.5 2 \"1024\" \"2\" \"ulysses\" \"2.00×\" 1 0.5 NaN\n", "\(blocks)")
        let script = try String(contentsOf: out.url.appendingPathComponent("crossover.gp"), encoding: .utf8)
        for expected in ["set multiplot layout 1,2 title 'fastest schedule' noenhanced", "set title 'link_gbps=100' noenhanced",
                         "set xtics ('1024' 0, '2048' 1, '4096' 2) noenhanced", "set ytics ('2' 0, '4' 1) noenhanced",
                         "'crossover.dat' index 1 using 1:(column(3) == 0 ? column(2) : NaN)", "linecolor rgb \"#D55E00\" title 'ulysses'",
                         "using 1:(column(3) == -1 ? column(2) : NaN):(0.47):(0.47) with boxxyerror linecolor rgb \"#999999\" title 'tie'",
                         "set key outside below center horizontal noenhanced samplen 1 title 'algorithm'"] {
            #expect(script.contains(expected), "crossover.gp has \(expected)")
        }
        try FileManager.default.removeItem(at: out.url.appendingPathComponent("crossover.svg"))
        #expect(Gnuplot.run(script: "crossover.gp", in: out.url) == nil, "the .gp runs by hand")
        #expect(FileManager.default.fileExists(atPath: out.path("crossover.svg")))

        let markdown = try String(contentsOf: output.indexMarkdown, encoding: .utf8)
        #expect(markdown.contains("![crossover](crossover.svg)"))
        #expect(markdown.contains("| link\\_gbps | workers | tokens | algorithm | sim.predicted\\_s | margin | runner-up |"), "\(markdown)")
        #expect(markdown.contains("| 25 | 2 | 2048 | tie: ring = ulysses | 2 | 1.50× | tokenring |"), "\(markdown)")
        #expect(markdown.contains("| 25 | 4 | 2048 | ulysses | 1 | — | none |") && markdown.contains("| 100 | 2 | 1024 | ulysses | 0.5 | 2.00× | ring |"))
        let html = try String(contentsOf: output.indexHTML, encoding: .utf8)
        #expect(html.contains("<table class=\"winners\">"))
        #expect(html.contains("<td>tie: ring = ulysses</td>") && html.contains("<td>1.31×</td>") && html.contains("<td class=\"number\">2.25</td>"), "\(html)")
    }

    @Test func aWinnerFigureWithMixedRunsIsBadInput() throws {
        let out = try TemporaryDirectory()
        let data = ReportData(experiment: "crossover", description: "", file: "x.yaml", invocation: 1,
                              runs: WinnerMapTests.runs(faster: true), provenance: [])
        let error = #expect(throws: ReportError.self) { try Report.render(data, spec: ReportSpec(figures: [WinnerMapTests.figure]), to: out.url) }
        guard case let .unknownNames(_, problems)? = error else { Issue.record("expected unknownNames, got \(String(describing: error))"); return }
        #expect(problems.count == 1 && problems[0].contains("differ in link_gbps (25, 100)"), "\(problems)")
        let html = try String(contentsOf: out.url.appendingPathComponent("index.html"), encoding: .utf8)
        #expect(html.contains("Not drawn: report figure 1 &#39;crossover&#39;: runs of one cell"), "the index says why")
    }
}
