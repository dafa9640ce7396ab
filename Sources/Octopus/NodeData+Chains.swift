import Models

/// Two-hop training data: the master learns to emit a `ChainCall` to the first step's worker;
/// that worker learns to answer its part and hand the filled second query on along its
/// worker → worker edge (`<nexa_j>('REV lima')<nexa_end>`). Only chains the graph can carry are
/// used: the master has an edge to a worker of the first step's domain, and that worker has an
/// edge to a worker of the second's.
extension NodeData {
    /// `node`'s edge to a worker of `domain`, if it has one.
    public func handOff(from node: ModelGraph.Node, to domain: Domain) -> ModelGraph.Edge? {
        graph.edges(from: node.name).first { graph.node($0.to)?.role == .worker && graph.node($0.to)?.domain == domain.name }
    }

    /// The worker the master sends `domain`'s queries to.
    func routedWorker(_ domain: Domain) -> ModelGraph.Node? {
        guard let master = graph.master, let edge = handOff(from: master, to: domain) else { return nil }
        return graph.node(edge.to)
    }

    /// Whether the graph carries `chain`: master → first worker → second worker.
    public func carries(_ chain: ChainExample) -> Bool {
        guard chain.steps.count == 2, let first = routedWorker(chain.steps[0].domain) else { return false }
        return handOff(from: first, to: chain.steps[1].domain) != nil
    }

    /// `chain` as `node` is trained on it, or nil when `node` plays no part in it.
    public func chainExample(_ chain: ChainExample, for node: ModelGraph.Node) throws(OctopusError) -> PromptCompletionTask.Example? {
        guard carries(chain) else { return nil }
        let call = ChainCall.text(chain)
        switch node.role {
        case .master:
            guard let route = route(for: chain.steps[0].domain) else { return nil }
            return .init(prompt: try prompt(chain.query), completion: try MasterOutput(node: route, canonical: call).tokens(in: vocabulary))
        case .worker:
            guard node.domain == chain.steps[0].domain.name, let edge = handOff(from: node, to: chain.steps[1].domain),
                  let next = FunctionalToken.index(edge.token) else { return nil }
            return .init(prompt: try prompt(call),
                         completion: try MasterOutput(node: next, canonical: chain.steps[1].canonical).tokens(in: vocabulary))
        case .general:
            return nil
        }
    }

    /// Up to `count` two-hop chains of `split` that `node` takes part in, as its examples; empty
    /// when it takes part in none (drawn in rounds, at most 20 rounds of 4 × `count`).
    public func chainExamples(for node: ModelGraph.Node, split: Split, count: Int,
                              seed: UInt64) throws(OctopusError) -> [(chain: ChainExample, example: PromptCompletionTask.Example)] {
        guard count > 0, node.role != .general else { return [] }
        var generator = QueryGenerator(seed: seed ^ 0xC4A1_4000 ^ (split == .train ? 0 : 0x7E57))
        var result: [(ChainExample, PromptCompletionTask.Example)] = []
        for _ in 0..<20 where result.count < count {
            for chain in try generator.chains(for: split, count: min(QueryGenerator.maximumCount, 4 * count), hops: 2) where result.count < count {
                if let example = try chainExample(chain, for: node) { result.append((chain, example)) }
            }
            if result.isEmpty { break }     // the node takes part in no chain the graph carries
        }
        return result
    }
}
