import Experiments
import Foundation
import FoundationXML
import ProcessTestSupport
import Testing
@testable import Reports

/// A whole report rendered from a real store with real gnuplot.
@Suite struct ReportRenderTests {
    static let spec = ReportSpec(figures: [
        FigureSpec(name: "gflops-vs-n", x: "n", y: "gflops", series: "threads", facet: "causal", logX: true, title: "sgemm throughput"),
        FigureSpec(name: "by_causal", kind: .scatter, x: "causal", y: "gflops", series: "threads"),
        FigureSpec(name: "nothing", x: "n", y: "note"),                 // a text metric: nothing to draw
    ])

    @Test func cachedRunsTakeTheirSourcesMetricsAndOnlyTheLatestInvocationCounts() throws {
        let fixture = try ReportFixture()
        let data = try #require(try ReportData.load(experiment: "sgemm", from: fixture.store))
        #expect(data.runs.count == 37, "36 sweep runs and one failed, none of the earlier invocation")
        #expect(data.runs.map(\.id) == fixture.runIDs, "ordered by run_index, repetition")
        let cached = data.runs[0]
        #expect(cached.status == .cached && cached.metricsSource == fixture.cacheSource)
        #expect(cached.metrics["gflops"] == .double(2))
        #expect(data.runs.last?.status == .failed && data.runs.last?.metrics.isEmpty == true)
        #expect(data.statusCounts.map(\.count) == [35, 1, 1])
        #expect(data.provenance.contains { $0 == ("git_commit", "abc123") })
        #expect(try ReportData.load(experiment: "nope", from: fixture.store) == nil)
    }

    @Test(.enabled(if: gnuplotIsInstalled))
    func aReportWithSeriesFacetsLogAxesAndErrorBars() throws {
        let fixture = try ReportFixture()
        let out = fixture.directory.url.appendingPathComponent("reports/sgemm")
        let output = try Report.render(experiment: "sgemm", spec: ReportRenderTests.spec, store: fixture.store, to: out)
        #expect(output.figures.map(\.state) == [.drawn, .drawn, .noData])

        for name in ["gflops-vs-n", "by_causal"] {
            let svg = try Data(contentsOf: out.appendingPathComponent("\(name).svg"))
            let parser = XMLParser(data: svg)
            let root = RootElement()
            parser.delegate = root
            #expect(parser.parse(), "\(name).svg is XML: \(String(describing: parser.parserError))")
            #expect(root.name == "svg")
            let pdf = try Data(contentsOf: out.appendingPathComponent("\(name).pdf"))
            #expect(pdf.starts(with: Array("%PDF".utf8)))
        }

        let dat = try String(contentsOf: out.appendingPathComponent("gflops-vs-n.dat"), encoding: .utf8)
        #expect(dat.contains("# x median min max count\n"))
        let blocks = dat.components(separatedBy: "\n\n\n")
        #expect(blocks.count == 4, "one block per (causal, threads)")
        #expect(blocks[1].contains("# block 1: causal=false threads=2"))
        // n=128, threads=2, not causal: base 128/64·2·2 = 8, repetitions ×1, ×1.5, ×0.5.
        #expect(blocks[1].contains("\n128 8 4 12 3"), "\(blocks[1])")
        // n=64, threads=1, not causal: the CACHED run's 2 (from its source), 3 and 1.
        #expect(blocks[0].contains("\n64 2 1 3 3"), "\(blocks[0])")
        #expect(blocks[3].contains("# block 3: causal=true threads=2") && blocks[3].contains("\n256 8 4 12 3"), "\(blocks[3])")
        #expect(!dat.contains("512"), "the FAILED run is not drawn")

        let script = try String(contentsOf: out.appendingPathComponent("gflops-vs-n.gp"), encoding: .utf8)
        for expected in ["set logscale x", "multiplot layout 1,2", "with yerrorlines", "title '1' noenhanced",
                         "set title 'causal=true'", "set output 'gflops-vs-n.pdf'", "set terminal svg enhanced size 672,269",
                         "set terminal pdfcairo enhanced size 7in,2.8in font \"DejaVu Sans,9\"", "title 'threads'"] {
            #expect(script.contains(expected), "gflops-vs-n.gp has \(expected)")
        }
        let categorical = try String(contentsOf: out.appendingPathComponent("by_causal.gp"), encoding: .utf8)
        #expect(categorical.contains("with yerrorbars") && categorical.contains("xtic(6)"))

        let html = try String(contentsOf: output.indexHTML, encoding: .utf8)
        let references = try NSRegularExpression(pattern: #"(?:src|href)="([^"]+)""#)
            .matches(in: html, range: NSRange(html.startIndex..., in: html))
            .map { String(html[Range($0.range(at: 1), in: html)!]) }
        #expect(references.contains("gflops-vs-n.svg") && references.contains("by_causal.pdf") && references.contains("gflops-vs-n.dat"))
        for reference in references where !reference.contains(":") && !reference.hasPrefix("#") {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(reference).path), "index.html links \(reference)")
        }
        #expect(!references.contains { $0.hasPrefix("nothing") }, "a figure without data links nothing")
        #expect(html.contains("sgemm throughput &lt;by size&gt; &amp; threads"), "text is escaped")
        #expect(html.contains("35 SUCCEEDED, 1 FAILED, 1 CACHED") || html.contains("35 SUCCEEDED, 1 CACHED, 1 FAILED"))
        #expect(html.contains("<td class=\"metric number\">0.1667</td>"), "1/6 to 4 significant digits")
        #expect(html.contains("abc123") && html.contains("loom run sgemm.yaml") && html.contains("SQLite 3.40.1"))
        #expect(FileManager.default.fileExists(atPath: output.indexMarkdown.path))

