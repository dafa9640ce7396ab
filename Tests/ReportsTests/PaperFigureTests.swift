import Experiments
import Foundation
import ProcessTestSupport
import Tasks
import Testing
@testable import Reports

/// Figures a paper can take as they are: legends, key placement, identical series, pooled runs,
/// axis ranges and titles, several metrics, sizes; drawn by the real gnuplot.
@Suite struct PaperFigureTests {
    /// The quickstart's shape: three algorithms × two lengths × causal, one run each. Bytes do not
    /// depend on the algorithm (all three series are equal) but do on causal (which `bytes` pools).
    static func runs(algorithms: [String] = ["ring", "zigzag_ring", "ulysses"]) -> [ReportData.Run] {
        var runs: [ReportData.Run] = []
        for causal in [false, true] {
            for (a, algorithm) in algorithms.enumerated() {
                for tokens in [1024, 2048] {
                    let id = Int64(runs.count)
                    runs.append(ReportData.Run(id: id, index: runs.count, repetition: 0, status: .succeeded,
                                               params: ["algorithm": .string(algorithm), "tokens": .int(tokens), "causal": .bool(causal)],
                                               metrics: ["bytes": .int(tokens * (causal ? 2 : 4)), "gflops": .double(Double(10 * (a + 1) + tokens / 1024)),
                                                         "value_drain": .double(2), "value_others": .double(1)],
                                               metricsSource: nil))
                }
            }
        }
        return runs
    }

    static func data(_ runs: [ReportData.Run] = runs()) -> ReportData {
        ReportData(experiment: "paper", description: "", file: "paper.yaml", invocation: 1, runs: runs, provenance: [])
    }

