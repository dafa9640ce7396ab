import Foundation
import ProcessTestSupport
import Testing
@testable import Reports

/// Hostile series and parameter values in a winner figure: drawn and listed as written, never run.
@Suite struct WinnerEscapingRenderTests {
    @Test(.enabled(if: gnuplotIsInstalled))
    func winnerValuesAreShownAsWrittenAndNeverRun() throws {
        // Short texts, so cells, tics and key have room; gnuplot runs in `out`, so any `touch` lands there.
        let out = try TemporaryDirectory()
        let ran = { ["r1", "r2", "r3", "r4", "r5", "r6"].filter { FileManager.default.fileExists(atPath: out.path($0)) } }
        // Contenders, columns, rows and panels carry quotes, backslashes, $, backquotes, |, HTML, line breaks, @ and &.
        let contenders = ["t`touch r1`", "b|c \\ $H & @x", "<script>\n| - i"]
        let columns = ["x' . system('touch r2') . '", "`x` $y"], rows = ["y\" . system(\"touch r3\") . \"", "r\\"]
        let facets = ["l\nsystem('touch r4')", "p & <b>q</b> | r"]
        var runs: [ReportData.Run] = []
        for facet in facets {
            for column in columns {
                for row in rows {
                    for (number, contender) in contenders.enumerated() {
                        runs.append(ReportData.Run(id: Int64(runs.count), index: runs.count, repetition: 0, status: .succeeded,
                                                   params: ["x": .string(column), "y": .string(row), "who": .string(contender), "f": .string(facet)],
                                                   metrics: ["t": .double(Double(number + 1))], metricsSource: nil))
                    }
                }
            }
        }
        let data = ReportData(experiment: "hostile", description: "", file: "x.yaml", invocation: 1, runs: runs, provenance: [])
        let figure = FigureSpec(name: "win", kind: .winner, x: "x", y: "y", series: "who", facet: "f", title: "back\\" + "`touch r5`",
                                xLabel: "'" + "`touch r6`", objective: .init(.minimize, "t"))
        let rendered = Result { () throws(ReportError) in try Report.render(data, spec: ReportSpec(figures: [figure]), to: out.url) }
        #expect(ran().isEmpty, "drawing ran \(ran())")
        let output = try rendered.get()
        #expect(output.figures.map(\.state) == [.drawn])
        #expect(Gnuplot.run(script: "win.gp", in: out.url) == nil, "win.gp runs again by hand")
        #expect(ran().isEmpty, "the saved script ran \(ran())")

        let texts = try EscapingRenderTests.texts(ofSVG: out.url.appendingPathComponent("win.svg"))
        for expected in ["back\\`touch r5`", "'`touch r6`", "f=l system('touch r4')", "f=p & <b>q</b> | r", columns[0], columns[1], rows[0], rows[1],
                         contenders[0], contenders[1], "<script> | - i", "t`touch r1`", "2.00×"] {
            #expect(texts.contains(expected), "win.svg shows \(expected): \(texts)")
        }
        let dat = try String(contentsOf: out.url.appendingPathComponent("win.dat"), encoding: .utf8)
        #expect(dat.split(separator: "\n").allSatisfy { $0.hasPrefix("#") || $0.first?.isNumber == true }, "no value breaks a data row: \(dat)")

        let html = try String(contentsOf: output.indexHTML, encoding: .utf8)
        #expect(html.components(separatedBy: "<script>").count == 2, "one script, the page's own (sorting)")
        #expect(!html.contains("<b>q") && html.contains("<td>p &amp; &lt;b&gt;q&lt;/b&gt; | r</td>"), "the winners table escapes its cells")
        let markdown = try String(contentsOf: output.indexMarkdown, encoding: .utf8)
        #expect(!markdown.contains("<script>") && !markdown.contains("\n| - item") && !markdown.contains("`x`"), "\(markdown)")
        // The winners table: 8 cells, each row with as many unescaped `|` as the header.
        let figureSection = markdown.components(separatedBy: "## Runs")[0]
        let table = figureSection.split(separator: "\n").filter { $0.hasPrefix("| ") }
        let separators = table.map { row in zip(row, [" "] + row.dropLast()).filter { $0.0 == "|" && $0.1 != "\\" }.count }
        #expect(table.count == 9 && Set(separators) == [8], "\(table)")
    }
}
