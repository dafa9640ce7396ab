import Foundation
import FoundationXML
import Testing
@testable import Reports

/// The token-attention graph reads query → key: two columns, a legend, few labels, bounded width.
@Suite struct TokenAttentionGraphTests {
    /// 20 tokens, each query splitting its weight between BOS and the previous token.
    static func weights(_ t: Int) -> [Float] {
        var weights = [Float](repeating: 0, count: t * t)
        weights[0] = 1
        for i in 1..<t { weights[i * t] = 0.5 - Float(i) * 0.01; weights[i * t + i - 1] = 0.5 + Float(i) * 0.01 }
        return weights
    }

    @Test func aDenseGraphHasALegendFewLabelsAndABoundedWidth() throws {
        let t = 20
        var tokens = (0..<t).map { "t\($0)" }
        tokens[0] = "<s>"
        tokens[5] = String(repeating: "long token ", count: 30)   // cut to a short label
        let dot = MechanismGraphs.tokenAttention(tokens: tokens, weights: Self.weights(t), triggers: [3, 7], labelled: 4, title: "L0.H0")
        // Every edge above the threshold is drawn: 20 to BOS (query 1's previous token is BOS), 18 to the previous token.
        let arrows = dot.split(separator: "\n").filter { $0.contains(" -> \"k") && !$0.contains("invis") }
        #expect(arrows.count == 38, "\(arrows.count) arrows")
        #expect(arrows.filter { $0.contains("headlabel=") || $0.contains(" label=") }.count == 4)
        #expect(dot.contains("rankdir=\"LR\"") && dot.contains("{ rank=same; \"queries\"; \"q0\";"))
        let svg = try GraphRenderer.render(dot: dot, format: "svg")
        let reader = SVGReader()
        let parser = XMLParser(data: svg)
        parser.delegate = reader
        #expect(parser.parse())
        // The legend names every colour, with the colour it names.
        for (entry, color) in [("→ previous token", "blue"), ("→ itself", "darkgreen"), ("→ another token", "black")] {
            #expect(reader.texts.contains { $0.text == entry && $0.fill == color }, "legend entry \(entry)")
        }
        #expect(reader.texts.contains { $0.text == "→ BOS (sink)" } && reader.texts.contains { $0.text.hasPrefix("19 of 19 queries") })
        #expect(reader.edgeTexts == 4, "edge labels in the SVG: \(reader.edgeTexts)")
        #expect(reader.texts.contains { $0.text == "5: long␣token␣…" })
        // Two token columns and a legend: at most ~10 inches wide, whatever the tokens.
        let width = try #require(Double(reader.width.replacingOccurrences(of: "pt", with: "")))
        #expect(width <= 720, "width \(width) pt")
    }

    @Test func tokensWithDOTMetacharactersAreEscaped() throws {
        let tokens = ["<s>", "\"", "\\", "<", "{", "\\N\"]; x -> y; \""]
        let t = tokens.count
        let dot = MechanismGraphs.tokenAttention(tokens: tokens, weights: Self.weights(t), triggers: [], title: "t \"q\" {a}")
        #expect(dot.contains("label=\"1: \\\"\"") && dot.contains("label=\"2: \\\\\""))
        #expect(dot.contains("label=\"5: \\\\N\\\"];␣x␣->␣…\""), "the injection stays inside its label")
        let reader = SVGReader()
        let parser = XMLParser(data: try GraphRenderer.render(dot: dot, format: "svg"))
        parser.delegate = reader
        #expect(parser.parse())
        for (index, token) in tokens.enumerated().dropFirst() {
            let visible = token.replacingOccurrences(of: " ", with: "␣")
            let shown = index == 5 ? visible.prefix(11) + "…" : visible   // `\N` shown as written, not expanded
            #expect(reader.texts.filter { $0.text == "\(index): \(shown)" }.count == 2, "token \(index) in both columns: \(reader.texts)")
        }
        #expect(reader.texts.contains { $0.text == "t \"q\" {a}" })
    }
}

/// The SVG's size, its texts with their fill, and how many texts sit in edge groups.
final class SVGReader: NSObject, XMLParserDelegate {
    var width = ""
    var texts: [(text: String, fill: String)] = []
    var edgeTexts = 0
    private var groups: [String] = [], current: (text: String, fill: String)?

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        if name == "svg" { width = attributes["width"] ?? "" }
        if name == "g" { groups.append(attributes["class"] ?? "") }
        if name == "text" {
            current = ("", attributes["fill"] ?? "black")
            if groups.contains("edge") { edgeTexts += 1 }
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { current?.text += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "g" { _ = groups.popLast() }
        if name == "text", let text = current { texts.append(text); current = nil }
    }
}