    /// Texts of an SVG with where gnuplot put them: `<g transform="translate(x,y)" …><text>TEXT</text>`
    /// (or `<text><tspan …>TEXT</tspan>` for enhanced text such as tic labels).
    static func placedTexts(_ svg: String) throws -> [(text: String, x: Double, y: Double)] {
        let pattern = try NSRegularExpression(pattern: #"<g transform="translate\(([-\d.]+),([-\d.]+)\)"[^>]*>\s*<text>(?:<tspan[^>]*>)?([^<]*)<"#)
        return pattern.matches(in: svg, range: NSRange(svg.startIndex..., in: svg)).map { match in
            let part = { (i: Int) in String(svg[Range(match.range(at: i), in: svg)!]) }
            return (part(3).trimmingCharacters(in: .whitespaces), Double(part(1))!, Double(part(2))!)
        }
    }

    @Test(.enabled(if: gnuplotIsInstalled))
    func legendsNameValuesOnceAndEqualSeriesShareOneEntryOutsideThePlot() throws {
        let out = try TemporaryDirectory()
        let spec = ReportSpec(figures: [
            FigureSpec(name: "bytes", kind: .scatter, x: "tokens", y: "bytes", series: "algorithm", logX: true),
            FigureSpec(name: "speed", x: "tokens", y: "gflops", series: "algorithm", facet: "causal"),
        ])
        let output = try Report.render(PaperFigureTests.data(), spec: spec, to: out.url)
        #expect(output.figures.map(\.state) == [.drawn, .drawn])

        let bytes = try String(contentsOf: out.url.appendingPathComponent("bytes.gp"), encoding: .utf8)
        #expect(bytes.contains("set key outside") && bytes.contains(" title 'algorithm'"), "the parameter once, as the key's title")
        #expect(bytes.contains("title 'ring = zigzag ring = ulysses' noenhanced") && !bytes.contains("algorithm=ring"), "\(bytes)")
        #expect(bytes.contains("# block 1 (algorithm=zigzag_ring) equals an earlier series and is drawn by it"))
        let svg = try String(contentsOf: out.url.appendingPathComponent("bytes.svg"), encoding: .utf8)
        let texts = try PaperFigureTests.placedTexts(svg)
        let entry = try #require(texts.first { $0.text == "ring = zigzag ring = ulysses" }, "\(texts.map(\.text))")
        let tics = texts.filter { ["1024", "2048"].contains($0.text) }
        #expect(tics.count == 2, "\(texts.map(\.text))")
        // Outside the plot: right of the last x tic label, or below the x tic labels.
        #expect(tics.allSatisfy { entry.x > $0.x || entry.y > $0.y + 10 }, "key at \(entry), tics at \(tics)")

        let speed = try String(contentsOf: out.url.appendingPathComponent("speed.gp"), encoding: .utf8)
        for value in ["'ring'", "'zigzag ring'", "'ulysses'"] { #expect(speed.contains("title \(value) noenhanced"), "speed has \(value)") }
        #expect(!speed.contains("ring = "), "different series keep their own entries")
    }

    @Test(.enabled(if: gnuplotIsInstalled))
    func aFigurePoolingAParameterSaysWhatItPooled() throws {
        let out = try TemporaryDirectory()
        let spec = ReportSpec(figures: [
            FigureSpec(name: "bytes", x: "tokens", y: "bytes", series: "algorithm"),                    // pools causal
            FigureSpec(name: "split", x: "tokens", y: "bytes", series: "algorithm", facet: "causal"),   // pools nothing
        ])
        let output = try Report.render(PaperFigureTests.data(), spec: spec, to: out.url)
        let warning = try #require(output.figures[0].notes.first)
        #expect(warning.hasPrefix("pooled over causal (false, true): each point is the median over runs that differ in it"), "\(warning)")
        #expect(output.figures[1].notes.isEmpty, "\(output.figures[1].notes)")
        let markdown = try String(contentsOf: output.indexMarkdown, encoding: .utf8)
        #expect(markdown.contains("Note: pooled over causal (false, true)"), "the index shows the warning")
        // Repeats differ in their seed by design: that is not pooling.
        var repeated = PaperFigureTests.runs().filter { $0.params["causal"] == .bool(false) }
        repeated += repeated.map { run in
            var copy = run
            copy.id += 100; copy.repetition = 1; copy.params["seed"] = .int(1)
            return copy
        }
        let data = FigureData(figure: FigureSpec(name: "r", x: "tokens", y: "bytes", series: "algorithm"), runs: repeated)
        #expect(data.pooled.isEmpty && data.hasSpread, "\(data.pooled)")
    }

    @Test(.enabled(if: gnuplotIsInstalled))
    func referencesBeyondTheDataGoToASideNoteAndTheAxisKeepsLoomsRange() throws {
        let out = try TemporaryDirectory()
        var run = ReportData.Run(id: 1, index: 0, repetition: 0, status: .succeeded, params: ["lr": .double(0.003)],
                                 metrics: ["attn_sink": .double(0.4)], metricsSource: nil)
        run.curves["attn_sink"] = (0...6).map { (i: Int) -> StepPoint in StepPoint(step: i * 50, value: 0.1 * Double(i % 5)) }
        let reference = FigureReference(label: "Guo et al. 2024", points: [.init(x: 100, y: 0.78), .init(x: 10000, y: 0.81)])
        let spec = ReportSpec(figures: [FigureSpec(name: "sink", x: "step", y: "attn_sink", reference: reference)])
        let output = try Report.render(PaperFigureTests.data([run]), spec: spec, to: out.url)
        #expect(output.figures[0].notes == ["Guo et al. 2024: published point (10000, 0.81) is not drawn: it lies outside the x range of Loom's data (0 to 300)."])
        let script = try String(contentsOf: out.url.appendingPathComponent("sink.gp"), encoding: .utf8)
        let line = try #require(script.split(separator: "\n").first { $0.hasPrefix("xmin = ") })
        let bounds = line.split(separator: ";").map { Double($0.split(separator: "=")[1].trimmingCharacters(in: .whitespaces))! }
        #expect(bounds[0] < 0 && bounds[0] >= -0.05 * 300 && bounds[1] > 300 && bounds[1] <= 1.05 * 300, "padded data range: \(line)")
        #expect(script.contains("set xrange [xmin:xmax]") && script.contains("title 'Loom' noenhanced")
                && script.contains("pointtype 2 pointsize 0.9"), "Loom's curve has an entry; the reference is a small cross")
        #expect(script.contains("set offsets 0, 0, graph 0.05, graph 0.05"), "edge points are not cut")
    }

    @Test(.enabled(if: gnuplotIsInstalled))
    func catalogLabelsTitleTheAxesAndSeveralMetricsShareAFigure() throws {
        let out = try TemporaryDirectory()
        let catalog = MetricCatalog([MetricSpec("gflops", "throughput", unit: "GFLOP/s"), MetricSpec("value_drain", "‖W_O v_BOS‖", unit: "norm"),
                                     MetricSpec("value_others", "‖W_O v‖, other tokens", unit: "norm")])
        let spec = ReportSpec(figures: [
            FigureSpec(name: "speed", x: "tokens", y: "gflops", series: "algorithm", facet: "causal"),
            FigureSpec(name: "values", x: "tokens", y: "value_drain", alsoY: ["value_others"]),
            FigureSpec(name: "own", x: "tokens", y: "gflops", yLabel: "useful GFLOP/s"),
        ])
        let output = try Report.render(PaperFigureTests.data(), spec: spec, to: out.url, metrics: catalog)
        #expect(output.figures.map(\.state) == [.drawn, .drawn, .drawn])
        let read = { (name: String) in try String(contentsOf: out.url.appendingPathComponent("\(name).gp"), encoding: .utf8) }
        #expect(try read("speed").contains("set ylabel 'throughput (GFLOP/s)' noenhanced"))
        #expect(try read("speed").contains("set xlabel 'tokens' noenhanced"), "a parameter keeps its name")
        let values = try read("values")
        #expect(values.contains("set ylabel 'norm' noenhanced"), "the shared unit")
        #expect(values.contains("title '‖W_O v_BOS‖' noenhanced") && values.contains("title '‖W_O v‖, other tokens' noenhanced"), "\(values)")
        #expect(try read("own").contains("set ylabel 'useful GFLOP/s' noenhanced"), "an explicit ylabel wins")
        let dat = try String(contentsOf: out.url.appendingPathComponent("values.dat"), encoding: .utf8)
        #expect(dat.contains("# block 0: value_drain") && dat.contains("# block 1: value_others"))
    }

    @Test(.enabled(if: gnuplotIsInstalled), arguments: [(FigureSize?.none, 244.8, 187.2), (.double, 504, 201.6), (.slide, 720, 403.2)])
    func thePDFHasThePresetsPageSize(size: FigureSize?, width: Double, height: Double) throws {
        let out = try TemporaryDirectory()
        let spec = ReportSpec(figures: [FigureSpec(name: "f", x: "tokens", y: "gflops", series: "algorithm", size: size)])
        _ = try Report.render(PaperFigureTests.data(), spec: spec, to: out.url)
        let pdf = String(decoding: try Data(contentsOf: out.url.appendingPathComponent("f.pdf")), as: UTF8.self)
        let box = try #require(try NSRegularExpression(pattern: #"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]"#)
            .firstMatch(in: pdf, range: NSRange(pdf.startIndex..., in: pdf)))
        let number = { (i: Int) in Double(pdf[Range(box.range(at: i), in: pdf)!])! }
        #expect(abs(number(1) - width) < 1 && abs(number(2) - height) < 1, "cairo rounds down to whole points: MediaBox \(number(1)) × \(number(2)) pt")
        let script = try String(contentsOf: out.url.appendingPathComponent("f.gp"), encoding: .utf8)
        #expect(script.contains("font \"DejaVu Sans,\((size ?? .single).points)\""), "the PDF's text size")
    }

