import Foundation
import Models
import ProcessTestSupport
import Testing
@testable import Octopus

/// Two-hop queries: the master's chain call, the first worker's hand-off, and the server that
/// follows worker → worker edges.
@Suite struct ChainTests {
    @Test func aChainCallNamesBothStepsAndFillsTheSecond() throws {
        let chain = ChainExample(query: "reverse the capital of peru",
                                 steps: [ChainStep(domain: .fact, canonical: "FACT peru", answer: "lima"),
                                         ChainStep(domain: .reverse, canonical: "REV lima", answer: "amil")], answer: "amil")
        #expect(ChainCall.text(chain) == "FACT peru : REV ?")
        let parts = try #require(ChainCall.split("FACT peru : REV ?"))
        #expect(parts.first == "FACT peru" && ChainCall.fill(parts.continuation, with: "lima") == "REV lima")
        #expect(ChainCall.template(ChainStep(domain: .add, canonical: "ADD 52 5", answer: "57")) == "ADD ? 5")
        #expect(ChainCall.template(ChainStep(domain: .count, canonical: "CNT a lima", answer: "1")) == "CNT a ?")
        #expect(ChainCall.split("REV lima") == nil && ChainCall.split(" : REV ?") == nil)
        // The call fits the master's output grammar.
        let vocabulary = try OctopusVocabulary(nodeCount: 7)
        let output = MasterOutput(node: 5, canonical: ChainCall.text(chain))
        #expect(try MasterOutput.parse(output.tokens(in: vocabulary), vocabulary: vocabulary) == output)
    }

    @Test func theMasterAndTheFirstWorkerLearnTheirPartsOfTheChainsTheGraphCarries() throws {
        let graph = try NodeDataTests.graph()
        let data = try NodeData(graph: graph)
        let master = graph.master!
        let fromMaster = try data.chainExamples(for: master, split: .train, count: 200, seed: 1)
        #expect(fromMaster.count == 200)
        for (chain, example) in fromMaster {
            #expect(data.carries(chain))
            let call = try MasterOutput.parse(example.completion, vocabulary: data.vocabulary)
            #expect(call.node == data.route(for: chain.steps[0].domain) && call.canonical == ChainCall.text(chain))
        }
        // The fact worker hands FACT chains on: its answer filled into the second query.
        let fact = graph.node("fact")!
        let handOffs = try data.chainExamples(for: fact, split: .test, count: 100, seed: 2)
        #expect(!handOffs.isEmpty)
        for (chain, example) in handOffs {
            #expect(chain.steps[0].domain == .fact)
            let next = try MasterOutput.parse(example.completion, vocabulary: data.vocabulary)
            let target = graph.edges(from: "fact").first { FunctionalToken.index($0.token) == next.node }.flatMap { graph.node($0.to) }
            #expect(target?.domain == chain.steps[1].domain.name)
            #expect(next.canonical == ChainCall.fill(ChainCall.split(ChainCall.text(chain))!.continuation, with: chain.steps[0].answer))
            #expect(try Domain.answer(canonical: next.canonical) == chain.answer)
        }
        // A worker in no chain the graph carries, and the general worker, learn none.
        #expect(try data.chainExamples(for: graph.node("sort")!, split: .train, count: 50, seed: 1).isEmpty)
        #expect(try data.chainExamples(for: graph.node("general")!, split: .train, count: 50, seed: 1).isEmpty)
    }

    /// Model outputs scripted by checkpoint and prompt text, to test how the server follows
    /// hand-offs (the models' own behaviour is tested by the decoding and evaluation tests).
    struct ScriptedGenerator: Generator {
        let vocabulary: OctopusVocabulary
        let script: [String: [String: String]]      // checkpoint → prompt (without <nexa_end>) → output text
        func generate(_ batches: [GenerationBatch], vocabulary size: Int) throws -> [GenerationResult] {
            try batches.map { batch in
                GenerationResult(outputs: try batch.prompts.map { prompt in
                    let text = try vocabulary.decode(Array(prompt.dropLast()))
                    return try vocabulary.encode(script[batch.checkpoint]?[text] ?? "zzz<eoa>")
                }, seconds: 0)
            }
        }
    }

