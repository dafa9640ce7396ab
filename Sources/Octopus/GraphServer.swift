import Foundation

/// Answers user queries with a trained graph: the master's prompts go out as batches, each
/// output is parsed strictly (`MasterOutput`; anything else is a routing failure, never a
/// crash), each routed query goes to the node its functional token names, and that node's
/// answer comes back. Where the models run is the `Generator`'s business: on worker processes
/// through the cluster, or in this process.
public struct GraphServer {
    /// One query's way through the graph.
    public struct Answer: Sendable, Equatable {
        public var query: String
        /// The master's parsed output, or nil when it was unparsable.
        public var route: MasterOutput?
        /// Why the query has no answer (a routing failure, a token with no edge), or nil.
        public var failure: String?
        /// The node that answered.
        public var node: String?
        /// The answer, up to `<eoa>`.
        public var answer: String?
        /// When the master's batch and the worker's batch came back, seconds from the start.
        public var routeSeconds: Double = 0, answerSeconds: Double = 0
    }

    public let graph: ModelGraph
    public let data: NodeData
    public let generator: any Generator
    /// Prompts per generation batch (one task each on the cluster).
    public var batchSize = 16

    public init(graph: ModelGraph, generator: any Generator) throws(OctopusError) {
        self.graph = graph
        data = try NodeData(graph: graph)
        self.generator = generator
    }

    /// Routes and answers `queries`, in order.
    /// - Throws: `OctopusError` for a graph whose master or routed node has no checkpoint, or a
    ///   generation batch that failed for good.
    public func answer(_ queries: [String]) throws -> [Answer] {
        guard let master = graph.master else { throw OctopusError.configuration("the graph \(graph.name) has no master") }
        let vocabulary = data.vocabulary
        var answers = queries.map { Answer(query: $0) }
        var prompts: [(index: Int, tokens: [Int32])] = []
        for (i, query) in queries.enumerated() {
            do { prompts.append((i, try data.prompt(query))) } catch { answers[i].failure = "the query cannot be read: \(error)" }
        }
        let routed = try run(prompts.map(\.tokens), on: master, maxNewTokens: master.shape.context, stop: vocabulary.endOfCallToken)
        var work: [String: [(index: Int, tokens: [Int32])]] = [:]
        for ((i, _), (output, seconds)) in zip(prompts, routed) {
            answers[i].routeSeconds = seconds
            do {
                let route = try MasterOutput.parse(output, vocabulary: vocabulary)
                answers[i].route = route
                guard let edge = graph.edges(from: master.name).first(where: { FunctionalToken.index($0.token) == route.node }) else {
                    answers[i].failure = "the master emitted <nexa_\(route.node)>, which names none of its edges"
                    continue
                }
                answers[i].node = edge.to
                work[edge.to, default: []].append((i, try data.prompt(route.canonical)))
            } catch {
                answers[i].failure = "routing failure: \(error)"
            }
        }
        for (name, items) in work.sorted(by: { $0.key < $1.key }) {
            let node = graph.node(name)!
            let outputs = try run(items.map(\.tokens), on: node, maxNewTokens: node.shape.context, stop: vocabulary.endOfAnswerToken)
            for ((i, _), (output, seconds)) in zip(items, outputs) {
                answers[i].answerSeconds = seconds
                let text = output.last == vocabulary.endOfAnswerToken ? Array(output.dropLast()) : output
                answers[i].answer = (try? vocabulary.decode(text)) ?? ""
            }
        }
        return answers
    }

    /// `prompts` on `node`'s model in batches: each output and when its batch came back.
    func run(_ prompts: [[Int32]], on node: ModelGraph.Node, maxNewTokens: Int, stop: Int32) throws -> [([Int32], Double)] {
        guard !prompts.isEmpty else { return [] }
        guard let checkpoint = node.checkpoint else {
            throw OctopusError.configuration("node '\(node.name)' has no checkpoint: in the graph file; train it with octopus.train first")
        }
        let batches = stride(from: 0, to: prompts.count, by: batchSize).map {
            GenerationBatch(checkpoint: checkpoint, prompts: Array(prompts[$0..<min(prompts.count, $0 + batchSize)]),
                            maxNewTokens: maxNewTokens, stop: [stop])
        }
        return try generator.generate(batches, vocabulary: data.vocabulary.size).flatMap { result in result.outputs.map { ($0, result.seconds) } }
    }
}
