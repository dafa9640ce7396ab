import Foundation
import Models

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
        let vocabulary = data.vocabulary
        var answers = queries.map { Answer(query: $0) }
        var work: [String: [(index: Int, tokens: [Int32])]] = [:]
        for (i, route) in try self.route(queries).enumerated() {
            answers[i].route = route.output
            answers[i].failure = route.failure
            answers[i].routeSeconds = route.seconds
            guard let node = route.node, let output = route.output else { continue }
            answers[i].node = node.name
            work[node.name, default: []].append((i, try data.prompt(output.canonical)))
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

    /// One query's routing: the master's parsed output and the node its token names (nil when
    /// the output did not parse or names no edge), and when it came back.
    public struct Route: Sendable {
        public var output: MasterOutput?
        public var node: ModelGraph.Node?
        public var failure: String?
        public var seconds: Double
    }

    /// The master's routing of `queries`, in order (a query it cannot read is a failure too).
    public func route(_ queries: [String]) throws -> [Route] {
        guard let master = graph.master else { throw OctopusError.configuration("the graph \(graph.name) has no master") }
        var routes = queries.map { _ in Route(seconds: 0) }
        var prompts: [(index: Int, tokens: [Int32])] = []
        for (i, query) in queries.enumerated() {
            do { prompts.append((i, try data.prompt(query))) } catch { routes[i].failure = "the query cannot be read: \(error)" }
        }
        let outputs = try run(prompts.map(\.tokens), on: master, maxNewTokens: master.shape.context, stop: data.vocabulary.endOfCallToken)
        for ((i, _), (output, seconds)) in zip(prompts, outputs) {
            routes[i].seconds = seconds
            do {
                let parsed = try MasterOutput.parse(output, vocabulary: data.vocabulary)
                routes[i].output = parsed
                if let edge = graph.edges(from: master.name).first(where: { FunctionalToken.index($0.token) == parsed.node }) {
                    routes[i].node = graph.node(edge.to)
                } else {
                    routes[i].failure = "the master emitted <nexa_\(parsed.node)>, which names none of its edges"
                }
            } catch {
                routes[i].failure = "routing failure: \(error)"
            }
        }
        return routes
    }

    /// `prompts` on `node`'s model in batches: each output and when its batch came back.
    func run(_ prompts: [[Int32]], on node: ModelGraph.Node, maxNewTokens: Int, stop: Int32) throws -> [([Int32], Double)] {
        guard !prompts.isEmpty else { return [] }
        guard let checkpoint = node.checkpoint else {
            throw OctopusError.configuration("node '\(node.name)' has no checkpoint: in the graph file; train it with octopus.train first")
        }
        // Ids mean nothing across vocabularies: a model trained for another graph would read garbage.
        let manifest = try Checkpoint.manifest(at: URL(fileURLWithPath: checkpoint))
        guard manifest.model.vocabulary == data.vocabulary.size else {
            throw OctopusError.configuration("node '\(node.name)': \(checkpoint) holds a model of \(manifest.model.vocabulary) tokens, but the graph "
                                             + "\(graph.name) speaks \(data.vocabulary.size) (\(data.vocabulary.nodeCount) functional tokens); "
                                             + "train it from this graph file")
        }
        // A prompt longer than the model's context cannot be read (a raw query forwarded to a
        // worker of short context, under no_rewrite): its output is empty, an answer that is wrong.
        let fitting = prompts.indices.filter { prompts[$0].count <= manifest.model.context }
        let batches = stride(from: 0, to: fitting.count, by: batchSize).map {
            GenerationBatch(checkpoint: checkpoint, prompts: fitting[$0..<min(fitting.count, $0 + batchSize)].map { prompts[$0] },
                            maxNewTokens: maxNewTokens, stop: [stop])
        }
        var results = [([Int32], Double)](repeating: ([], 0), count: prompts.count)
        let generated = try generator.generate(batches, vocabulary: data.vocabulary.size).flatMap { result in result.outputs.map { ($0, result.seconds) } }
        for (index, output) in zip(fitting, generated) { results[index] = output }
        return results
    }
}
