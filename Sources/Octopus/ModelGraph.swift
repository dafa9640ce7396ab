import Models

/// A graph of language models (Octopus v4): one master that reads a user query and emits a
/// functional token naming a worker, workers that answer (and may hand a query on to another
/// worker through a worker → worker edge), and general workers trained on every domain.
/// Read from a YAML file by `ModelGraphFile.load`, checked whole before anything is trained.
public struct ModelGraph: Sendable, Equatable {
    public enum Role: String, Sendable, Equatable, CaseIterable {
        /// Reads the user's query and routes it: `<nexa_i>('canonical query')<nexa_end>`.
        case master
        /// A specialist trained on one domain's canonical format.
        case worker
        /// A worker trained on every domain (the rewriting-only control).
        case general
    }

    /// A model's shape, as written in the file (the vocabulary comes from the study's tokens).
    public struct Shape: Sendable, Equatable {
        public var layers: Int, dModel: Int, heads: Int, context: Int

        public init(layers: Int, dModel: Int, heads: Int, context: Int) {
            self.layers = layers; self.dModel = dModel; self.heads = heads; self.context = context
        }

        /// The model's configuration for a vocabulary of `vocabulary` tokens.
        public func config(vocabulary: Int) -> ModelConfig {
            ModelConfig(vocabulary: vocabulary, context: context, layers: layers, dModel: dModel, heads: heads)
        }
    }

    public struct Node: Sendable, Equatable {
        public var name: String
        public var role: Role
        public var shape: Shape
        /// The domain a worker is trained on (`ADD`, `REV`, …); `all` for a general worker; nil for the master.
        public var domain: String?
        /// A text file the node is trained on instead of generated domain data, or nil.
        public var corpus: String?
        /// The trained model's checkpoint directory (resolved against the file's folder), once trained.
        public var checkpoint: String?

        public init(name: String, role: Role, shape: Shape, domain: String? = nil, corpus: String? = nil, checkpoint: String? = nil) {
            self.name = name; self.role = role; self.shape = shape; self.domain = domain; self.corpus = corpus; self.checkpoint = checkpoint
        }
    }

    public struct Edge: Sendable, Equatable {
        public var from: String
        public var to: String
        /// The functional token the source emits to take this edge, e.g. `<nexa_3>`.
        public var token: String

        public init(from: String, to: String, token: String) { self.from = from; self.to = to; self.token = token }
    }

    public var name: String
    public var nodes: [Node]
    public var edges: [Edge]
    /// The most worker → worker edges one query may take; required when those edges form a cycle.
    public var hopLimit: Int?
    /// Tokens in the models' vocabulary, for parameter counts (the study's vocabulary size).
    public var vocabulary: Int

    public init(name: String, nodes: [Node], edges: [Edge], hopLimit: Int?, vocabulary: Int) {
        self.name = name; self.nodes = nodes; self.edges = edges; self.hopLimit = hopLimit; self.vocabulary = vocabulary
    }

    /// The node called `name`.
    public func node(_ name: String) -> Node? { nodes.first { $0.name == name } }

    /// The master (a valid graph has exactly one).
    public var master: Node? { nodes.first { $0.role == .master } }

    /// Edges leaving `name`, in file order.
    public func edges(from name: String) -> [Edge] { edges.filter { $0.from == name } }

    /// Trainable parameters of `node`'s model.
    public func parameters(of node: Node) -> Int { node.shape.config(vocabulary: vocabulary).parameterCount }

    /// Parameters one query activates: the master and its largest worker (the Octopus comparison
    /// of a graph with one model of the same size).
    public var activatedParameters: Int {
        guard let master else { return 0 }
        let largest = edges(from: master.name).compactMap { node($0.to) }.map(parameters(of:)).max() ?? 0
        return parameters(of: master) + largest
    }

    /// Parameters of every node.
    public var totalParameters: Int { nodes.map(parameters(of:)).reduce(0, +) }
}
