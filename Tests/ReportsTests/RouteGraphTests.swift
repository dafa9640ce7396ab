import Foundation
import FoundationXML
import Testing
@testable import Reports

/// Duo-LLM route graphs drawn by the real Graphviz library.
@Suite struct RouteGraphTests {
    static let usage = [
        RouteGraphs.Usage(condition: "oracle@1", fractions: [[.big: 0.5, .small: 0.5], [.small: 1]]),
        RouteGraphs.Usage(condition: "router", fractions: [[.big: 0.25, .small: 0.75], [.big: 0.5, .small: 0.5]]),
        RouteGraphs.Usage(condition: "random", fractions: [[.big: 0.5, .small: 0.5]]),
    ]

    @Test func eachBranchIsLabelledUnderEveryConditionAndWeighedByTheFirst() throws {
        let dot = RouteGraphs.routes(layers: 2, usage: RouteGraphTests.usage, title: "L = 2")
        // Layer 0, big: 0.50 under the oracle, 0.25 under the router, 0.50 at random; width from the oracle.
        #expect(dot.contains("\"L0.attn\" -> \"L0.big\" [label=\"0.50\\n0.25\\n0.50\", penwidth=\"3.15\"]"), "\(dot)")
        // Layer 1, big: the oracle never takes it (thinnest line); random has no layer 1 (0).
        #expect(dot.contains("\"L1.attn\" -> \"L1.big\" [label=\"0.00\\n0.50\\n0.00\", penwidth=\"0.30\"]"), "\(dot)")
        // Skip: no condition takes it at all, so it is dotted.
        #expect(dot.contains("\"L0.attn\" -> \"L0.skip\" [label=\"0.00\\n0.00\\n0.00\", penwidth=\"0.30\", style=\"dotted\"]"))
        #expect(dot.contains("top to bottom: oracle@1, router, random; line width: oracle@1"))
        let svg = String(decoding: try GraphRenderer.render(dot: dot, format: "svg"), as: UTF8.self)
        #expect(svg.contains("big FFN") && svg.contains("L1 attention") && svg.contains("0.25"))
    }

    @Test func conditionsAndTokensAreEscapedForDOT() throws {
        let hostile = "a\"b\\N{x}<y>; z -> w"
        let usage = [RouteGraphs.Usage(condition: hostile, fractions: [[.big: .nan, .skip: 2]])]
        let dot = RouteGraphs.routes(layers: 1, usage: usage, title: hostile)
        #expect(!dot.contains("a\"b") && dot.contains("a\\\"b"), "\(dot)")
        #expect(dot.contains("[label=\"–\", penwidth=\"0.30\"]"), "NaN shows as a dash and draws thin")
        #expect(dot.contains("\"L0.attn\" -> \"L0.skip\" [label=\"1.00\", penwidth=\"6.00\"]"), "fractions are clamped to 1")
        let path = RouteGraphs.tokenPath(route: [.big, .skip], token: hostile, loss: 1.25, allBigLoss: 1.5, title: "oracle@1")
        #expect(path.contains("loss 1.250 on this route, 1.500 with every layer big") && !path.contains("a\"b"))
        for text in [dot, path] {
            let svg = try GraphRenderer.render(dot: text, format: "svg")
            let parser = XMLParser(data: svg)
            let root = RootElement()
            parser.delegate = root
            #expect(parser.parse() && root.name == "svg")
        }
    }

    @Test func aTokensRouteIsHighlighted() throws {
        let dot = RouteGraphs.tokenPath(route: [.small, .big, .skip], token: "e", loss: 0.5, allBigLoss: 0.75, title: "oracle@1")
        #expect(dot.contains("\"L0.small\" -> \"L0.add\" [arrowsize=\"0.5\", color=\"#D55E00\", penwidth=\"2.5\"]"), "\(dot)")
        #expect(dot.contains("\"L1.add\" -> \"L2.skip\" [color=\"#D55E00\", penwidth=\"2.5\"]"))
        #expect(dot.contains("\"L0.add\" -> \"L1.small\" [color=\"grey80\", style=\"dotted\"]"))
        let pdf = try GraphRenderer.render(dot: dot, format: "pdf")
        #expect(pdf.starts(with: Array("%PDF".utf8)))
    }
}
