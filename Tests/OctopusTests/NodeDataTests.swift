import Foundation
import Models
import ProcessTestSupport
import Testing
@testable import Octopus

/// Each node's training data: the master learns to route and rewrite, workers to answer, and
/// the examples fit the contexts the study's graph gives its models.
@Suite struct NodeDataTests {
    static func graph() throws -> ModelGraph {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("experiments/octopus/graph.yaml")
        return try ModelGraphFile.load(file.path)
    }

    @Test func theMasterRoutesAndRewritesAndWorkersAnswer() throws {
        let graph = try Self.graph()
        let data = try NodeData(graph: graph)
        let master = graph.master!, rev = graph.node("rev")!, general = graph.node("general")!
        #expect(data.domains(of: master) == Domain.allCases && data.domains(of: rev) == [.reverse] && data.domains(of: general) == Domain.allCases)
        #expect(data.route(for: .reverse) == 1 && data.route(for: .fact) == 5)
        for (query, example) in try data.examples(for: master, split: .test, count: 200, seed: 3) {
            #expect(example.prompt.last == data.vocabulary.endOfCallToken)
            #expect(try data.vocabulary.decode(Array(example.prompt.dropLast())) == query.query)
            let output = try MasterOutput.parse(example.completion, vocabulary: data.vocabulary)
            #expect(output.node == data.route(for: query.domain) && output.canonical == query.canonical)
            #expect(query.template.split == .test)
        }
        for (query, example) in try data.examples(for: rev, split: .train, count: 100, seed: 3) {
            #expect(query.domain == .reverse && query.template.split == .train)
            #expect(try data.vocabulary.decode(example.completion) == query.answer + OctopusVocabulary.endOfAnswer)
            #expect(try Domain.answer(canonical: query.canonical) == query.answer)
        }
    }

    @Test func theStudysGraphGivesItsModelsContextEnough() throws {
        let graph = try Self.graph()
        let data = try NodeData(graph: graph)
        for node in graph.nodes {
            let examples = try data.examples(for: node, split: .train, count: 3_000, seed: 1).map(\.example)
                + data.examples(for: node, split: .test, count: 1_000, seed: 1).map(\.example)
                + data.chainExamples(for: node, split: .train, count: 120, seed: 1).map(\.example)
                + data.chainExamples(for: node, split: .test, count: 40, seed: 1).map(\.example)
            #expect(NodeData.contextNeeded(examples) <= node.shape.context, "\(node.name) needs \(NodeData.contextNeeded(examples))")
        }
    }

    @Test func theGeneralistAnswersRawQueriesOfEveryRoutedDomain() throws {
        let graph = try Self.graph()
        let data = try NodeData(graph: graph)
        let examples = try data.examples(for: graph.master!, split: .train, count: 300, seed: 9, generalist: true)
        #expect(Set(examples.map(\.query.domain)) == Set(Domain.allCases))
        for (query, example) in examples {
            #expect(try data.vocabulary.decode(Array(example.prompt.dropLast())) == query.query)
            #expect(try data.vocabulary.decode(example.completion) == query.answer + OctopusVocabulary.endOfAnswer)
        }
    }

    @Test func aNodeWithoutDataIsAnError() throws {
        var graph = try Self.graph()
        graph.nodes.append(ModelGraph.Node(name: "reader", role: .worker, shape: graph.nodes[1].shape, corpus: "/tmp/x.txt"))
        let data = try NodeData(graph: graph)
        #expect(throws: OctopusError.self) { try data.examples(for: graph.node("reader")!, split: .train, count: 3, seed: 0) }
        #expect(throws: OctopusError.self) { try data.examples(for: graph.node("rev")!, split: .train, count: -1, seed: 0) }
    }
}
