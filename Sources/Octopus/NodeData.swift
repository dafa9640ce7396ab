import Models

/// What each node of a graph is trained and tested on, as prompt → completion token sequences
/// (`PromptCompletionTask`). Every prompt ends with `<nexa_end>` (the query is over):
/// - the master: a user query → `<nexa_i>('canonical')<nexa_end>`, i the token of its edge to the
///   worker of the query's domain;
/// - a worker: its domain's canonical query → the answer, then `<eoa>`;
/// - the general worker: every domain's canonical query → the answer, then `<eoa>`.
/// Training examples come from the train templates and test examples from the disjoint test
/// templates, so the master's rewriting is measured on phrasings it never saw.
public struct NodeData: Sendable {
    public let graph: ModelGraph
    public let vocabulary: OctopusVocabulary

    /// - Throws: `OctopusError.configuration` for a graph whose tokens the study's vocabulary cannot hold.
    public init(graph: ModelGraph) throws(OctopusError) {
        self.graph = graph
        let count = (graph.edges.compactMap { FunctionalToken.index($0.token) }.max() ?? 0) + 1
        vocabulary = try OctopusVocabulary(nodeCount: count)
    }

    /// The master's token for `domain`: i of `<nexa_i>` on its edge to the first worker of that domain, or nil.
    public func route(for domain: Domain) -> Int? {
        guard let master = graph.master else { return nil }
        for edge in graph.edges(from: master.name) where graph.node(edge.to)?.role == .worker && graph.node(edge.to)?.domain == domain.name {
            return FunctionalToken.index(edge.token)
        }
        return nil
    }

    /// The domains `node` answers or routes: a worker's own; every domain for the general worker;
    /// for the master, the domains of the workers it has edges to.
    public func domains(of node: ModelGraph.Node) -> [Domain] {
        switch node.role {
        case .worker: Domain.allCases.filter { $0.name == node.domain }
        case .general: Domain.allCases
        case .master: Domain.allCases.filter { route(for: $0) != nil }
        }
    }

    /// The prompt of a user query or a canonical query: its characters, then `<nexa_end>`.
    public func prompt(_ text: String) throws(OctopusError) -> [Int32] {
        try vocabulary.encode(text) + [vocabulary.endOfCallToken]
    }

    /// `example` as `node` is trained on it.
    public func example(_ example: QueryExample, for node: ModelGraph.Node) throws(OctopusError) -> PromptCompletionTask.Example {
        switch node.role {
        case .master:
            guard let route = route(for: example.domain) else {
                throw .configuration("the master '\(node.name)' has no edge to a worker of domain \(example.domain.name)")
            }
            return .init(prompt: try prompt(example.query),
                         completion: try MasterOutput(node: route, canonical: example.canonical).tokens(in: vocabulary))
        case .worker, .general:
            return .init(prompt: try prompt(example.canonical),
                         completion: try vocabulary.encode(example.answer) + [vocabulary.endOfAnswerToken])
        }
    }

    /// `example` as the generalist baseline is trained on it: the raw user query → the answer `<eoa>`.
    public func generalistExample(_ example: QueryExample) throws(OctopusError) -> PromptCompletionTask.Example {
        .init(prompt: try prompt(example.query), completion: try vocabulary.encode(example.answer) + [vocabulary.endOfAnswerToken])
    }

    /// `count` generated examples of `split` for `node`, and the queries they came from; with
    /// `generalist`, the generalist's examples over the master's domains instead (`node` gives only the shape).
    /// - Throws: for a node with no domain (a corpus node, a master without worker edges) or a
    ///   count outside `QueryGenerator`'s bounds.
    public func examples(for node: ModelGraph.Node, split: Split, count: Int, seed: UInt64,
                         generalist: Bool = false) throws(OctopusError) -> [(query: QueryExample, example: PromptCompletionTask.Example)] {
        let domains = generalist ? graph.master.map { self.domains(of: $0) } ?? [] : self.domains(of: node)
        guard !domains.isEmpty else {
            throw .configuration("node '\(node.name)' has no domain to generate data for (a corpus node, or a master without edges to workers)")
        }
        var generator = QueryGenerator(seed: seed ^ (split == .train ? 0 : 0x7E57_7E57))
        var result: [(QueryExample, PromptCompletionTask.Example)] = []
        for query in try generator.examples(for: split, count: count, domains: domains) {
            result.append((query, generalist ? try generalistExample(query) : try example(query, for: node)))
        }
        return result
    }

    /// The version of the query generator and templates behind every node's data; raised
    /// whenever the examples a seed gives change, so old checkpoints are not resumed on new data.
    public static let generatorVersion = 2

    /// The longest prompt + completion among `examples`, minus one: the context a model needs to train on them.
    public static func contextNeeded(_ examples: [PromptCompletionTask.Example]) -> Int {
        (examples.map { $0.prompt.count + $0.completion.count }.max() ?? 1) - 1
    }
}
