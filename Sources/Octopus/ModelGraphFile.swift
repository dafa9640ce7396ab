import Experiments
import Foundation
import Tasks

/// Reads a graph file (YAML, by the experiment files' reader) into a `ModelGraph`, checking it
/// whole: every problem is reported at once as `file:line:column: message`, sorted by place.
///
/// ```yaml
/// graph: octopus-small
/// hop_limit: 2                    # needed only if worker → worker edges form a cycle
/// nodes:
///   - {name: master, role: master, model: {layers: 2, d_model: 64, heads: 4, context: 96}}
///   - {name: math, role: worker, domain: ADD, model: {layers: 2, d_model: 64, heads: 4, context: 48}}
///   - {name: general, role: general, model: {layers: 2, d_model: 64, heads: 4, context: 48}}
/// edges:
///   - {from: master, to: math, token: "<nexa_0>"}
///   - {from: master, to: general, token: "<nexa_1>"}
/// ```
public enum ModelGraphFile {
    /// Limits on what a file may ask for, checked before anything is built.
    public static let maximumNodes = 256, maximumEdges = 4096, maximumHopLimit = 16, maximumNameLength = 64

    /// Problems listed in one error; a file of thousands of bad edges names the first ones and a count.
    static let maximumProblemsShown = 50

    static let topKeys = ["graph", "vocabulary", "hop_limit", "nodes", "edges"]
    static let nodeKeys = ["name", "role", "model", "domain", "corpus", "checkpoint"]
    static let modelKeys = ["layers", "d_model", "heads", "context"]
    static let edgeKeys = ["from", "to", "token"]

    /// Loads and checks `path`. Relative `corpus` and `checkpoint` paths are resolved against the file's folder.
    /// - Parameters:
    ///   - domains: the domain names a worker may name (default: the study's `Domain` names); nil accepts any.
    ///   - vocabulary: the models' vocabulary size when the file does not give one (nil: the
    ///     `OctopusVocabulary` of the file's functional tokens).
    /// - Throws: `OctopusError.graph` with one `file:line:column: message` line per problem.
    public static func load(_ path: String, domains: [String]? = Domain.allCases.map(\.name),
                            vocabulary: Int? = nil) throws(OctopusError) -> ModelGraph {
        let root: YAMLNode
        do { root = try YAMLReader.parse(contentsOf: path) } catch { throw .graph(error.description) }
        var reader = GraphReader(file: path, domains: domains)
        let graph = reader.graph(root, defaultVocabulary: vocabulary)
        return try finish(graph, reader: reader, path: path)
    }

    /// The graph with its paths resolved, or every problem the reader found.
    static func finish(_ graph: ModelGraph?, reader: GraphReader, path: String) throws(OctopusError) -> ModelGraph {
        guard reader.problems.isEmpty, var graph else {
            let lines = reader.problems.sorted { ($0.line, $0.column) < ($1.line, $1.column) }.map(\.description)
            let shown = lines.prefix(maximumProblemsShown)
            let rest = lines.count - shown.count
            throw .graph((shown + (rest > 0 ? ["… and \(rest) more problems like these"] : [])).joined(separator: "\n"))
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        for i in graph.nodes.indices {
            graph.nodes[i].corpus = graph.nodes[i].corpus.map { resolve($0, in: folder) }
            graph.nodes[i].checkpoint = graph.nodes[i].checkpoint.map { resolve($0, in: folder) }
        }
        return graph
    }

    static func resolve(_ path: String, in folder: URL) -> String {
        path.hasPrefix("/") ? path : folder.appendingPathComponent(path).standardizedFileURL.path
    }
}

/// One pass over a graph file's tree, collecting problems rather than stopping at the first.
struct GraphReader {
    let file: String
    let domains: [String]?
    var problems: [ExperimentError.Diagnostic] = []
    /// Names of nodes that had problems of their own: edges may still name them without a second error.
    var brokenNames: [String] = []

    init(file: String, domains: [String]?) { self.file = file; self.domains = domains }

    mutating func problem(_ message: String, at mark: YAMLMark) {
        problems.append(.init(file: mark.source ?? file, line: mark.line, column: mark.column, message))
    }

    /// The mapping's entries, with unknown keys reported (and a likely one suggested).
    mutating func entries(_ node: YAMLNode, allowed: [String], what: String) -> [String: (YAMLMark, YAMLNode)]? {
        guard case let .mapping(entries, _) = node else {
            problem("\(what) must be a mapping of \(allowed.joined(separator: ", ")), not \(node.kindName)", at: node.mark)
            return nil
        }
        var result: [String: (YAMLMark, YAMLNode)] = [:]
        for entry in entries {
            if allowed.contains(entry.key) {
                result[entry.key] = (entry.keyMark, entry.value)
            } else {
                let hint = nearestName(to: entry.key, among: allowed).map { "; did you mean '\($0)'?" } ?? "; \(what) takes \(allowed.joined(separator: ", "))"
                problem("unknown key '\(entry.key)' in \(what)\(hint)", at: entry.keyMark)
            }
        }
        return result
    }

