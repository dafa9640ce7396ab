import Foundation
import ProcessTestSupport
import Testing
@testable import Octopus

/// Graph files: a valid file loads whole; each kind of mistake is reported at its
/// file:line:column with what to do; the drawing is escaped DOT that Graphviz renders.
@Suite struct ModelGraphFileTests {
    static let model = "{layers: 1, d_model: 16, heads: 2, context: 24}"

    /// Writes `text` to a file in `directory` and loads it.
    static func load(_ text: String, in directory: TemporaryDirectory, name: String = "g.yaml",
                     domains: [String]? = ["ADD", "REV", "SORT"]) throws(OctopusError) -> ModelGraph {
        let path = directory.path(name)
        #expect(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)))
        return try ModelGraphFile.load(path, domains: domains)
    }

    static let valid = """
        graph: small
        hop_limit: 2
        nodes:
          - {name: master, role: master, model: \(model)}
          - {name: math, role: worker, domain: ADD, model: \(model), checkpoint: models/math}
          - {name: rev, role: worker, domain: REV, model: \(model)}
          - {name: general, role: general, model: \(model)}
        edges:
          - {from: master, to: math, token: "<nexa_0>"}
          - {from: master, to: rev, token: "<nexa_1>"}
          - {from: master, to: general, token: "<nexa_2>"}
          - {from: math, to: rev, token: "<nexa_1>"}
          - {from: rev, to: math, token: "<nexa_0>"}
        """

    @Test func aValidFileLoadsWhole() throws {
        let directory = try TemporaryDirectory()
        let graph = try Self.load(Self.valid, in: directory)
        #expect(graph.name == "small" && graph.hopLimit == 2 && graph.nodes.count == 4 && graph.edges.count == 5)
        #expect(graph.master?.name == "master" && graph.node("general")?.domain == "all")
        #expect(graph.node("math")?.checkpoint == directory.url.appendingPathComponent("models/math").standardizedFileURL.path)
        #expect(graph.edges(from: "master").map(\.to) == ["math", "rev", "general"])
        // Parameters: every node has the same shape, so activated = 2 models and total = 4.
        let one = graph.parameters(of: graph.nodes[0])
        // The vocabulary: the study's for K = 3 functional tokens (<nexa_0> … <nexa_2>).
        #expect(graph.vocabulary == (try OctopusVocabulary(nodeCount: 3)).size)
        #expect(one == graph.nodes[0].shape.config(vocabulary: graph.vocabulary).parameterCount && one > 0)
        #expect(graph.activatedParameters == 2 * one && graph.totalParameters == 4 * one)
    }

    /// Each malformed file, the `line:column` of its first problem and a phrase of the message.
    static let malformed: [(String, String, String)] = [
        // unknown node in an edge, with a suggestion
        (valid.replacingOccurrences(of: "to: rev, token: \"<nexa_1>\"}\n  - {from: master, to: general",
                                    with: "to: reev, token: \"<nexa_1>\"}\n  - {from: master, to: general"),
         "10:24", "unknown node 'reev' in 'to:'; did you mean 'rev'?"),
        // a token naming two nodes
        (valid.replacingOccurrences(of: "to: general, token: \"<nexa_2>\"", with: "to: general, token: \"<nexa_1>\""),
         "11:40", "token '<nexa_1>' already names node 'rev'"),
        // a cycle of worker edges without a hop limit
        (valid.replacingOccurrences(of: "hop_limit: 2\n", with: ""), "12:5", "form a cycle; set 'hop_limit: N'"),
        // a master without edges
        ("""
         graph: lonely
         nodes:
           - {name: master, role: master, model: \(model)}
           - {name: math, role: worker, domain: ADD, model: \(model)}
         """, "3:5", "the master 'master' has no edges"),
        // an unknown role, with a suggestion
        (valid.replacingOccurrences(of: "role: general", with: "role: generl"), "7:27", "unknown role 'generl'; did you mean 'general'?"),
        // two nodes of one name
        (valid.replacingOccurrences(of: "{name: rev, role: worker", with: "{name: math, role: worker"), "6:12", "node 'math' is defined twice"),
        // an edge into the master
        (valid.replacingOccurrences(of: "{from: rev, to: math,", with: "{from: rev, to: master,"), "13:21", "an edge into the master"),
        // a misspelt key
        (valid.replacingOccurrences(of: "hop_limit: 2", with: "hop_limt: 2"), "2:1", "unknown key 'hop_limt' in a graph file; did you mean 'hop_limit'?"),
        // heads that do not divide d_model
        (valid.replacingOccurrences(of: "{name: rev, role: worker, domain: REV, model: {layers: 1, d_model: 16, heads: 2,",
                                    with: "{name: rev, role: worker, domain: REV, model: {layers: 1, d_model: 16, heads: 3,"),
         "6:83", "heads (3) must divide d_model (16)"),
        // an unknown domain
        (valid.replacingOccurrences(of: "domain: REV", with: "domain: RVE"), "6:39", "unknown domain 'RVE'; did you mean 'REV'?"),
        // a worker with nothing to train on
        (valid.replacingOccurrences(of: "role: worker, domain: REV, ", with: "role: worker, "), "6:5", "needs 'domain:'"),
        // a malformed token
        (valid.replacingOccurrences(of: "token: \"<nexa_0>\"}\n  - {from: master, to: rev", with: "token: \"nexa_0\"}\n  - {from: master, to: rev"),
         "9:37", "must be <nexa_i> with i in 0..<256"),
        // no master at all
        (valid.replacingOccurrences(of: "role: master", with: "role: worker, domain: SORT"), "4:3", "the graph has no master"),
        // a number out of range
        (valid.replacingOccurrences(of: "hop_limit: 2", with: "hop_limit: 99"), "2:12", "hop_limit is 99; it must be in 1...16"),
    ]

