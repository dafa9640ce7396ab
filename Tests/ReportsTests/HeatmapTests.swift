import Foundation
import FoundationXML
import ProcessTestSupport
import Reports
import Testing

/// Attention heatmaps are drawn by the real gnuplot from their own data and script.
@Suite struct HeatmapTests {
    @Test func aHeatmapIsDrawnWithItsTokenLabels() throws {
        let scratch = try TemporaryDirectory()
        let labels = ["<s>", " ", "\"", "e"]
        var values = [Float](repeating: 0, count: 16)
        for i in 0..<4 { values[i * 4] = 0.75; values[i * 4 + max(i - 1, 0)] += 0.25 }
        let files = try Heatmap.write(values, labels: labels, name: "attention-L0H0", title: "L0.H0", into: scratch.url)
        #expect(files.map { URL(fileURLWithPath: $0).lastPathComponent }
                == ["attention-L0H0.dat", "attention-L0H0.gp", "attention-L0H0.svg", "attention-L0H0.pdf"])
        let rows = try String(contentsOf: scratch.url.appendingPathComponent("attention-L0H0.dat"), encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(rows.count == 4 && rows[2].split(separator: " ").map(String.init) == ["0.75", "0.25", "0", "0"], "\(rows)")
        let svg = try Data(contentsOf: scratch.url.appendingPathComponent("attention-L0H0.svg"))
        #expect(XMLParser(data: svg).parse(), "the SVG is XML")
        let text = String(decoding: svg, as: UTF8.self)
        #expect(text.contains("␣") && text.contains("&lt;s"), "token labels are drawn")
        let pdf = try Data(contentsOf: scratch.url.appendingPathComponent("attention-L0H0.pdf"))
        #expect(pdf.starts(with: Array("%PDF".utf8)))
    }

    @Test func pixelsStayPixelsAndTokenLabelsStayWhole() throws {
        let scratch = try TemporaryDirectory()
        let labels = ["<s_0>", "a", "b"]
        let values = [Float](repeating: 0.5, count: 9)
        _ = try Heatmap.write(values, labels: labels, name: "h", title: "t", into: scratch.url)
        let script = try String(contentsOf: scratch.url.appendingPathComponent("h.gp"), encoding: .utf8)
        #expect(script.contains("matrix with image pixels") && script.contains("rotate by 90 right noenhanced"), "\(script)")
        #expect(script.contains("font \"DejaVu Sans,8\""))
        let svg = String(decoding: try Data(contentsOf: scratch.url.appendingPathComponent("h.svg")), as: UTF8.self)
        #expect(!svg.contains("<image"), "no bitmap for a browser to smooth")
        // Every tic label is one text element holding the whole token.
        #expect(svg.components(separatedBy: "<text>&lt;s_0></text>").count == 3, "both axes label the token whole")
    }
}