    mutating func string(_ node: YAMLNode, _ what: String) -> String? {
        guard let text = node.scalarText, !text.isEmpty else {
            problem("\(what) must be a non-empty text, not \(node.kindName)", at: node.mark)
            return nil
        }
        return text
    }

    mutating func integer(_ node: YAMLNode, _ what: String, _ range: ClosedRange<Int>) -> Int? {
        guard let text = node.scalarText, let value = Int(text) else {
            problem("\(what) must be a whole number in \(range.lowerBound)...\(range.upperBound)", at: node.mark)
            return nil
        }
        guard range.contains(value) else {
            problem("\(what) is \(value); it must be in \(range.lowerBound)...\(range.upperBound)", at: node.mark)
            return nil
        }
        return value
    }

    /// A node or graph name: letters, digits, `_`, `-`, `.`; what DOT, file names and metric names all take.
    mutating func name(_ node: YAMLNode, _ what: String) -> String? {
        guard let text = string(node, what) else { return nil }
        guard text.count <= ModelGraphFile.maximumNameLength,
              text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_-.".contains($0)) }) else {
            problem("\(what) '\(text)' must be at most \(ModelGraphFile.maximumNameLength) letters, digits, '_', '-' or '.'", at: node.mark)
            return nil
        }
        return text
    }

    mutating func graph(_ root: YAMLNode, defaultVocabulary: Int?) -> ModelGraph? {
        guard let top = entries(root, allowed: ModelGraphFile.topKeys, what: "a graph file") else { return nil }
        let name = top["graph"].flatMap { self.name($0.1, "graph") }
        if top["graph"] == nil { problem("a graph file needs 'graph: NAME' at the top", at: root.mark) }
        let fileVocabulary = top["vocabulary"].flatMap { integer($0.1, "vocabulary", 2...65_536) }
        let hopLimit = top["hop_limit"].flatMap { integer($0.1, "hop_limit", 1...ModelGraphFile.maximumHopLimit) }
        var nodes: [(ModelGraph.Node, YAMLNode)] = []
        // Whether the list of nodes was read: without it every edge would name an "unknown node".
        var nodesRead = false
        if let (_, list) = top["nodes"] {
            if case let .sequence(items, mark) = list {
                if items.isEmpty { problem("nodes is empty; a graph needs a master and at least one worker", at: mark) }
                if items.count > ModelGraphFile.maximumNodes {
                    problem("\(items.count) nodes; at most \(ModelGraphFile.maximumNodes)", at: mark)
                } else {
                    for item in items { if let node = node(item) { nodes.append((node, item)) } }
                    nodesRead = true
                }
            } else {
                problem("nodes must be a list of nodes, not \(list.kindName)", at: list.mark)
            }
        } else {
            problem("a graph file needs 'nodes:', the list of models", at: root.mark)
        }
        var edges: [(ModelGraph.Edge, YAMLNode)] = []
        if let (_, list) = top["edges"] {
            if case let .sequence(items, mark) = list {
                if items.count > ModelGraphFile.maximumEdges {
                    problem("\(items.count) edges; at most \(ModelGraphFile.maximumEdges)", at: mark)
                } else {
                    for item in items { if let edge = edge(item) { edges.append((edge, item)) } }
                }
            } else {
                problem("edges must be a list of edges, not \(list.kindName)", at: list.mark)
            }
        }
        if nodesRead {
            var check = GraphChecks(reader: self, nodes: nodes, edges: edges, hopLimit: hopLimit,
                                    hopLimitMark: top["hop_limit"]?.1.mark, root: root)
            check.run()
            self = check.reader
        }
        guard let name, problems.isEmpty else { return nil }
        // Without one given: the study's vocabulary for K = one more than the largest <nexa_i> used.
        let count = (edges.compactMap { FunctionalToken.index($0.0.token) }.max() ?? 0) + 1
        let vocabulary = fileVocabulary ?? defaultVocabulary ?? (try? OctopusVocabulary(nodeCount: count).size) ?? 2
        return ModelGraph(name: name, nodes: nodes.map(\.0), edges: edges.map(\.0), hopLimit: hopLimit, vocabulary: vocabulary)
    }