    @Test(arguments: 0..<malformed.count)
    func eachMistakeIsReportedAtItsPlace(_ index: Int) throws {
        let (text, place, phrase) = Self.malformed[index]
        let directory = try TemporaryDirectory()
        do {
            _ = try Self.load(text, in: directory)
            Issue.record("case \(index) loaded: \(phrase)")
        } catch {
            let lines = error.description.components(separatedBy: "\n")
            let expected = "\(directory.path("g.yaml")):\(place): "
            #expect(lines.contains { $0.hasPrefix(expected) && $0.contains(phrase) }, "case \(index): \(error.description)")
            // A node with a problem of its own is still known to the edges that name it.
            #expect(!error.description.contains("unknown node 'general'") && !error.description.contains("unknown node 'rev' in 'from:'; the nodes are master, math, general"))
        }
    }

    @Test func severalProblemsAreAllReportedInFileOrder() throws {
        let directory = try TemporaryDirectory()
        let text = Self.valid.replacingOccurrences(of: "role: general", with: "role: generl")
            .replacingOccurrences(of: "domain: REV", with: "domain: RVE")
        do {
            _ = try Self.load(text, in: directory)
            Issue.record("loaded")
        } catch {
            let lines = error.description.components(separatedBy: "\n")
            #expect(lines.count == 2 && lines[0].contains(":6:39: unknown domain") && lines[1].contains(":7:27: unknown role"), "\(error.description)")
        }
        // A file that is not YAML, and one that is missing, are graph errors too.
        #expect(throws: OctopusError.self) { try Self.load("nodes: [unclosed", in: directory) }
        #expect(throws: OctopusError.self) { try ModelGraphFile.load(directory.path("missing.yaml")) }
    }

