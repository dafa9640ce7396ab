import Foundation
import FoundationXML
import Testing
@testable import Reports

/// Mechanism graphs drawn by the real Graphviz library.
@Suite struct GraphTests {
    @Test func aTokenAttentionGraphDrawsToSVGAndPDF() throws {
        let tokens = ["<s>", "a", " ", "b", "\"q\""]
        var weights = [Float](repeating: 0, count: 25)
        weights[0] = 1
        weights[1 * 5 + 0] = 0.9; weights[1 * 5 + 1] = 0.1
        weights[2 * 5 + 1] = 0.8; weights[2 * 5 + 0] = 0.2            // a trigger: previous token
        weights[3 * 5 + 0] = 0.95; weights[3 * 5 + 3] = 0.05
        weights[4 * 5 + 0] = 0.5; weights[4 * 5 + 2] = 0.5
        let dot = MechanismGraphs.tokenAttention(tokens: tokens, weights: weights, triggers: [2], title: "L0 head 0")
        #expect(dot.contains("\"q2\" -> \"k1\" [arrowsize=\"0.5\", color=\"blue\"")
                && dot.contains("\"q1\" -> \"k0\" [arrowsize=\"0.5\", color=\"grey55\""))
        #expect(dot.contains("\"q0\" -> \"k0\" [arrowsize=\"0.5\", color=\"grey55\""), "BOS's own query")
        #expect(!dot.contains("\"q3\" -> \"k3\" [arrowsize"), "weights ≤ 0.1 are left out")
        #expect(dot.contains("\\\"q\\\""), "labels are escaped")
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("loom-graph-\(getpid())")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let names = try GraphRenderer.write(dot: dot, name: "tokens", into: scratch)
        #expect(names == ["tokens.dot", "tokens.svg", "tokens.pdf"])
        let parser = XMLParser(data: try Data(contentsOf: scratch.appendingPathComponent("tokens.svg")))
        let root = RootElement()
        parser.delegate = root
        #expect(parser.parse() && root.name == "svg")
        #expect(try Data(contentsOf: scratch.appendingPathComponent("tokens.pdf")).starts(with: Array("%PDF".utf8)))
    }

    @Test func circuitAndHeadClassGraphsLayOut() throws {
        let circuit = MechanismGraphs.circuit([
            .init(id: "embed", title: "embed", metrics: []),
            .init(id: "l0", title: "L0.head0", metrics: [("attn_sink", 0.78), ("value_drain", 1.4)]),
        ], links: [("embed", "l0", "")], title: "1 layer")
        let svg = try GraphRenderer.render(dot: circuit, format: "svg")
        #expect(String(decoding: svg, as: UTF8.self).contains("attn_sink = 0.780"))
        let classes = MechanismGraphs.headTokenClasses(heads: ["L0.h0"], classes: [" ", "e", "a"], active: [["L0.h0", " "]], title: "t")
        #expect(classes.contains("\"h:L0.h0\" -> \"c: \" [color=\"darkgreen\""))
        _ = try GraphRenderer.render(dot: classes, format: "svg")
    }

    @Test func aBrokenGraphIsAnErrorNotACrash() {
        #expect { _ = try GraphRenderer.render(dot: "digraph { a -> ", format: "svg") } throws: { "\($0)".contains("cannot parse") }
        #expect { _ = try GraphRenderer.render(dot: "digraph { a }", format: "nonsense") } throws: { "\($0)".contains("cannot render") }
    }

    /// Graphviz reads a file for a node's image (and embeds a PNG's pixels in the PDF), a shape
    /// file, the folders of `imagepath` and `fontpath`, and an IMG in an HTML-like label: a
    /// notebook's raw DOT using any of them is refused before layout.
    @Test(arguments: [
        ("digraph { a [image=\"/etc/hostname\"] }", "'image'"),
        ("digraph { node [image=\"\"]; a }", "'image'"),
        ("digraph { a [shape=custom, shapefile=\"/etc/hostname\"] }", "'shapefile'"),
        ("digraph { imagepath=\"/etc\"; a }", "'imagepath'"),
        ("digraph { subgraph cluster_s { fontpath=\"/etc\"; a } }", "'fontpath'"),
        ("digraph { a [label=<<TABLE><TR><TD><iMg SRC=\"/etc/hostname\"/></TD></TR></TABLE>>] }", "'label' with an HTML-like <IMG>"),
        ("digraph { a -> b [xlabel=<<IMG SRC=\"/etc/hostname\"/>>] }", "'xlabel' with an HTML-like <IMG>"),
        ("digraph { subgraph cluster_s { label=<<IMG SRC=\"/etc/hostname\"/>>; a } }", "'label' with an HTML-like <IMG>"),
    ])
    func aGraphThatReadsAFileIsRefused(dot: String, names: String) {
        #expect { _ = try GraphRenderer.render(dot: dot, format: "svg") } throws: {
            "\($0)".contains("the graph uses \(names)") && "\($0)".contains("reads a file")
        }
    }

    @Test func htmlLabelsWithoutImagesAndTheWordImgStillDraw() throws {
        let svg = try GraphRenderer.render(dot: "digraph { subgraph cluster_s { label=<<B>bold</B>>; a } b [label=\"<img>\"]; a -> b [label=<<I>x</I>>] }",
                                           format: "svg")
        #expect(String(decoding: svg, as: UTF8.self).contains("&lt;img&gt;"))
    }
}