    @Test(.enabled(if: gnuplotIsInstalled))
    func mergedHostileLegendsStayText() throws {
        let markers = try TemporaryDirectory(), out = try TemporaryDirectory()
        let hostile = EscapingRenderTests.hostile(markers)
        let runs = PaperFigureTests.runs(algorithms: [hostile[0], hostile[1] + hostile[5]])
        let output = try Report.render(PaperFigureTests.data(runs), spec: ReportSpec(figures: [
            FigureSpec(name: "bytes", x: "tokens", y: "bytes", series: "algorithm", facet: "causal"),
        ]), to: out.url)
        #expect(output.figures.map(\.state) == [.drawn])
        #expect(EscapingRenderTests.ran(markers).isEmpty, "drawing ran \(EscapingRenderTests.ran(markers))")
        let texts = try EscapingRenderTests.texts(ofSVG: out.url.appendingPathComponent("bytes.svg"))
        let merged = FigureData.legend(for: .string(hostile[0])) + " = " + FigureData.legend(for: .string(hostile[1] + hostile[5]))
        #expect(texts.contains(merged), "\(texts)")
    }
}

extension PaperFigureTests {
    @Test func aMisspeltMetricInAYListIsNamed() {
        let figure = FigureSpec(name: "values", x: "tokens", y: "value_drain", alsoY: ["value_other"])
        let problem = PaperFigureTests.data().unknownName(in: figure, number: 1)
        #expect(problem?.contains("y: 'value_other' is neither a metric nor a parameter of experiment paper; did you mean 'value_others'?") == true,
                "\(String(describing: problem))")
    }
}