    /// Too many nodes is one problem, not one more per edge naming them; and a file of thousands
    /// of bad edges lists the first problems and a count.
    @Test func aCountErrorIsNotFollowedByOneErrorPerEdge() throws {
        let directory = try TemporaryDirectory()
        let count = ModelGraphFile.maximumNodes + 1
        let nodes = (0..<count).map { "  - {name: n\($0), role: worker, domain: ADD, model: \(Self.model)}" }
        let edges = (1..<count).map { "  - {from: n0, to: n\($0), token: \"<nexa_\($0 - 1)>\"}" }
        let tooMany = "graph: big\nnodes:\n" + nodes.joined(separator: "\n") + "\nedges:\n" + edges.joined(separator: "\n")
        do {
            _ = try Self.load(tooMany, in: directory)
            Issue.record("loaded")
        } catch {
            #expect(error.description == "\(directory.path("g.yaml")):3:3: \(count) nodes; at most \(ModelGraphFile.maximumNodes)",
                    "\(error.description.prefix(400))")
        }
        let bad = (0..<300).map { "  - {from: master, to: nowhere\($0), token: \"<nexa_0>\"}" }
        let unknown = Self.valid.components(separatedBy: "edges:")[0] + "edges:\n" + bad.joined(separator: "\n")
        do {
            _ = try Self.load(unknown, in: directory)
            Issue.record("loaded")
        } catch {
            let lines = error.description.components(separatedBy: "\n")
            #expect(lines.count == ModelGraphFile.maximumProblemsShown + 1, "\(lines.count)")
            #expect(lines.first?.contains("unknown node 'nowhere0'") == true && lines.last == "… and 250 more problems like these",
                    "\(error.description.suffix(300))")
        }
    }

    @Test func theDrawingIsEscapedAndRenders() throws {
        let directory = try TemporaryDirectory()
        let graph = try Self.load(Self.valid, in: directory)
        var measurements = GraphMeasurements(routingAccuracy: 0.875, overallAccuracy: 0.5)
        measurements.nodeAccuracy = ["math": 0.95, "rev": 0.3]
        measurements.edgeShare = [GraphMeasurements.key("master", "math"): 0.6]
        measurements.misroutes = [GraphMeasurements.key("rev", "math"): 4, GraphMeasurements.key("nowhere", "math"): 2]
        let text = ModelGraphDrawing.dot(graph, measurements: measurements)
        #expect(text.contains("doubleoctagon") && text.contains("routing accuracy 0.875") && text.contains("accuracy 0.950"))
        #expect(text.contains("\"style\"") == false && text.contains("style=\"dashed\""))           // the general worker
        #expect(text.contains("<nexa_0>\\n60%") && text.contains("4 misrouted") && !text.contains("2 misrouted"))
        #expect(text.contains("accuracy 0.500"))
        let files = try ModelGraphDrawing.write(graph, measurements: measurements, name: "small", into: directory.url)
        #expect(files == ["small.dot", "small.svg", "small.pdf"])
        let svg = try String(contentsOfFile: directory.path("small.svg"), encoding: .utf8)
        #expect(svg.contains("<svg") && svg.contains("routing accuracy 0.875"))
    }

    @Test func dotMetacharactersInNamesCannotEscapeTheirStrings() throws {
        // Names are restricted to letters, digits, _ - . by the file reader; a graph built in
        // code may hold anything, and the drawing must still be one node per name.
        var graph = ModelGraph(name: "evil\"; x -> y; \"", nodes: [], edges: [], hopLimit: nil, vocabulary: 8)
        let shape = ModelGraph.Shape(layers: 1, dModel: 8, heads: 1, context: 4)
        graph.nodes = [ModelGraph.Node(name: "m\"] ; a -> b [x=\"", role: .master, shape: shape),
                       ModelGraph.Node(name: "w\\N{", role: .worker, shape: shape, domain: "ADD\n}")]
        graph.edges = [ModelGraph.Edge(from: graph.nodes[0].name, to: graph.nodes[1].name, token: "<a\"b>")]
        let directory = try TemporaryDirectory()
        _ = try ModelGraphDrawing.write(graph, name: "evil", into: directory.url)   // Graphviz parses it
        // Two nodes and one edge, as built: no statement was injected.
        let svg = try String(contentsOfFile: directory.path("evil.svg"), encoding: .utf8)
        #expect(svg.components(separatedBy: "class=\"node\"").count - 1 == 2)
        #expect(svg.components(separatedBy: "class=\"edge\"").count - 1 == 1)
        #expect(ModelGraphDrawing.dot(graph).contains("m\\\"] ; a -> b [x=\\\""))
    }

    @Test func loomGraphDrawChecksAndDraws() throws {
        let directory = try TemporaryDirectory()
        #expect(FileManager.default.createFile(atPath: directory.path("g.yaml"), contents: Data(Self.valid.utf8)))
        let drawn = try LoomProcess.run(["graph", "draw", directory.path("g.yaml"), "--out", directory.path("out")])
        #expect(drawn.status == 0, "\(drawn.standardError)")
        #expect(drawn.standardOutput.contains("small: 1 master, 3 worker(s), 5 edge(s)"))
        #expect(FileManager.default.fileExists(atPath: directory.path("out/small.pdf")))
        #expect(FileManager.default.createFile(atPath: directory.path("bad.yaml"),
                                               contents: Data(Self.valid.replacingOccurrences(of: "hop_limit: 2\n", with: "").utf8)))
        let refused = try LoomProcess.run(["graph", "draw", directory.path("bad.yaml")])
        #expect(refused.status == 2 && refused.standardError.contains("bad.yaml:12:5: ") && refused.standardError.contains("form a cycle"), "\(refused.standardError)")
    }
}
