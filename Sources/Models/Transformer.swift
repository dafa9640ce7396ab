import TensorCore

/// A small decoder-only transformer with hand-written forward and backward passes (float32, CPU).
///
/// Architecture (see `ModelConfig`): `x₀ = embed.token[t] + embed.position[i]`; for each layer ℓ,
/// pre-LayerNorm (ε = 1e-5) blocks `x ← x + Attn(LN₁(x))`, `x ← x + FFN(LN₂(x))` with causal
/// multi-head attention (H heads of dh = d/H, no biases, scale 1/√dh; softmax, or ReLU attention
/// `A[i,j] = ReLU(q_i·k_j/√dh)/(i+1)` with no normalisation over keys), an FFN that is
/// `ReLU/GELU(x·W₁)·W₂`, one linear map `x·W`, or nothing; then `logits = LN_f(x)·unembed`.
///
/// Parameters, by name (checkpoints, hooks and reports rely on these):
/// `embed.token` [V, d], `embed.position` [T, d]; per layer `layers.ℓ.ln1.gain/bias` [d],
/// `layers.ℓ.attn.wq/wk/wv/wo` [d, d] (when the layer has attention), `layers.ℓ.ln2.gain/bias` [d],
/// `layers.ℓ.ffn.w1` [d, hidden], `layers.ℓ.ffn.w2` [hidden, d] (MLP) or `layers.ℓ.ffn.w` [d, d]
/// (linear), plus `layers.ℓ.ffn.small.w1` [d, d/4] and `ffn.small.w2` in a duo layer (see
/// `Transformer+Duo.swift`: big, small or skip per token, as `routes` say); `final_ln.gain/bias` [d], `unembed` [d, V]. Every matrix acts on row vectors (x·W).
///
/// Initialisation (GPT-2's): every matrix and embedding is normal(0, 0.02); the maps that write
/// into the residual stream (`attn.wo`, `ffn.w2`, and the linear FFN's `ffn.w`) are scaled by
/// 1/√(2·layers); LayerNorm gains are 1 and biases 0. Draws follow the parameter order from one
/// `SeededRandom(seed:)` stream, so a seed fixes the model on every machine.
///
/// Not thread-safe: one thread calls `forward` and `backward` (which use `threads` workers inside).
public final class Transformer {
    /// The model's shape.
    public let config: ModelConfig
    /// Parameter values and gradients, by name.
    public let parameters: ParameterStore
    /// The largest batch `forward` accepts.
    public let maxBatch: Int
    /// Workers used inside each pass.
    public let threads: Int
    /// What the next forward pass captures (off by default).
    public var hooks = ModelHooks()
    /// Edits applied by the next forward and backward passes (none by default).
    public var interventions = Interventions()
    /// Whether the big products run on OpenBLAS's own `threads` threads (true) or are cut into one
    /// single-threaded piece per worker (false, the default); attention and the row kernels always
    /// run on Loom's workers. Neither won clearly on a shared 2-core machine: measure both.
    public var usesOpenBLASThreads: Bool {
        get { split.usesBLASThreads }
        set { split.usesBLASThreads = newValue }
    }

    /// Whether every product (projections and attention) runs on OpenBLAS's sgemm (true) or on Loom's `TiledGEMM` (false, the
    /// default: 1.24–1.44× faster at d = 64 and level at d = 256 on the 2-core VM, see BENCHMARKS.md).
    public var usesOpenBLASProducts: Bool {
        get { split.usesOpenBLASProducts }
        set { split.usesOpenBLASProducts = newValue }
    }

    /// Fused passes switched off, to measure what each gains (`loom bench fusions`): the
    /// unfused path runs instead, with the same bits. Empty by default.
    public var unfused: Set<TrainingFusion> = [] {
        didSet {
            split.fusesRowPasses = !unfused.contains(.rowPasses)
            split.balancesPieces = !unfused.contains(.balancedPieces)
        }
    }

    /// Rows per block of the blocked FFN in place of the default (`ffnRowBlock`), for tuning it
    /// in one process (`loom bench fusions --ffn-blocks`); nil for the default. Any size gives
    /// the same bits; one that leaves a worker without a whole block runs the FFN unblocked.
    public var ffnRowBlockOverride: Int?

    /// Wall time per phase of each forward and backward pass, when set (`loom bench train --phases`).
    public var phases: StepPhases?

