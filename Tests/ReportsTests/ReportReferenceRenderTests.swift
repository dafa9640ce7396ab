import Foundation
import FoundationXML
import Testing
@testable import Reports

/// Published reference points drawn beside the fixture's data and compared in the index, with real gnuplot.
@Suite struct ReportReferenceRenderTests {
    static let label = "Smith et al. 2023 (d = 64)"
    static let reference = FigureReference(label: label, points: [.init(x: 64, y: 2.5), .init(x: 200, y: 9), .init(x: 1000, y: -1)])
    static let spec = ReportSpec(figures: [
        FigureSpec(name: "faceted", x: "n", y: "gflops", series: "threads", facet: "causal", reference: reference),
        FigureSpec(name: "logy", x: "n", y: "gflops", logY: true, reference: reference),
        FigureSpec(name: "nothing", x: "n", y: "note", reference: reference),      // a text metric: nothing to draw
    ])

    @Test(.enabled(if: gnuplotIsInstalled))
    func theReferenceIsDrawnInEveryPanelAndComparedInTheIndex() throws {
        let fixture = try ReportFixture()
        let out = fixture.directory.url.appendingPathComponent("reports/sgemm")
        let output = try Report.render(experiment: "sgemm", spec: ReportReferenceRenderTests.spec, store: fixture.store, to: out)
        #expect(output.figures.map(\.state) == [.drawn, .drawn, .noData])

        for name in ["faceted", "logy"] {
            let text = TextCollector()
            let parser = XMLParser(data: try Data(contentsOf: out.appendingPathComponent("\(name).svg")))
            parser.delegate = text
            #expect(parser.parse(), "\(name).svg is XML: \(String(describing: parser.parserError))")
            #expect(text.texts.contains(ReportReferenceRenderTests.label), "\(name).svg has the label in its key")
        }
        let dat = try String(contentsOf: out.appendingPathComponent("faceted.dat"), encoding: .utf8)
        let blocks = dat.components(separatedBy: "\n\n\n")
        #expect(blocks.count == 5 && blocks[4] == "# block 4: reference: \(ReportReferenceRenderTests.label) (published; columns x y)\n64 2.5\n200 9\n1000 -1\n",
                "\(blocks.last ?? "")")
        let faceted = try String(contentsOf: out.appendingPathComponent("faceted.gp"), encoding: .utf8)
        #expect(faceted.components(separatedBy: "'faceted.dat' index 4 using 1:($1 >= xmin && $1 <= xmax ? $2 : NaN) with points pointtype 2")
                    .count == 3, "one per panel, only inside the data's x range")
        let logy = try String(contentsOf: out.appendingPathComponent("logy.gp"), encoding: .utf8)
        #expect(logy.contains("published point (1000, -1) is not drawn: it lies outside the x range of Loom's data (64 to 256) or at a value <= 0")
                && logy.contains("index 1 using 1:($2 > 0 && $1 >= xmin && $1 <= xmax ? $2 : NaN) with points"), "\(logy)")
        #expect(output.figures[1].notes.contains { $0.hasPrefix("\(ReportReferenceRenderTests.label): published point (1000, -1) is not drawn") },
                "the side note: \(output.figures[1].notes)")

        // Medians ×1 of the fixture: n/64 · threads · (2 when not causal); 200 and 1000 are nearest 256.
        let markdown = try String(contentsOf: output.indexMarkdown, encoding: .utf8)
        for row in ["| x | published | Loom (causal=false threads=1) | at x (causal=false threads=1) | Loom (causal=false threads=2) |",
                    "| 64 | 2.5 | 2 | 64 | 4 | 64 | 1 | 64 | 2 | 64 |",
                    "| 200 | 9 | 8 | 256 | 16 | 256 | 4 | 256 | 8 | 256 |",
                    "| 1000 | -1 | 8 | 256 | 16 | 256 | 4 | 256 | 8 | 256 |",
                    "| x | published | Loom | at x |",
                    "| 1000 | -1 | 8 | 256 |",                 // logy: all 12 runs at n = 256 pool; the middle two are 8
                    "| 64 | 2.5 | no data | — |"] {
            #expect(markdown.contains(row), "index.md has \(row)")
        }
        #expect(markdown.contains("published vs Loom: \(ReportReferenceRenderTests.label)"))
        let html = try String(contentsOf: output.indexHTML, encoding: .utf8)
        #expect(html.contains("<p class=\"files\">published vs Loom: \(ReportReferenceRenderTests.label)")
                && html.contains("<td class=\"number\">200</td><td class=\"number\">9</td><td class=\"number\">8</td>")
                && html.contains("<td>no data</td>"), "\(html)")
    }
}

/// Collects the text content of an XML document's elements.
final class TextCollector: NSObject, XMLParserDelegate {
    var texts: [String] = []
    private var current = ""
    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) { current = "" }
    func parser(_ parser: XMLParser, foundCharacters string: String) { current += string }
    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        let text = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !text.isEmpty { texts.append(text) }
        current = ""
    }
}
