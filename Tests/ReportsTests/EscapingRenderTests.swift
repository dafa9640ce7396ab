import Foundation
import FoundationXML
import ProcessTestSupport
import Testing
@testable import Reports

/// Hostile text from an experiment file or a run, through real gnuplot and Graphviz and into the
/// indexes: it is shown as written and never runs.
@Suite struct EscapingRenderTests {
    /// Texts that run `touch MARKER` if gnuplot reads them as code: a backquote in a
    /// double-quoted string, a quote that ends a string, a line break that ends a comment.
    static func hostile(_ markers: TemporaryDirectory) -> [String] {
        let touch = { (n: Int) in "touch " + markers.path("ran-\(n)") }
        return ["t`\(touch(1))`", "x' . system('\(touch(2))') . '", "y\" . system(\"\(touch(3))\") . \"",
                "line\nsystem('\(touch(4))')", "back\\", "@a {b} ^c _d &e ~f ; g", "s`\(touch(5))`", "v`\(touch(6))`",
                "a\"b\nc`\(touch(7))`", "f'`\(touch(8))`"]
    }

    /// The marker files any of the texts created.
    static func ran(_ markers: TemporaryDirectory) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: markers.url.path)) ?? []).filter { $0.hasPrefix("ran-") }
    }

    /// The text content of every element of an SVG file, which must be well-formed XML.
    static func texts(ofSVG url: URL) throws -> [String] {
        let collector = TextCollector()
        let parser = XMLParser(data: try Data(contentsOf: url))
        parser.delegate = collector
        #expect(parser.parse(), "\(url.lastPathComponent) is XML: \(String(describing: parser.parserError))")
        return collector.texts
    }

    @Test(.enabled(if: gnuplotIsInstalled))
    func figureTextsAreDrawnAsWrittenAndNeverRun() throws {
        let markers = try TemporaryDirectory(), out = try TemporaryDirectory()
        let h = EscapingRenderTests.hostile(markers)
        let series = h[6], facet = "facet\(h[9])"
        var runs: [ReportData.Run] = []
        for (i, (x, value)) in [("plain", h[7]), (h[8], h[7]), ("plain", "w'x"), (h[8], "w'x")].enumerated() {
            runs.append(ReportData.Run(id: Int64(i), index: i, repetition: 0, status: .succeeded,
                                       params: ["label": .string(x), "n": .int(i + 1), series: .string(value), facet: .string(h[9])],
                                       metrics: ["y": .double(Double(i + 1))], metricsSource: nil))
        }
        let data = ReportData(experiment: "hostile", description: "", file: "hostile.yaml", invocation: 1, runs: runs, provenance: [])
        let spec = ReportSpec(figures: [
            FigureSpec(name: "lines", x: "label", y: "y", series: series, title: h[0], xLabel: "'" + h[1], yLabel: h[2] + h[5],
                       reference: FigureReference(label: h[3], points: [.init(x: 0, y: 1)])),
            FigureSpec(name: "panels", x: "n", y: "y", facet: facet, title: h[4] + h[0]),
        ])
        let rendered = Result { () throws(ReportError) in try Report.render(data, spec: spec, to: out.url) }
        #expect(EscapingRenderTests.ran(markers).isEmpty, "drawing ran \(EscapingRenderTests.ran(markers))")
        let output = try rendered.get()
        #expect(output.figures.map(\.state) == [.drawn, .drawn])
        for script in ["lines.gp", "panels.gp"] {
            #expect(Gnuplot.run(script: script, in: out.url) == nil, "\(script) runs again by hand")
        }
        #expect(EscapingRenderTests.ran(markers).isEmpty, "the saved scripts ran \(EscapingRenderTests.ran(markers))")

        let lines = try EscapingRenderTests.texts(ofSVG: out.url.appendingPathComponent("lines.svg"))
        for expected in [h[0], "'" + h[1], h[2] + h[5], "line system('touch \(markers.path("ran-4"))')",
                         series, FigureData.legend(for: .string(h[7])), "w'x",   // the key: its title, then the values alone
                         "a'b c`touch \(markers.path("ran-7"))`"] {
            #expect(lines.contains(expected), "lines.svg shows \(expected): \(lines)")
        }
        let panels = try EscapingRenderTests.texts(ofSVG: out.url.appendingPathComponent("panels.svg"))
        #expect(panels.contains(h[4] + h[0]) && panels.contains("\(facet)=\(h[9])"), "\(panels)")
        let dat = try String(contentsOf: out.url.appendingPathComponent("lines.dat"), encoding: .utf8)
        #expect(dat.split(separator: "\n").allSatisfy { $0.hasPrefix("#") || $0.first?.isNumber == true },
                "no label breaks a data row: \(dat)")
    }

    @Test(.enabled(if: gnuplotIsInstalled))
    func heatmapLabelsAndTitleAreDrawnAsWrittenAndNeverRun() throws {
        let out = try TemporaryDirectory()
        // Short, so a small heatmap has room to draw them; gnuplot runs in `out`, so markers land there.
        let labels = ["`touch r1`", "'.system('touch r2').'", "\"\n`touch r3`", "@{x}^_"] + (4..<12).map { "t\($0)" }
        let n = labels.count
        let drawn = Result { () throws(ReportError) in
            try Heatmap.write([Float](repeating: 0.25, count: n * n), labels: labels, name: "attention",
                              title: "map\nsystem('touch r4')", into: out.url)
        }
        let ran = { ["r1", "r2", "r3", "r4"].filter { FileManager.default.fileExists(atPath: out.path($0)) } }
        #expect(ran().isEmpty, "drawing ran \(ran())")
        _ = try drawn.get()
        #expect(Gnuplot.run(script: "attention.gp", in: out.url) == nil, "attention.gp runs again by hand")
        #expect(ran().isEmpty, "the saved script ran \(ran())")
        let texts = try EscapingRenderTests.texts(ofSVG: out.url.appendingPathComponent("attention.svg"))
        for expected in ["`touch␣r1`", "'.system('touch␣r2').'", "\"↵`touch␣r3`", "@{x}^_", "map system('touch r4')"] {
            #expect(texts.contains(expected), "attention.svg shows \(expected): \(texts)")
        }
    }

    @Test func graphNamesAndLabelsAreDrawnAsWritten() throws {
        let awkward = ["say \"hi\"", "subgraph", "edge", "left\\lright", "name \\N here", "\\G\\E\\T\\H", "<b>bold</b>", "<<html>>", "x]; y", "{z}", "bell\u{7}"]
        var graph = DOTGraph(attributes: ["label": "title \\N \"q\""])
        for (i, text) in awkward.enumerated() {
            graph.node(text)                                                  // labelled by its name (\N)
            graph.node("n\(i)", ["label": text + "\nsecond line"])
            graph.edge(text, "n\(i)", ["label": text])
        }
        let svg = try GraphRenderer.render(dot: graph.text, format: "svg")
        let scratch = try TemporaryDirectory()
        try svg.write(to: scratch.url.appendingPathComponent("g.svg"))
        let texts = try EscapingRenderTests.texts(ofSVG: scratch.url.appendingPathComponent("g.svg"))
        #expect(texts.contains("title \\N \"q\""), "\(texts)")
        for text in awkward.map({ $0.replacingOccurrences(of: "\u{7}", with: "\u{FFFD}") }) {
            #expect(texts.filter { $0 == text }.count >= 2, "the node named \(text) and its edge's label: \(texts)")
            #expect(texts.contains(text + "\n") || texts.contains { $0.hasPrefix(text) }, "\(texts)")
            #expect(texts.contains("second line"))
        }
        let circuit = MechanismGraphs.circuit([.init(id: "a\"b", title: "L0 <x> \\N", metrics: [("m]; {", 1)]),
                                               .init(id: "c\\d", title: "out", metrics: [])],
                                              links: [("a\"b", "c\\d", "e\\l\"")], title: "t\\G")
        let circuitTexts = try { () throws -> [String] in
            try GraphRenderer.render(dot: circuit, format: "svg").write(to: scratch.url.appendingPathComponent("c.svg"))
            return try EscapingRenderTests.texts(ofSVG: scratch.url.appendingPathComponent("c.svg"))
        }()
        for expected in ["L0 <x> \\N", "m]; { = 1.000", "e\\l\"", "t\\G"] {
            #expect(circuitTexts.contains(expected), "\(expected) in \(circuitTexts)")
        }
    }

    @Test func indexesShowTextAsWrittenAndLinkOnlyTheirFiles() throws {
        let out = try TemporaryDirectory(), artifacts = try TemporaryDirectory()
        let script = "<script>alert(1)</script>"
        // A run's artifact whose name holds URL and Markdown characters.
        let stem = "a #b%41(c)[d] \" onerror=\"x"
        for format in ["svg", "pdf"] {
            try Data("<svg xmlns=\"http://www.w3.org/2000/svg\"/>".utf8).write(to: artifacts.url.appendingPathComponent("\(stem).\(format)"))
        }
        let run = ReportData.Run(id: 7, index: 0, repetition: 0, status: .failed,
                                 params: ["p|q": .string("v | w\n| x |"), "js": .string("javascript:alert(1)")],
                                 metrics: ["note": .string(script + " [l](javascript:alert(1))")], metricsSource: nil,
                                 artifacts: [artifacts.path("\(stem).svg"), artifacts.path("\(stem).pdf")])
        let data = ReportData(experiment: "e<i>x", description: "\(script)\n- item\n[l](javascript:alert(1)) \" onerror=\"x",
                              file: "x.yaml", invocation: 1, runs: [run],
                              provenance: [("command", "loom run `x`\n# heading"), ("host", script)])
        let spec = ReportSpec(figures: [FigureSpec(name: "f", x: "p|q", y: "note", title: script,
                                                   yLabel: "[click](javascript:alert(1)) <img src=x onerror=alert(1)>")])
        let output = try Report.render(data, spec: spec, to: out.url, notes: ["note " + script])

        let html = try String(contentsOf: output.indexHTML, encoding: .utf8)
        #expect(html.components(separatedBy: "<script>").count == 2, "one script, the page's own (sorting)")
        #expect(!html.contains("<script>alert") && !html.contains("<img src=x") && !html.contains("<i>") && !html.contains("\" onerror"), "\(html)")
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        let links = try NSRegularExpression(pattern: #"(?:src|href)="([^"]*)""#)
            .matches(in: html, range: NSRange(html.startIndex..., in: html)).map { String(html[Range($0.range(at: 1), in: html)!]) }
        #expect(links.count == 2, "the graph's SVG and PDF: \(links)")
        for link in links {
            let name = try #require(link.removingPercentEncoding)
            #expect(!link.contains(":") && !link.contains("#") && !link.contains("/") && !link.contains(" "), "\(link)")
            #expect(FileManager.default.fileExists(atPath: out.path(name)), "\(link) names a file of the report")
        }

        let markdown = try String(contentsOf: output.indexMarkdown, encoding: .utf8)
        for raw in ["<script>", "\n- item", "\n# heading", "`x`"] {
            #expect(!markdown.contains(raw), "index.md has no raw \(raw): \(markdown)")
        }
        let tags = try NSRegularExpression(pattern: #"(?<!\\)<(?!br>)"#)
        #expect(tags.numberOfMatches(in: markdown, range: NSRange(markdown.startIndex..., in: markdown)) == 0,
                "every < but our <br> is escaped: \(markdown)")
        // Link destinations: after a `]` no backslash escapes.
        let destinations = try NSRegularExpression(pattern: #"(?<!\\)\]\(([^)]*)\)"#)
            .matches(in: markdown, range: NSRange(markdown.startIndex..., in: markdown))
            .map { String(markdown[Range($0.range(at: 1), in: markdown)!]) }
        #expect(destinations.count == 2, "\(destinations)")
        for destination in destinations {
            #expect(FileManager.default.fileExists(atPath: out.path(try #require(destination.removingPercentEncoding))), "\(destination)")
        }
        // Each table row has as many cell separators as the header: no value adds or ends a cell.
        let rows = markdown.split(separator: "\n").filter { $0.hasPrefix("| ") }
        let separators = rows.map { row in
            zip(row, [" "] + row.dropLast()).filter { $0.0 == "|" && $0.1 != "\\" }.count
        }
        #expect(rows.count == 2 && Set(separators).count == 1, "\(rows)")
    }
}
