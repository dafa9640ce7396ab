import Foundation
import FoundationXML
import ActiveDormant
import Experiments
import ProcessTestSupport
import Tasks
import Testing

/// `loom report` as users run it: the built executable on a real store.
@Suite struct ReportCommandTests {
    @Test(.enabled(if: gnuplotIsInstalled))
    func reportsFromAFileOrWithoutOne() throws {
        let fixture = try ReportFixture()
        let directory = fixture.directory.url
        let state = directory.appendingPathComponent("state").path

        // The recorded experiment file does not exist: the table and provenance only, said on stderr.
        let tableOnly = try LoomProcess.run(["report", "--experiment", "sgemm", "--state", state], in: directory)
        #expect(tableOnly.status == 0, "\(tableOnly)")
        #expect(tableOnly.standardError.contains("is gone"), "\(tableOnly)")
        let index = tableOnly.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(index.hasSuffix("reports/sgemm/index.html") && FileManager.default.fileExists(atPath: index), "\(tableOnly)")

        // Figures from --file, checked against the gemm kind's parameters.
        let file = directory.appendingPathComponent("sgemm.yaml")
        try Data("""
            name: sgemm
            task: gemm
            params: {n: [64, 128, 256], threads: [1, 2]}
            report:
              - {name: speed, x: n, y: gflops, series: threads, logx: true, title: sgemm}
            """.utf8).write(to: file)
        let out = directory.appendingPathComponent("paper").path
        let drawn = try LoomProcess.run(["report", "--experiment", "sgemm", "--state", state, "--file", file.path, "--out", out],
                                        in: directory)
        #expect(drawn.status == 0, "\(drawn)")
        #expect(drawn.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == out + "/index.html", "\(drawn)")
        // The store's runs differ in causal, which 'speed' neither plots nor splits by: it says so.
        #expect(drawn.standardError.contains("warning: figure speed: pooled over causal (false, true): "), "\(drawn)")
        for name in ["speed.svg", "speed.pdf", "speed.gp", "speed.dat", "index.md"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + name), "\(name) written")
        }
    }

    @Test func aTypoInTheReportOrTheExperimentNameIsBadInput() throws {
        let fixture = try ReportFixture()
        let directory = fixture.directory.url
        let state = directory.appendingPathComponent("state").path
        let unknown = try LoomProcess.run(["report", "--experiment", "sgem", "--state", state], in: directory)
        #expect(unknown.status == 2 && unknown.standardError.contains("did you mean 'sgemm'?"), "\(unknown)")

        let file = directory.appendingPathComponent("typo.yaml")
        try Data("name: sgemm\ntask: gemm\nparams: {n: 64}\nreport:\n  - {name: speed, x: n, y: gflops, series: thread}\n".utf8)
            .write(to: file)
        let typo = try LoomProcess.run(["report", "--experiment", "sgemm", "--state", state, "--file", file.path], in: directory)
        #expect(typo.status == 2 && typo.standardError.contains("typo.yaml:5:") && typo.standardError.contains("did you mean 'threads'?"),
                "\(typo)")

        // A metric name no run has: the report is written without that figure, and it is bad input.
        try Data("name: sgemm\ntask: gemm\nparams: {n: 64}\nreport:\n  - {name: speed, x: n, y: gflop}\n".utf8).write(to: file)
        let metric = try LoomProcess.run(["report", "--experiment", "sgemm", "--state", state, "--file", file.path], in: directory)
        #expect(metric.status == 2 && metric.standardError.contains("y: 'gflop' is neither a metric nor a parameter of experiment sgemm; "
                                                                    + "did you mean 'gflops'?"), "\(metric)")
    }
}

/// The main job, shortened: `loom run` on the quickstart ends by drawing its report.
@Suite struct QuickstartReportTests {
    @Test func theQuickstartRunEndsWithAReportWhoseFilesAllExist() throws {
        let scratch = try TemporaryDirectory()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let file = root.appendingPathComponent("experiments/quickstart.yaml").path
        let ran = try LoomProcess.run(["run", file, "tokens=[128,256]", "--workers", "2", "--quiet"], in: scratch.url,
                                      deadline: .seconds(300))
        try #require(ran.status == 0, "\(ran)")
        #expect(ran.standardOutput.contains("32 succeeded") && ran.standardOutput.contains("report: reports/quickstart/index.html"), "\(ran)")
        let out = scratch.url.appendingPathComponent("reports/quickstart")
        for figure in ["throughput", "compute-fraction", "bytes"] {
            let parser = XMLParser(data: try Data(contentsOf: out.appendingPathComponent("\(figure).svg")))
            let root = RootElement()
            parser.delegate = root
            #expect(parser.parse() && root.name == "svg", "\(figure).svg is an SVG document: \(String(describing: parser.parserError))")
            #expect(try Data(contentsOf: out.appendingPathComponent("\(figure).pdf")).starts(with: Array("%PDF".utf8)))
        }
        let html = try String(contentsOf: out.appendingPathComponent("index.html"), encoding: .utf8)
        let references = try NSRegularExpression(pattern: #"(?:src|href)="([^"]+)""#)
            .matches(in: html, range: NSRange(html.startIndex..., in: html))
            .map { String(html[Range($0.range(at: 1), in: html)!]) }
        #expect(references.count >= 12, "\(references)")
        for reference in references where !reference.contains(":") && !reference.hasPrefix("#") {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(reference).path), "index.html links \(reference)")
        }
        // Every algorithm is drawn, with a median and its spread over the 2 repeats.
        let data = try String(contentsOf: out.appendingPathComponent("throughput.dat"), encoding: .utf8)
        for algorithm in ["ring", "zigzag_ring", "tokenring", "ulysses"] { #expect(data.contains("algorithm=\(algorithm)")) }
        #expect(data.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }.allSatisfy { $0.hasSuffix(" 2") },
                "each point is over 2 repeats: \(data)")