    let arena: TrainingArena
    var split: WorkSplit
    /// Per layer, the parameter pointers (values and gradients), resolved once.
    let layerWeights: [LayerWeights]
    /// Routes of the duo layers for the next forward passes (see `DuoRoutes`); nil means every
    /// token takes the big FFN. Ignored (and must be nil) for models without duo layers.
    public var routes: DuoRoutes?
    /// Soft routing of the duo layers for the next forward passes (see `DuoMixture`): both
    /// modules on every row, mixed by per-token weights. Nil (the default) means hard routing by
    /// `routes`; the two cannot be set together.
    public var mixture: DuoMixture?
    /// Duo layers' packed buffers and the last pass's row counts; nil without duo layers.
    let duo: DuoArena?
    /// The last forward pass: batch size and targets (for backward), nil before the first.
    var lastBatch: Int?
    var lastTargets: [Int32] = []
    var lastTokens: [Int32] = []
    /// Number of targets ≥ 0 in the last forward pass.
    var lastTargetCount = 0
    /// Whether the last forward pass left the logits' softmax in `arena.dLogits` for the
    /// backward pass to turn into the gradient (`TrainingFusion.crossEntropy` off).
    var logitsHoldSoftmax = false
    /// The interventions the last forward pass applied, with forced keys resolved per layer.
    var appliedInterventions = Interventions()
    var appliedForcedKeys: [[[Int]]?] = []
    /// Streams of `arena.stream` the staged pass has written in order since it began (0: none;
    /// `forward` resets it, since its streams follow `routes`).
    var stagedStreams = 0
    /// Whether a one-thread model runs its attention and duo FFN steps in blocks of rows that
    /// stay in L2 (`blockedAttention`, `duoRowBlock`); tests turn it off to compare the bits.
    var blocksRows = true
    /// Single-threaded copies kept by `replicas(_:)` for evaluations split across threads.
    var replicaCache: [Transformer] = []

    /// Builds a model with fresh parameters and the activation arena for `maxBatch` sequences.
    /// - Parameters:
    ///   - config: the shape; validated first.
    ///   - seed: fixes the initial parameters.
    ///   - maxBatch: the largest batch `forward` will see, ≥ 1.
    ///   - threads: workers per pass; 0 means every active core.
    /// - Throws: `ModelError.configuration` for a bad config or `maxBatch`.
    /// - Complexity: O(parameters + maxBatch·context·(layers·(d + hidden + H·T) + V)) memory.
    public convenience init(config: ModelConfig, seed: UInt64, maxBatch: Int, threads: Int = 0) throws(ModelError) {
        try self.init(config: config, initialSeed: seed, maxBatch: maxBatch, threads: threads)
    }

    /// As the public init; a nil `initialSeed` leaves the parameters zero (a replica copies them).
    init(config: ModelConfig, initialSeed: UInt64?, maxBatch: Int, threads: Int) throws(ModelError) {
        try config.validate()
        guard maxBatch >= 1 else { throw .configuration("maxBatch must be at least 1 (got \(maxBatch))") }
        // Without overflow checks here, a huge maxBatch would wrap the product and pass.
        let (rows, overflow) = maxBatch.multipliedReportingOverflow(by: config.context)
        guard !overflow, rows <= 1 << 24 else {
            throw .configuration("maxBatch·context = \(maxBatch)·\(config.context) rows is more than Loom's 2^24; use a smaller batch or context")
        }
        self.config = config
        self.maxBatch = maxBatch
        self.threads = threads > 0 ? threads : Parallel.activeCores
        parameters = ParameterStore(Self.parameterLayout(config))
        split = WorkSplit(threads: self.threads)
        arena = TrainingArena(config: config, maxBatch: maxBatch, threads: self.threads)
        layerWeights = config.layers.indices.map { [parameters] in LayerWeights(layer: $0, in: parameters) }
        duo = config.hasDuoLayers ? DuoArena(config: config, maxBatch: maxBatch, parameters: parameters) : nil
        if let initialSeed { initializeParameters(seed: initialSeed) }
    }

    /// Runs one pass with OpenBLAS set up for `split`: single-threaded when the products are cut
    /// into pieces, else on `threads` threads; the caller's setting is restored afterwards.
    func pass<R>(_ body: () -> R) -> R {
        // The operand prefetch switched off for this pass only (a process-wide switch, put back).
        let restoresPrefetch = unfused.contains(.operandPrefetch) && TiledGEMM.asksAhead.exchange(false, ordering: .relaxed)
        defer { if restoresPrefetch { TiledGEMM.asksAhead.store(true, ordering: .relaxed) } }
        guard split.usesBLASThreads else { return BLASThreading.singleThreaded(body) }
        return BLAS.withThreadCount(threads, body)
    }

    /// Runs `body` (attention's per-(batch, head) items, each calling sgemm) with OpenBLAS single-threaded.
    func itemPass(_ body: () -> Void) {
        if split.usesBLASThreads { BLASThreading.singleThreaded(body) } else { body() }
    }

