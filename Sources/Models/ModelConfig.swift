/// The shape of a decoder-only transformer: token embedding and learned absolute positions,
/// pre-LayerNorm blocks (eps 1e-5) of multi-head causal attention and an FFN, no biases in the
/// linear layers, a final LayerNorm and an untied output layer.
public struct ModelConfig: Codable, Sendable, Equatable {
    /// The FFN's nonlinearity.
    public enum Activation: String, Codable, Sendable, CaseIterable { case relu, gelu }
    /// A layer's attention: softmax, ReLU attention (`ReLU(s)/visible keys`), or none.
    public enum AttentionKind: String, Codable, Sendable, CaseIterable { case softmax, relu, none }
    /// A layer's FFN: the usual two-layer MLP, one linear map (d → d), or none.
    public enum FFNKind: String, Codable, Sendable, CaseIterable { case mlp, linear, none }

    /// Per-layer switches.
    public struct Layer: Codable, Sendable, Equatable {
        public var attention: AttentionKind
        public var ffn: FFNKind
        /// Stored as nil unless set, so configurations (and checkpoints) without duo layers
        /// encode exactly as before.
        private var duoFlag: Bool?
        /// Whether this MLP layer is a Duo-LLM layer: the big MLP (`ffnHidden`) and a small one
        /// (`smallFFNHidden`) side by side, each token routed to one of them or to skip.
        public var duo: Bool {
            get { duoFlag ?? false }
            set { duoFlag = newValue ? true : nil }
        }
        private enum CodingKeys: String, CodingKey { case attention, ffn, duoFlag = "duo" }
        public init(attention: AttentionKind = .softmax, ffn: FFNKind = .mlp, duo: Bool = false) {
            self.attention = attention; self.ffn = ffn
            self.duo = duo
        }
    }

    public var vocabulary: Int
    public var context: Int
    public var dModel: Int
    public var heads: Int
    /// The FFN's hidden width (4·d by default).
    public var ffnHidden: Int
    public var activation: Activation
    /// One entry per layer; `layers.count` is the depth.
    public var layers: [Layer]

    public init(vocabulary: Int, context: Int, layers: Int, dModel: Int, heads: Int, ffnHidden: Int? = nil,
                activation: Activation = .relu, attention: AttentionKind = .softmax, ffn: FFNKind = .mlp) {
        self.vocabulary = vocabulary
        self.context = context
        self.dModel = dModel
        self.heads = heads
        self.ffnHidden = ffnHidden ?? 4 * dModel
        self.activation = activation
        self.layers = Array(repeating: Layer(attention: attention, ffn: ffn), count: max(0, layers))
    }

    public var depth: Int { layers.count }
    /// The small FFN's hidden width in duo layers: d/4 (16× fewer FLOPs than 4·d), at least 1.
    public var smallFFNHidden: Int { max(1, dModel / 4) }
    /// Whether any layer is a duo layer (and so takes routes).
    public var hasDuoLayers: Bool { layers.contains(where: \.duo) }
    public var headDimension: Int { heads > 0 ? dModel / heads : 0 }

    /// Checks every value before anything is allocated.
    /// - Throws: `ModelError.configuration` naming the value and the fix.
    public func validate() throws(ModelError) {
        func require(_ condition: Bool, _ message: @autoclosure () -> String) throws(ModelError) {
            if !condition { throw .configuration(message()) }
        }
        try require(vocabulary >= 2, "vocabulary must be at least 2 tokens (got \(vocabulary))")
        try require(context >= 1, "context must be at least 1 token (got \(context))")
        try require(dModel >= 1, "d_model must be positive (got \(dModel))")
        // Each size bounded before any product of them (the FFN's 4·d first): this module is built
        // without overflow checks, so a wrapped count would pass and corrupt memory.
        try require(dModel <= 1 << 16, "d_model must be at most 65536 (got \(dModel)); these are small models")
        try require(heads >= 1, "heads must be at least 1 (got \(heads))")
        try require(dModel % heads == 0, "heads (\(heads)) must divide d_model (\(dModel)); d_model \(dModel) takes heads \(Self.divisors(of: dModel).filter { $0 <= 16 }.map(String.init).joined(separator: ", "))")
        try require(ffnHidden >= 1, "ffn_hidden must be positive (got \(ffnHidden))")
        try require(vocabulary <= 1 << 24, "vocabulary must be at most 2^24 tokens (got \(vocabulary))")
        try require(context <= 1 << 24, "context must be at most 2^24 tokens (got \(context))")
        try require(ffnHidden <= 1 << 20, "ffn_hidden must be at most 2^20 (got \(ffnHidden))")
        try require(!layers.isEmpty, "a model needs at least 1 layer (got \(layers.count))")
        try require(layers.count <= 64, "at most 64 layers (got \(layers.count)); these are small models")
        for (l, layer) in layers.enumerated() where layer.duo {
            try require(layer.ffn == .mlp, "layer \(l) is a duo layer but its ffn is \(layer.ffn.rawValue); duo layers need ffn mlp")
        }
        let parameters = parameterCount
        try require(parameters <= 1 << 30, "the model would have \(parameters) parameters; Loom's models stay below 2^30")
    }

    private static func divisors(of n: Int) -> [Int] { n < 1 ? [] : (1...n).filter { n % $0 == 0 } }

    /// The number of trainable parameters (LayerNorm gains and biases included).
    public var parameterCount: Int {
        let d = dModel
        var total = vocabulary * d + context * d + 2 * d + d * vocabulary    // embeddings, final LN, output
        for layer in layers {
            if layer.attention != .none { total += 2 * d + 4 * d * d }
            switch layer.ffn {
            case .mlp: total += 2 * d + 2 * d * ffnHidden + (layer.duo ? 2 * d * smallFFNHidden : 0)
            case .linear: total += 2 * d + d * d
            case .none: break
            }
        }
        return total
    }
}
