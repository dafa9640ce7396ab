import Foundation
import TensorCore

/// Runs the test queries under one `Condition` and scores the answers by exact match.
public struct GraphEvaluation {
    /// What one condition measured.
    public struct Outcome: Sendable, Equatable {
        public var condition: Condition
        public var correct = 0, total = 0
        /// Queries the master routed to their domain's worker (conditions that use the master).
        public var routedCorrectly = 0, routed = 0
        /// Master outputs that did not parse.
        public var unparsable = 0
        /// Master outputs that named the right worker and wrote the canonical query exactly.
        public var rewrittenExactly = 0
        /// Routing counts: true node → chosen node ("unparsable" when the output did not parse).
        public var confusion: [String: [String: Int]] = [:]
        /// Per answering node: (correct, total).
        public var perNode: [String: (correct: Int, total: Int)] = [:]
        /// Per query, when its routing and answer came back (seconds from the condition's start).
        public var routeSeconds: [Double] = [], answerSeconds: [Double] = []

        public var accuracy: Double { total == 0 ? 0 : Double(correct) / Double(total) }
        public var routingAccuracy: Double? { routed == 0 ? nil : Double(routedCorrectly) / Double(routed) }
        public var rewritingAccuracy: Double? { routed == 0 ? nil : Double(rewrittenExactly) / Double(routed) }

        public static func == (a: Outcome, b: Outcome) -> Bool {
            a.condition == b.condition && a.correct == b.correct && a.total == b.total && a.routedCorrectly == b.routedCorrectly
                && a.routed == b.routed && a.confusion == b.confusion
        }
    }

    public let server: GraphServer
    public let queries: [QueryExample]
    /// The generalist baseline's checkpoint (condition `generalist`), if trained.
    public var generalist: String?
    public var seed: UInt64 = 7

    public init(server: GraphServer, queries: [QueryExample], generalist: String? = nil) {
        self.server = server; self.queries = queries; self.generalist = generalist
    }

    var graph: ModelGraph { server.graph }
    var data: NodeData { server.data }

    /// The node that answers `domain`'s queries when routed correctly.
    func worker(for domain: Domain) -> ModelGraph.Node? {
        data.route(for: domain).flatMap { route in
            graph.master.flatMap { master in graph.edges(from: master.name).first { FunctionalToken.index($0.token) == route } }
        }.flatMap { graph.node($0.to) }
    }

    /// Two-hop `chains` through the whole graph (the master, the first worker, its hand-off):
    /// exact-match accuracy, and how many of them took the two hops.
    public func runChains(_ chains: [ChainExample]) throws -> (accuracy: Double, twoHops: Int) {
        guard !chains.isEmpty else { return (0, 0) }
        let routes = try server.route(chains.map(\.query))
        var calls: [(index: Int, node: ModelGraph.Node, prompt: [Int32])] = []
        for (i, route) in routes.enumerated() {
            guard let output = route.output, let node = route.node else { continue }
            calls.append((i, node, try data.prompt(output.canonical)))
        }
        var correct = 0, twoHops = 0
        for (call, resolution) in zip(calls, try server.resolve(calls.map { ($0.node, $0.prompt) })) {
            if resolution.answer == chains[call.index].answer { correct += 1 }
            if resolution.hops >= 2 { twoHops += 1 }
        }
        return (Double(correct) / Double(chains.count), twoHops)
    }

    public func run(_ condition: Condition) throws -> Outcome {
        var outcome = Outcome(condition: condition)
        var calls: [(index: Int, node: ModelGraph.Node, prompt: [Int32])] = []
        switch condition {
        case .graph, .noRewrite, .generalWorker:
            let routes = try server.route(queries.map(\.query))
            let general = graph.nodes.first { $0.role == .general }
            if condition == .generalWorker && general == nil {
                throw OctopusError.configuration("the graph \(graph.name) has no general worker (role: general) for condition general_worker")
            }
            for (i, (query, route)) in zip(queries, routes).enumerated() {
                outcome.routeSeconds.append(route.seconds)
                let truth = worker(for: query.domain)?.name ?? "none"
                outcome.routed += 1
                guard let output = route.output, let chosen = route.node else {
                    outcome.unparsable += 1
                    outcome.confusion[truth, default: [:]]["unparsable", default: 0] += 1
                    continue
                }
                outcome.confusion[truth, default: [:]][chosen.name, default: 0] += 1
                if chosen.name == truth {
                    outcome.routedCorrectly += 1
                    if output.canonical == query.canonical { outcome.rewrittenExactly += 1 }
                }
                switch condition {
                case .graph: calls.append((i, chosen, try data.prompt(output.canonical)))
                case .noRewrite: calls.append((i, chosen, try data.prompt(query.query)))
                default: calls.append((i, general!, try data.prompt(output.canonical)))
                }
            }
        case .oracle, .random:
            var random = SeededRandom(seed: seed)
            let workers = graph.master.map { graph.edges(from: $0.name) }?.compactMap { graph.node($0.to) }.filter { $0.role == .worker } ?? []
            for (i, query) in queries.enumerated() {
                let node = condition == .oracle ? worker(for: query.domain) : workers.isEmpty ? nil : workers[Int(random.next() % UInt64(workers.count))]
                guard let node else { throw OctopusError.configuration("no worker of domain \(query.domain.name) in the graph \(graph.name)") }
                calls.append((i, node, try data.prompt(query.canonical)))
            }
        case .generalist:
            guard let generalist else {
                throw OctopusError.configuration("condition generalist needs the generalist's checkpoint (train it with octopus.train, data: generalist)")
            }
            let node = ModelGraph.Node(name: "generalist", role: .general, shape: graph.master!.shape, checkpoint: generalist)
            calls = try queries.indices.map { ($0, node, try data.prompt(queries[$0].query)) }
        }
        var answers = [String?](repeating: nil, count: queries.count)
        for (call, resolution) in zip(calls, try server.resolve(calls.map { ($0.node, $0.prompt) })) {
            answers[call.index] = resolution.answer
            outcome.answerSeconds.append(resolution.seconds)
            // Accuracy per node: on the queries routed to it (where the query first went).
            let right = resolution.answer == queries[call.index].answer
            outcome.perNode[call.node.name, default: (0, 0)].total += 1
            if right { outcome.perNode[call.node.name, default: (0, 0)].correct += 1 }
        }
        outcome.total = queries.count
        outcome.correct = zip(answers, queries).filter { $0.0 == $0.1.answer }.count
        return outcome
    }
}
