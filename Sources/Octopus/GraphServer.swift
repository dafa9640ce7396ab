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
        /// When the master's batch and the last worker's batch came back, seconds from the start of each stage.
        public var routeSeconds: Double = 0, answerSeconds: Double = 0
        /// Nodes the query visited after the master.
        public var hops = 0
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
        var answers = queries.map { Answer(query: $0) }
        var calls: [(index: Int, node: ModelGraph.Node, prompt: [Int32])] = []
        for (i, route) in try self.route(queries).enumerated() {
            answers[i].route = route.output
            answers[i].failure = route.failure
            answers[i].routeSeconds = route.seconds
            guard let node = route.node, let output = route.output else { continue }
            calls.append((i, node, try data.prompt(output.canonical)))
        }
        for (call, resolution) in zip(calls, try resolve(calls.map { ($0.node, $0.prompt) })) {
            answers[call.index].node = resolution.node
            answers[call.index].answer = resolution.answer
            answers[call.index].answerSeconds = resolution.seconds
            answers[call.index].hops = resolution.hops
        }
        return answers
    }

    /// Where a call ended: the answer (up to `<eoa>`), the node that gave it, how many nodes the
    /// query visited after the master (2 when a worker handed it on once), and when the last
    /// answer came back (seconds from the start of `resolve`).
    public struct Resolution: Sendable, Equatable {
        public var answer: String
        public var node: String
        public var hops: Int
        public var seconds: Double
    }

    /// Runs each call (a node and its prompt) to its final answer, following hand-offs: a worker
    /// output that parses as a call (`<nexa_j>('…')<nexa_end>`) goes to the node of the worker's
    /// edge with that token, while the query has hops left (`hop_limit`, else one per node). An
    /// output that is neither an answer nor a hand-off along an edge is the answer, as it is.
    public func resolve(_ calls: [(node: ModelGraph.Node, prompt: [Int32])]) throws -> [Resolution] {
        let vocabulary = data.vocabulary, start = ContinuousClock.now
        var results = calls.map { Resolution(answer: "", node: $0.node.name, hops: 1, seconds: 0) }
        var pending = calls.indices.map { (index: $0, node: calls[$0].node, prompt: calls[$0].prompt) }
        let limit = 1 + (graph.hopLimit ?? graph.nodes.count)
        while !pending.isEmpty {
            var next: [(index: Int, node: ModelGraph.Node, prompt: [Int32])] = []
            var groups: [String: [(index: Int, node: ModelGraph.Node, prompt: [Int32])]] = [:]
            for call in pending { groups[call.node.name, default: []].append(call) }
            for (_, group) in groups.sorted(by: { $0.key < $1.key }) {
                let node = group[0].node
                let outputs = try run(group.map(\.prompt), on: node, maxNewTokens: node.shape.context,
                                      stop: [vocabulary.endOfAnswerToken, vocabulary.endOfCallToken])
                let seconds = (ContinuousClock.now - start).inMilliseconds / 1e3
                for (call, (output, _)) in zip(group, outputs) {
                    results[call.index].node = node.name
                    results[call.index].seconds = seconds
                    if output.last == vocabulary.endOfCallToken, results[call.index].hops < limit,
                       let handOff = try? MasterOutput.parse(output, vocabulary: vocabulary),
                       let edge = graph.edges(from: node.name).first(where: { FunctionalToken.index($0.token) == handOff.node }),
                       let target = graph.node(edge.to), target.role != .master, let prompt = try? data.prompt(handOff.canonical) {
                        results[call.index].hops += 1
                        next.append((call.index, target, prompt))
                        continue
                    }
                    let text = output.last == vocabulary.endOfAnswerToken ? Array(output.dropLast()) : output
                    results[call.index].answer = (try? vocabulary.decode(text)) ?? ""
                }
            }
            pending = next
        }
        return results
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
        let outputs = try run(prompts.map(\.tokens), on: master, maxNewTokens: master.shape.context, stop: [data.vocabulary.endOfCallToken])
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
    func run(_ prompts: [[Int32]], on node: ModelGraph.Node, maxNewTokens: Int, stop: [Int32]) throws -> [([Int32], Double)] {
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
                            maxNewTokens: maxNewTokens, stop: stop)
        }
        var results = [([Int32], Double)](repeating: ([], 0), count: prompts.count)
        let generated = try generator.generate(batches, vocabulary: data.vocabulary.size).flatMap { result in result.outputs.map { ($0, result.seconds) } }
        for (index, output) in zip(fitting, generated) { results[index] = output }
        return results
    }
}