    /// The parameter tensors in arena order: name, shape, and whether weight decay applies
    /// (matrices and embeddings yes, LayerNorm gains and biases no).
    public static func parameterLayout(_ config: ModelConfig) -> [(name: String, shape: [Int], decays: Bool)] {
        let d = config.dModel, v = config.vocabulary
        var layout: [(name: String, shape: [Int], decays: Bool)] = [
            ("embed.token", [v, d], true), ("embed.position", [config.context, d], true),
        ]
        for (l, layer) in config.layers.enumerated() {
            let p = "layers.\(l)."
            if layer.attention != .none {
                layout += [(p + "ln1.gain", [d], false), (p + "ln1.bias", [d], false)]
                layout += ["wq", "wk", "wv", "wo"].map { (p + "attn." + $0, [d, d], true) }
            }
            switch layer.ffn {
            case .mlp:
                layout += [(p + "ln2.gain", [d], false), (p + "ln2.bias", [d], false),
                           (p + "ffn.w1", [d, config.ffnHidden], true), (p + "ffn.w2", [config.ffnHidden, d], true)]
                if layer.duo {
                    let small = config.smallFFNHidden
                    layout += [(p + "ffn.small.w1", [d, small], true), (p + "ffn.small.w2", [small, d], true)]
                }
            case .linear:
                layout += [(p + "ln2.gain", [d], false), (p + "ln2.bias", [d], false), (p + "ffn.w", [d, d], true)]
            case .none: break
            }
        }
        layout += [("final_ln.gain", [d], false), ("final_ln.bias", [d], false), ("unembed", [d, v], true)]
        return layout
    }

    /// GPT-2's initialisation (see the type's documentation).
    func initializeParameters(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        let residualScale = 1 / Float(2 * config.depth).squareRoot()
        for entry in parameters.entries {
            let values = parameters.values + entry.offset
            if entry.name.hasSuffix(".gain") {
                values.update(repeating: 1, count: entry.count)
            } else if entry.name.hasSuffix(".bias") {
                values.update(repeating: 0, count: entry.count)
            } else {
                let isOutput = entry.name.hasSuffix("attn.wo") || entry.name.hasSuffix("ffn.w2") || entry.name.hasSuffix("ffn.w")
                    || entry.name.hasSuffix("ffn.small.w2")
                let deviation: Float = 0.02 * (isOutput ? residualScale : 1)
                for i in 0..<entry.count { values[i] = random.normal(mean: 0, standardDeviation: deviation) }
            }
        }
    }

    /// The logits of the last forward pass, (batch, context, V), as a copy; empty before the first.
    public var logits: Tensor {
        guard let batch = lastBatch else { return Tensor(uncheckedZeros: [0, config.context, config.vocabulary]) }
        let count = batch * config.context * config.vocabulary
        return Tensor(unchecked: [batch, config.context, config.vocabulary],
                      storage: Array(UnsafeBufferPointer(start: arena.logits, count: count)))
    }

    /// Calls `body` with a read-only view of the last forward pass's logits, (batch, context, V)
    /// row-major; the view is valid only inside `body` and empty before the first forward.
    public func withLogits<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        let count = (lastBatch ?? 0) * config.context * config.vocabulary
        return try body(UnsafeBufferPointer(start: arena.logits, count: count))
    }
}

/// One layer's parameter pointers; absent parts point at a dummy (never read).
struct LayerWeights: @unchecked Sendable {
    // Values and gradients of the same shapes, valid for the store's lifetime.
    var ln1Gain, ln1Bias, wq, wk, wv, wo, ln2Gain, ln2Bias, w1, w2: UnsafeMutablePointer<Float>
    var dLn1Gain, dLn1Bias, dwq, dwk, dwv, dwo, dLn2Gain, dLn2Bias, dw1, dw2: UnsafeMutablePointer<Float>

    init(layer: Int, in store: ParameterStore) {
        let p = "layers.\(layer)."
        func value(_ name: String) -> UnsafeMutablePointer<Float> { store.entry(p + name).map { store.values + $0.offset } ?? store.values }
        func gradient(_ name: String) -> UnsafeMutablePointer<Float> { store.entry(p + name).map { store.gradients + $0.offset } ?? store.gradients }
        let second = store.entry(p + "ffn.w") != nil ? "ffn.w" : "ffn.w1"
        ln1Gain = value("ln1.gain"); ln1Bias = value("ln1.bias")
        wq = value("attn.wq"); wk = value("attn.wk"); wv = value("attn.wv"); wo = value("attn.wo")
        ln2Gain = value("ln2.gain"); ln2Bias = value("ln2.bias"); w1 = value(second); w2 = value("ffn.w2")
        dLn1Gain = gradient("ln1.gain"); dLn1Bias = gradient("ln1.bias")
        dwq = gradient("attn.wq"); dwk = gradient("attn.wk"); dwv = gradient("attn.wv"); dwo = gradient("attn.wo")
        dLn2Gain = gradient("ln2.gain"); dLn2Bias = gradient("ln2.bias"); dw1 = gradient(second); dw2 = gradient("ffn.w2")
    }
}

extension Transformer: TrainableModel {}