    mutating func node(_ item: YAMLNode) -> ModelGraph.Node? {
        guard let fields = entries(item, allowed: ModelGraphFile.nodeKeys, what: "a node") else { return nil }
        guard let nameField = fields["name"] else {
            problem("a node needs 'name:'", at: item.mark)
            return nil
        }
        let name = self.name(nameField.1, "node name")
        var role: ModelGraph.Role?
        if let (_, value) = fields["role"] {
            if let text = string(value, "role") {
                role = ModelGraph.Role(rawValue: text)
                if role == nil {
                    let names = ModelGraph.Role.allCases.map(\.rawValue)
                    let hint = nearestName(to: text, among: names).map { "; did you mean '\($0)'?" } ?? ""
                    problem("unknown role '\(text)'\(hint); a node is one of \(names.joined(separator: ", "))", at: value.mark)
                }
            }
        } else {
            problem("node '\(name ?? "?")' needs 'role:' (master, worker or general)", at: item.mark)
        }
        var shape: ModelGraph.Shape?
        if let (_, value) = fields["model"] {
            shape = self.shape(value, node: name ?? "?")
        } else {
            problem("node '\(name ?? "?")' needs 'model: {layers: L, d_model: D, heads: H, context: T}'", at: item.mark)
        }
        let domain = fields["domain"].flatMap { string($0.1, "domain") }
        let corpus = fields["corpus"].flatMap { string($0.1, "corpus") }
        let checkpoint = fields["checkpoint"].flatMap { string($0.1, "checkpoint") }
        if let domain, let domains, domain != "all", !domains.contains(domain) {
            let hint = nearestName(to: domain, among: domains).map { "; did you mean '\($0)'?" } ?? ""
            problem("unknown domain '\(domain)'\(hint); the domains are \(domains.joined(separator: ", "))", at: fields["domain"]!.1.mark)
        }
        if let role {
            switch role {
            case .master where domain != nil:
                problem("the master is trained on routing, not on a domain; remove 'domain:'", at: fields["domain"]!.1.mark)
            case .worker where domain == nil && corpus == nil:
                problem("worker '\(name ?? "?")' needs 'domain:' (the task it is trained on) or 'corpus:' (a text file)", at: item.mark)
            case .worker where domain == "all":
                problem("a worker trained on every domain has role general; write 'role: general'", at: fields["domain"]!.1.mark)
            case .general where domain != nil && domain != "all":
                problem("a general worker is trained on all domains; remove 'domain: \(domain!)' or make the node a worker", at: fields["domain"]!.1.mark)
            default: break
            }
        }
        if domain != nil && corpus != nil {
            problem("a node is trained on a domain or a corpus, not both", at: fields["corpus"]!.0)
        }
        guard let name, let role, let shape else {
            if let name { brokenNames.append(name) }
            return nil
        }
        return ModelGraph.Node(name: name, role: role, shape: shape, domain: role == .general ? "all" : domain, corpus: corpus,
                               checkpoint: checkpoint)
    }

    mutating func shape(_ value: YAMLNode, node: String) -> ModelGraph.Shape? {
        guard let fields = entries(value, allowed: ModelGraphFile.modelKeys, what: "a model") else { return nil }
        var numbers: [String: Int] = [:]
        let ranges = ["layers": 1...64, "d_model": 1...4096, "heads": 1...64, "context": 2...4096]
        for key in ModelGraphFile.modelKeys {
            guard let (_, field) = fields[key] else {
                problem("the model of node '\(node)' needs '\(key):'", at: value.mark)
                continue
            }
            numbers[key] = integer(field, key, ranges[key]!)
        }
        guard let layers = numbers["layers"], let d = numbers["d_model"], let heads = numbers["heads"], let context = numbers["context"] else { return nil }
        guard d % heads == 0 else {
            problem("heads (\(heads)) must divide d_model (\(d))", at: fields["heads"]!.1.mark)
            return nil
        }
        return ModelGraph.Shape(layers: layers, dModel: d, heads: heads, context: context)
    }

    mutating func edge(_ item: YAMLNode) -> ModelGraph.Edge? {
        guard let fields = entries(item, allowed: ModelGraphFile.edgeKeys, what: "an edge") else { return nil }
        var values: [String: String] = [:]
        for key in ModelGraphFile.edgeKeys {
            guard let (_, field) = fields[key] else {
                problem("an edge needs '\(key):'", at: item.mark)
                continue
            }
            values[key] = key == "token" ? string(field, key) : name(field, key)
        }
        guard let from = values["from"], let to = values["to"], let token = values["token"] else { return nil }
        guard FunctionalToken.isWellFormed(token) else {
            problem("token '\(token)' must be <nexa_i> with i in 0..<\(OctopusVocabulary.maximumNodeCount) (no leading zero): one id of the models' vocabulary",
                    at: fields["token"]!.1.mark)
            return nil
        }
        return ModelGraph.Edge(from: from, to: to, token: token)
    }
}

/// The spelling of functional tokens in graph files: `<nexa_i>`, one id each in `OctopusVocabulary`.
public enum FunctionalToken {
    /// The token that ends a routed query.
    public static let end = OctopusVocabulary.endOfCall

    /// i of `<nexa_i>` (no sign, no leading zero, below the vocabulary's node limit), or nil.
    public static func index(_ token: String) -> Int? {
        guard token.hasPrefix("<nexa_"), token.hasSuffix(">") else { return nil }
        let digits = token.dropFirst(6).dropLast()
        guard !digits.isEmpty, digits.count <= 3, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
              digits == "0" || digits.first != "0", let index = Int(digits), index < OctopusVocabulary.maximumNodeCount else { return nil }
        return index
    }

    public static func isWellFormed(_ token: String) -> Bool { index(token) != nil }
}