        // Paper-ready: values in the legend under the parameter's name, the key off the plot,
        // series that coincide share one entry, and a double-column page for the faceted figure.
        let throughput = try String(contentsOf: out.appendingPathComponent("throughput.gp"), encoding: .utf8)
        #expect(throughput.contains("title 'zigzag ring'") && !throughput.contains("algorithm=") && throughput.contains("title 'algorithm'"))
        #expect(throughput.contains("set key outside"))
        let bytes = try String(contentsOf: out.appendingPathComponent("bytes.gp"), encoding: .utf8)
        #expect(bytes.contains(" = "), "identical byte series share one legend entry: \(bytes)")
        let pdf = String(decoding: try Data(contentsOf: out.appendingPathComponent("throughput.pdf")), as: UTF8.self)
        let box = try #require(try NSRegularExpression(pattern: #"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]"#)
            .firstMatch(in: pdf, range: NSRange(pdf.startIndex..., in: pdf)))
        #expect(abs(Double(pdf[Range(box.range(at: 1), in: pdf)!])! - 504) < 1, "a faceted figure spans two columns (7 in)")

        // In a browser: the 70-odd columns are down to the varying parameters and the
        // unprefixed metrics, the figures' first; each title shows once (inside its picture).
        let page = try ReportBrowserTests.checkRealReport(out.appendingPathComponent("index.html"))
        #expect(Array(page.columns.prefix(6)) == ["run", "status", "algorithm", "causal", "seed", "tokens"], "\(page.columns)")
        #expect(page.columns.dropFirst(6).prefix(3).sorted() == ["bytes_sent", "compute_fraction", "gflops"], "\(page.columns)")
        #expect(page.columns.count <= 30 && !page.columns.contains { $0.contains(".") }, "\(page.columns)")
        #expect(Array(page.headings.prefix(3)) == ["throughput", "compute-fraction", "bytes"], "\(page.headings)")
        #expect(!html.contains("<h2 id=\"throughput\">forward attention"), "the title is inside the figure only")
    }
}

/// A training sweep through `loom run`: curves in the store, drawn over steps, and the
/// mechanism graphs of each run in the report.
@Suite struct TrainingReportTests {
    @Test func aTrainingSweepReportsCurvesAndGraphs() throws {
        let scratch = try TemporaryDirectory()
        try """
            name: tiny-training
            task: train.bb
            params: {layers: 2, d_model: 16, heads: 2, context: 24, batch: 4, steps: 20, evaluate_every: 5,
                     evaluation_batch: 4, lr: [1e-3, 3e-3], threads: 1}
            report:
              - name: sink
                x: step
                y: L0.H0.attn_sink
                series: lr
            """.write(toFile: scratch.path("x.yaml"), atomically: true, encoding: .utf8)
        let ran = try LoomProcess.run(["run", scratch.path("x.yaml"), "--workers", "2", "--quiet"], in: scratch.url, deadline: .seconds(300))
        try #require(ran.status == 0, "\(ran)")
        // Every metric and curve the kind stored is declared, so reports can label it.
        let store = try ResultsStore(readingAt: scratch.path(".loom/loom.db"))
        let catalog = MetricCatalog(TrainMetric.all)
        for run in try store.runs() {
            let names = Array(try store.finalMetrics(run: run.id).keys) + Array(try store.curves(run: run.id).keys)
            #expect(names.count > 100)
            #expect(names.filter { catalog.spec(for: $0) == nil }.isEmpty, "undeclared: \(names.filter { catalog.spec(for: $0) == nil })")
        }
        let out = scratch.url.appendingPathComponent("reports/tiny-training")
        let data = try String(contentsOf: out.appendingPathComponent("sink.dat"), encoding: .utf8)
        // Steps 0, 5, 10, 15, 20 for each of the two learning rates.
        let points = data.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }
        #expect(points.count == 10 && points.first?.hasPrefix("0 ") == true && points.last?.hasPrefix("20 ") == true, "\(data)")
        let html = try String(contentsOf: out.appendingPathComponent("index.html"), encoding: .utf8)
        #expect(html.contains("<h2>Graphs</h2>"), "\(html.prefix(2000))")
        let references = try NSRegularExpression(pattern: #"(?:src|href)="([^"]+)""#)
            .matches(in: html, range: NSRange(html.startIndex..., in: html))
            .map { String(html[Range($0.range(at: 1), in: html)!]) }
        let graphs = references.filter { $0.hasPrefix("graph-run") }
        // Per run: circuit, heads-by-token, and per head (2 layers × 2) a token-attention graph and
        // an attention heatmap, SVG and PDF each.
        #expect(graphs.count == 2 * (2 + 4 * 2) * 2, "\(graphs)")
        #expect(graphs.contains { $0.hasSuffix("attention-L1H1.svg") }, "\(graphs)")
        for reference in references where !reference.contains(":") && !reference.hasPrefix("#") {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(reference).path), "index.html links \(reference)")
        }
        for graph in graphs where graph.hasSuffix(".svg") {
            let parser = XMLParser(data: try Data(contentsOf: out.appendingPathComponent(graph)))
            #expect(parser.parse(), "\(graph) is XML")
        }
        let runs = try LoomProcess.run(["runs", "--json"], in: scratch.url)
        #expect(runs.standardOutput.contains("\"L0.H0.active_tokens\"") && runs.standardOutput.contains("intervention.zero_L0H0.delta_backcopy"),
                "\(runs.standardOutput.prefix(1500))")
    }
}