        // Rendering again with one figure fewer replaces the files and drops the old figure's.
        let again = try Report.render(experiment: "sgemm", spec: ReportSpec(figures: [ReportRenderTests.spec.figures[0]]),
                                      store: fixture.store, to: out)
        #expect(again.figures.count == 1)
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("by_causal.svg").path))
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("gflops-vs-n.pdf").path))
    }

    @Test(.enabled(if: gnuplotIsInstalled))
    func aFigureGnuplotCannotDrawKeepsItsScriptAndSaysWhy() throws {
        let directory = try TemporaryDirectory()
        let runs = (0..<3).map { id in
            ReportData.Run(id: Int64(id), index: id, repetition: 0, status: .succeeded, params: ["n": .int(id + 1)],
                           metrics: ["loss": .double(-1)], metricsSource: nil)
        }
        let data = ReportData(experiment: "neg", description: "", file: "neg.yaml", invocation: 1, runs: runs, provenance: [])
        // Every y is negative, so a log y axis has nothing to show: gnuplot stops with an error.
        let spec = ReportSpec(figures: [FigureSpec(name: "loss", x: "n", y: "loss", logY: true)])
        let error = #expect(throws: ReportError.self) { try Report.render(data, spec: spec, to: directory.url) }
        guard case let .figuresFailed(index, failures)? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(failures.count == 1 && failures[0].contains("loss.gp: gnuplot exited with status"), "\(failures)")
        #expect(FileManager.default.fileExists(atPath: index))
        for name in ["loss.gp", "loss.dat"] { #expect(FileManager.default.fileExists(atPath: directory.path(name))) }
        let html = try String(contentsOfFile: index, encoding: .utf8)
        #expect(html.contains("gnuplot could not draw it") && !html.contains("loss.svg"))
    }

    /// A report made from data in memory keeps provenance pairs of its own (a calibration, a
    /// summary) after the known ones, escaped for HTML and Markdown.
    @Test func ownProvenancePairsFollowTheKnownOnesEscaped() throws {
        let directory = try TemporaryDirectory()
        let data = ReportData(experiment: "mem", description: "in memory", runs: [ReportData.Run(id: 1, params: ["n": .int(1)], metrics: ["t": .double(1)])],
                              provenance: [("α <µs>", "58 & <script>x</script>"), ("host", "vm"), ("note | *bold*", "a|b")])
        let output = try Report.render(data, spec: ReportSpec(), to: directory.url)
        let html = try String(contentsOf: output.indexHTML, encoding: .utf8)
        #expect(html.contains("<dt>host</dt><dd>vm</dd>\n<dt>α &lt;µs&gt;</dt><dd>58 &amp; &lt;script&gt;x&lt;/script&gt;</dd>"), "\(html)")
        #expect(!html.contains("<script>x"))
        let markdown = try String(contentsOf: directory.url.appendingPathComponent("index.md"), encoding: .utf8)
        #expect(markdown.contains("- host: vm") && markdown.contains("note \\| \\*bold\\*"), "\(markdown)")
    }

    @Test func anUnknownExperimentNamesTheKnownOnes() throws {
        let fixture = try ReportFixture()
        let error = #expect(throws: ReportError.self) {
            try Report.render(experiment: "sgem", spec: ReportSpec(), store: fixture.store,
                              to: fixture.directory.url.appendingPathComponent("out"))
        }
        #expect(error?.description.contains("did you mean 'sgemm'?") == true, "\(String(describing: error))")
    }
}

/// Remembers the name of an XML document's root element.
final class RootElement: NSObject, XMLParserDelegate {
    var name: String?
    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        if name == nil { name = elementName }
    }
}