extension PaperFigureTests {
    @Test(.enabled(if: gnuplotIsInstalled))
    func nearlyEqualSeriesAreShiftedApartAndStayInsideTheAxis() throws {
        let out = try TemporaryDirectory()
        // ring and ulysses 0.4 % apart (one marker on the other), far well away from both.
        var runs = PaperFigureTests.runs(algorithms: ["ring", "ulysses", "far"]).filter { $0.params["causal"] == .bool(false) }
        for index in runs.indices {
            let tokens = runs[index].params["tokens"]!.number!
            let factor: Double = switch runs[index].params["algorithm"] { case .string("ulysses"): 1.004; case .string("far"): 3; default: 1 }
            runs[index].metrics["bytes"] = .double(tokens * factor)
        }
        let spec = ReportSpec(figures: [FigureSpec(name: "near", kind: .scatter, x: "tokens", y: "bytes", series: "algorithm", logX: true)])
        let output = try Report.render(PaperFigureTests.data(runs), spec: spec, to: out.url)
        #expect(output.figures.map(\.state) == [.drawn])
        let near = try String(contentsOf: out.url.appendingPathComponent("near.gp"), encoding: .utf8)
        // Three series, 8 % of the log gap between 1024 and 2048 apart: -0.024, 0, +0.024 decades.
        #expect(near.contains("index 0 using ($1*10**(-0.024082") && near.contains("index 1 using 1:2 ")
                && near.contains("index 2 using ($1*10**(0.024082"), "\(near)")
        let line = try #require(near.split(separator: "\n").first { $0.hasPrefix("xmin = ") })
        let bounds = line.split(separator: ";").map { Double($0.split(separator: "=")[1].trimmingCharacters(in: .whitespaces))! }
        #expect(bounds[0] < 1024 / pow(10, 0.024082) && bounds[1] > 2048 * pow(10, 0.024082), "the shifted markers are inside: \(line)")
        let spread = ReportSpec(figures: [FigureSpec(name: "spread", x: "tokens", y: "gflops", series: "algorithm", facet: "causal")])
        _ = try Report.render(PaperFigureTests.data(), spec: spread, to: out.url)
        let apart = try String(contentsOf: out.url.appendingPathComponent("spread.gp"), encoding: .utf8)
        #expect(!apart.contains("$1+") && !apart.contains("$1*"), "series far apart stay at their x")
    }
}
