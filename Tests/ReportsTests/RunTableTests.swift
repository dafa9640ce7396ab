import Foundation
import Tasks
import Testing
@testable import Reports

/// The run table's arrangement: fixed values once, figure metrics first, details last.
@Suite struct RunTableTests {
    static func run(_ id: Int64, _ params: [String: ParameterValue], _ metrics: [String: ParameterValue]) -> ReportData.Run {
        ReportData.Run(id: id, index: Int(id), repetition: 0, status: .succeeded, params: params, metrics: metrics, metricsSource: nil)
    }

    static let runs = [
        run(1, ["n": .int(64), "heads": .int(8), "dir": .string("")],
            ["wall_s": .double(0.5), "gflops": .double(10), "gang_size": .int(2), "rank1.wall_s": .double(0.4),
             "L0.H0.attn_sink": .double(0.8), "step0.send_s": .double(0.1), "bytes": .double(2_097_152)]),
        run(2, ["n": .int(128), "heads": .int(8), "dir": .string("")],
            ["wall_s": .double(0.7), "gflops": .double(20), "gang_size": .int(2), "rank1.wall_s": .double(0.6),
             "L0.H0.attn_sink": .double(0.9), "step0.send_s": .double(0.2), "bytes": .double(4_194_304)]),
    ]

    @Test func fixedParametersOnceFigureMetricsFirstDetailsLast() {
        let table = RunTable(RunTableTests.runs, figureNames: ["n", "gflops", "L0.H0.attn_sink"])
        #expect(table.fixed.map(\.name) == ["dir", "heads"])
        #expect(table.fixed.map(\.value) == ["\"\"", "8"], "an empty value still shows")
        #expect(table.sameInEveryRun.map(\.name) == ["gang_size"])
        #expect(table.header == ["run", "status", "n", "L0.H0.attn_sink", "gflops", "bytes", "wall_s", "rank1.wall_s", "step0.send_s"])
        #expect(table.columns.map(\.group) == [.run, .run, .parameter, .figureMetric, .figureMetric, .metric, .metric, .detail, .detail])
        #expect(table.rows[1] == ["2", "SUCCEEDED", "128", "0.9", "20", "4194304", "0.7", "0.6", "0.2"])
    }

    @Test func oneRunHasEveryParameterFixedButKeepsItsMetrics() {
        let table = RunTable([RunTableTests.runs[0]])
        #expect(table.fixed.count == 3 && table.sameInEveryRun.isEmpty)
        #expect(table.header == ["run", "status", "bytes", "gang_size", "gflops", "wall_s", "L0.H0.attn_sink", "rank1.wall_s", "step0.send_s"])
    }

    @Test func theHTMLEscapesEveryValueAndHidesDetailsBehindTheToggle() {
        let hostile = "<script>alert(\"x\")</script>'"
        var runs = RunTableTests.runs
        runs[0].params["label"] = .string(hostile)
        runs[1].params["label"] = .string("b&b")
        runs[0].params["const"] = .string(hostile)
        runs[1].params["const"] = .string(hostile)
        runs[0].metrics["<m>"] = .string("\"q\"")
        let catalog = MetricCatalog([MetricSpec("gflops", "throughput <fast>", unit: "GFLOP/s")])
        let html = RunTable(runs, figureNames: ["gflops"]).html(metrics: catalog)
        #expect(html.contains("title=\"throughput &lt;fast&gt; (GFLOP/s); sort by gflops\""), "a declared metric's label on hover")
        #expect(!html.contains("<script>") && !html.contains("<m>") && !html.contains("\"q\""), "\(html)")
        let escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39;"
        #expect(html.contains("<td class=\"parameter\">\(escaped)</td>"), "in the table")
        #expect(html.contains("<code>const = \(escaped)</code>"), "in the fixed list")
        #expect(html.contains("<td class=\"parameter\">b&amp;b</td>") && html.contains(">&lt;m&gt;</th>"))
        #expect(html.contains("<input type=\"checkbox\" id=\"show-detail\"") && html.contains("show the 3 metrics per rank, step, layer or head"))
        #expect(html.contains("<th colspan=\"3\" class=\"detail\">") && html.contains("<td class=\"detail number\">0.4</td>"))
        #expect(html.contains("<td class=\"run status-succeeded\">SUCCEEDED</td>"), "a status is styled by its kind")
        #expect(html.contains("<table class=\"runs sortable\">") && html.contains("<div class=\"table-scroll\""))
        #expect(!html.contains("http:") && !html.contains("https:"), "nothing loaded from elsewhere")
    }

    @Test func aPageWithoutDetailsHasNoToggle() {
        let runs = [RunTableTests.run(1, ["n": .int(1)], ["a": .double(1)]), RunTableTests.run(2, ["n": .int(2)], ["a": .double(2)])]
        #expect(!RunTable(runs).html().contains("show-detail"))
    }

    @Test(arguments: [
        ("<svg width=\"1440\" height=\"480\" viewBox=\"0 0 1440 480\">", SVGSize(width: 1440, height: 480)),
        ("<?xml version=\"1.0\"?>\n<svg\n width=\"300pt\" height=\"60pt\"\n viewBox=\"0 0 300 60\">", SVGSize(width: 400, height: 80)),
        ("<svg width='2in' height='1in'>", SVGSize(width: 192, height: 96)),
    ])
    func svgSizesInPixels(text: String, expected: SVGSize) {
        #expect(SVGSize(svgText: text) == expected)
    }

    @Test func svgWithoutAnAbsoluteSizeHasNone() {
        #expect(SVGSize(svgText: "<svg width=\"100%\" height=\"100%\">") == nil)
        #expect(SVGSize(svgText: "<svg viewBox=\"0 0 10 10\">") == nil)
        #expect(SVGSize(svgText: "<html>") == nil)
        #expect(SVGSize(svgText: "<svg width=\"1e9\" height=\"5\">") == nil)
    }
}
