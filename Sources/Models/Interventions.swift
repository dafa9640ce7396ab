/// Edits to the forward pass for mechanism studies (ablations, forced attention patterns, and the
/// null control's dropout on big FFNs).
///
/// Each applies in `forward` and, where the edited computation still has a gradient, in
/// `backward` too: a zeroed head, value or residual row passes no gradient back; a removed FFN or
/// layer is the identity; a forced attention row is a constant, so no gradient reaches that
/// row's scores (its values still get one). The default is no intervention, at no cost.
public struct Interventions: Sendable {
    /// One attention head: layer ℓ, head h.
    public struct Head: Hashable, Sendable {
        /// The layer, 0-based.
        public var layer: Int
        /// The head within the layer, 0-based.
        public var head: Int
        /// Names head `head` of layer `layer`.
        public init(layer: Int, head: Int) { self.layer = layer; self.head = head }
    }

    /// Where a forced head's queries attend: `key(tokens, query)` is the key index
    /// (0 ≤ key ≤ query) that gets all the weight in a sequence of `tokens`, or nil to leave that
    /// query's row as computed. Rules that ignore the tokens are the same for every sequence.
    public struct Pattern: Sendable {
        /// The forced key of a query in one sequence, or nil to keep its computed row.
        public var key: @Sendable (_ tokens: ArraySlice<Int32>, _ query: Int) -> Int?
        /// A pattern from a rule on the query position; it is evaluated once per query and
        /// sequence at each forward pass.
        public init(key: @escaping @Sendable (_ query: Int) -> Int?) { self.key = { _, query in key(query) } }
        /// A pattern that reads the sequence's tokens (`tokens[i]` is the token at position i).
        public init(perSequence key: @escaping @Sendable (_ tokens: ArraySlice<Int32>, _ query: Int) -> Int?) {
            self.key = key
        }
        /// Every query attends to the first token (the BOS position).
        public static let firstToken = Pattern { _ in 0 }
        /// Every query attends to the previous token (query 0 to itself).
        public static let previousToken = Pattern { max($0 - 1, 0) }
        /// One key per query: `keys[i]` for query i, or −1 to leave that row as computed.
        public static func keys(_ keys: [Int]) -> Pattern {
            Pattern { $0 < keys.count && keys[$0] >= 0 ? keys[$0] : nil }
        }
        /// The clean attention of the Bigram-Backcopy task: a query whose token is a trigger
        /// attends to the previous token (whose value it must copy), every other query to BOS.
        public static func clean(triggers: Set<Int32>) -> Pattern {
            Pattern(perSequence: { tokens, query in
                triggers.contains(tokens[tokens.startIndex + query]) ? max(query - 1, 0) : 0
            })
        }
    }

    /// Heads whose output (before W_O) is zeroed.
    public var zeroedHeads: Set<Head> = []
    /// Layers whose FFN is skipped (the residual passes unchanged).
    public var removedFFNs: Set<Int> = []
    /// Layers skipped entirely (the identity).
    public var removedLayers: Set<Int> = []
    /// Heads whose attention weights are replaced by a one-hot row per query.
    public var forcedAttention: [Head: Pattern] = [:]
    /// Layers in which position 0's value vectors (every head) are zeroed before attention.
    public var zeroedFirstValues: Set<Int> = []
    /// Layers after which the residual stream at position 0 is zeroed.
    public var zeroedFirstResiduals: Set<Int> = []
    /// Dropout on the hidden units of every duo layer's big FFN (Duo-LLM's null control), or nil.
    public var bigFFNDropout: HiddenDropout?

    /// No intervention.
    public init() {}

    /// Whether nothing is edited.
    public var isEmpty: Bool {
        zeroedHeads.isEmpty && removedFFNs.isEmpty && removedLayers.isEmpty && forcedAttention.isEmpty
            && zeroedFirstValues.isEmpty && zeroedFirstResiduals.isEmpty && bigFFNDropout == nil
    }

    /// Checks every layer and head index against `config`.
    /// - Throws: `ModelError.input` naming the first index out of range.
    func validate(for config: ModelConfig) throws(ModelError) {
        func layer(_ l: Int, _ what: String) throws(ModelError) {
            guard (0..<config.depth).contains(l) else {
                throw .input("intervention \(what) names layer \(l), but the model has layers 0..<\(config.depth)")
            }
        }
        func head(_ h: Head, _ what: String) throws(ModelError) {
            try layer(h.layer, what)
            guard (0..<config.heads).contains(h.head) else {
                throw .input("intervention \(what) names head \(h.head) of layer \(h.layer), but layers have heads 0..<\(config.heads)")
            }
        }
        for h in zeroedHeads { try head(h, "zeroedHeads") }
        for h in forcedAttention.keys { try head(h, "forcedAttention") }
        for l in removedFFNs { try layer(l, "removedFFNs") }
        for l in removedLayers { try layer(l, "removedLayers") }
        for l in zeroedFirstValues { try layer(l, "zeroedFirstValues") }
        for l in zeroedFirstResiduals { try layer(l, "zeroedFirstResiduals") }
        if let dropout = bigFFNDropout {
            guard dropout.rate.isFinite, (0..<1).contains(dropout.rate) else {
                throw .input("intervention bigFFNDropout has rate \(dropout.rate); use a rate in [0, 1)")
            }
            guard config.hasDuoLayers else { throw .input("intervention bigFFNDropout acts on duo layers' big FFNs, and this model has none") }
        }
    }

    /// The forced key of each query for every forced head of `layer`, −1 where unforced:
    /// `result[b · heads + h]` has `context` entries for a forced head h, none for the others.
    /// - Throws: `ModelError.input` when a pattern names a key the query cannot see.
    func forcedKeys(layer: Int, heads: Int, context: Int, tokens: [Int32], batch: Int) throws(ModelError) -> [[Int]]? {
        var result: [[Int]]? = nil
        for (index, pattern) in forcedAttention where index.layer == layer {
            if result == nil { result = Array(repeating: [], count: batch * heads) }
            for b in 0..<batch {
                let sequence = tokens[(b * context)..<((b + 1) * context)]
                var keys = [Int](repeating: -1, count: context)
                for query in 0..<context {
                    guard let key = pattern.key(sequence, query) else { continue }
                    guard (0...query).contains(key) else {
                        throw .input("forced attention of layer \(layer) head \(index.head) sends query \(query) of sequence \(b) to key \(key); a causal query i sees keys 0...i")
                    }
                    keys[query] = key
                }
                result![b * heads + index.head] = keys
            }
        }
        return result
    }
}