    @Test func theServerFollowsHandOffsAlongWorkerEdgesUpToTheHopLimit() throws {
        let scratch = try TemporaryDirectory()
        // Checkpoint manifests the server checks (the vocabulary of K = 3); the weights are never read.
        let vocabulary = try OctopusVocabulary(nodeCount: 3)
        for name in ["master", "fact", "rev"] {
            let config = ModelConfig(vocabulary: vocabulary.size, context: name == "master" ? 96 : 32, layers: 1, dModel: 8, heads: 1)
            let model = try Transformer(config: config, seed: 1, maxBatch: 1, threads: 1)
            try Checkpoint.save(to: scratch.url.appendingPathComponent(name), step: 0, config: config, parameters: model.parameters,
                                optimizer: SGD(count: model.parameters.count, momentum: 0))
        }
        let shape = "model: {layers: 1, d_model: 8, heads: 1, context: 32}"
        func graphFile(hopLimit: Int) throws -> ModelGraph {
            try """
                graph: chained
                hop_limit: \(hopLimit)
                nodes:
                  - {name: master, role: master, model: {layers: 1, d_model: 8, heads: 1, context: 96}, checkpoint: master}
                  - {name: fact, role: worker, domain: FACT, \(shape), checkpoint: fact}
                  - {name: rev, role: worker, domain: REV, \(shape), checkpoint: rev}
                edges:
                  - {from: master, to: fact, token: "<nexa_1>"}
                  - {from: master, to: rev, token: "<nexa_2>"}
                  - {from: fact, to: rev, token: "<nexa_2>"}
                  - {from: rev, to: rev, token: "<nexa_2>"}
                """.write(toFile: scratch.path("g.yaml"), atomically: true, encoding: .utf8)
            return try ModelGraphFile.load(scratch.path("g.yaml"))
        }
        let m = scratch.path("master"), f = scratch.path("fact"), r = scratch.path("rev")
        let script: [String: [String: String]] = [
            m: ["reverse the capital of peru": "<nexa_1>('FACT peru : REV ?')<nexa_end>", "flip the word 'stone' around": "<nexa_2>('REV stone')<nexa_end>",
                "nonsense": "<nexa_1>('FACT peru'"],
            f: ["FACT peru : REV ?": "<nexa_2>('REV lima')<nexa_end>"],
            r: ["REV lima": "amil<eoa>", "REV stone": "<nexa_2>('REV again')<nexa_end>", "REV again": "<nexa_2>('REV more')<nexa_end>",
                "REV more": "erom<eoa>"],
        ]
        let server = try GraphServer(graph: try graphFile(hopLimit: 2), generator: ScriptedGenerator(vocabulary: vocabulary, script: script))
        let answers = try server.answer(["reverse the capital of peru", "flip the word 'stone' around", "nonsense"])
        #expect(answers[0].answer == "amil" && answers[0].node == "rev" && answers[0].hops == 2)
        #expect(answers[1].answer == "erom" && answers[1].hops == 3)            // rev → rev → rev: two hand-offs, the limit
        #expect(answers[2].answer == nil && answers[2].failure?.contains("routing failure") == true)
        // With hop_limit 1 a query may be handed on once: the second hand-off is the answer, as it is.
        let limited = try GraphServer(graph: try graphFile(hopLimit: 1), generator: ScriptedGenerator(vocabulary: vocabulary, script: script))
        let stopped = try limited.answer(["flip the word 'stone' around"])
        #expect(stopped[0].hops == 2 && stopped[0].answer == "<nexa_2>('REV more')<nexa_end>", "\(stopped)")
    }
}
