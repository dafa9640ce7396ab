import TensorCore

/// The keys and values of every attention layer from one forward pass over a batch: the context a
/// `fixedContextForward` pass attends to (Duo-LLM's `fixed_context` reading, where every token
/// but one stays on a default route).
public struct AttentionContext: Sendable {
    /// The batch it was computed on.
    public let tokens: [Int32], targets: [Int32], batch: Int
    /// Per layer, (batch·T, 2d) rows `[k | v]`; empty for layers without attention.
    let keyValues: [[Float]]
    /// The shape of the model that computed it, so another model's context is refused.
    let depth: Int, dModel: Int, context: Int
}

extension Transformer {
    /// Runs the model on a batch with the current `routes` (the context's route) and keeps every
    /// layer's keys and values.
    /// - Parameters: as `forward`; `positionLosses` receives the context run's own losses.
    /// - Throws: `ModelError.input` as `forward` does, or when interventions are set (the
    ///   context is the plain model's).
    /// - Complexity: one forward pass; O(layers·batch·T·2d) floats kept.
    public func attentionContext(tokens: [Int32], targets: [Int32], batch: Int,
                                 positionLosses: UnsafeMutablePointer<Float>? = nil) throws(ModelError) -> AttentionContext {
        guard interventions.isEmpty, mixture == nil else {
            throw .input("the fixed_context reading runs the plain model on routes; clear interventions and mixture first")
        }
        _ = try forward(tokens: tokens, targets: targets, batch: batch, positionLosses: positionLosses)
        let d = config.dModel, n = batch * config.context
        let keyValues = config.layers.indices.map { l -> [Float] in
            guard config.layers[l].attention != .none else { return [] }
            let qkv = arena.layers[l].qkv   // (n, 3d) [q | k | v]
            return [Float](unsafeUninitializedCapacity: n * 2 * d) { kv, initialized in
                for r in 0..<n { (kv.baseAddress! + r * 2 * d).initialize(from: qkv + r * 3 * d + d, count: 2 * d) }
                initialized = n * 2 * d
            }
        }
        return AttentionContext(tokens: tokens, targets: targets, batch: batch, keyValues: keyValues,
                                depth: config.depth, dModel: d, context: config.context)
    }

    /// Each token's loss when it alone takes the current `routes` and every earlier token is as
    /// in `context`: at each attention layer, query i attends to the context's keys and values at
    /// positions j < i and to its own key and value at i (the diagonal replaced). Since attention is
    /// causal, the tokens before i in a run where only token i changes route are exactly the
    /// context run's, so one pass gives every token's loss under that reading.
    /// - Parameters:
    ///   - context: from `attentionContext` on this model.
    ///   - positionLosses: if given, batch·T floats receiving each position's loss.
    /// - Returns: the mean loss over targets ≥ 0.
    /// - Throws: `ModelError.input` for another model's context, routes that do not fit, interventions
    ///   or a mixture.
    /// - Complexity: one forward pass.
    public func fixedContextForward(_ context: AttentionContext,
                                    positionLosses: UnsafeMutablePointer<Float>? = nil) throws(ModelError) -> Float {
        try beginStagedFixedContext(context)
        try validateRoutes(tokens: context.batch * config.context)
        let loss = pass { () -> Float in
            for l in 0..<config.depth {
                fixedContextAttentionStep(layer: l, context: context)
                ffnStep(layer: l, batch: context.batch, uniform: nil)
            }
            return headStep(batch: context.batch)
        }
        stagedStreams = 0
        if let positionLosses { positionLosses.update(from: arena.losses, count: context.batch * config.context) }
        return loss
    }

    /// Starts a staged pass (`beginStagedForward`) of the fixed_context reading on `context`'s
    /// batch: then `stagedFixedContextAttention` in place of `stagedAttention`, and `stagedFFN` and
    /// `stagedLoss` as usual, so routes sharing a prefix share its layers here too.
    /// - Throws: `ModelError.input` for another model's context, interventions or a mixture.
    public func beginStagedFixedContext(_ context: AttentionContext) throws(ModelError) {
        guard context.depth == config.depth, context.dModel == config.dModel, context.context == config.context,
              (1...maxBatch).contains(context.batch) else {
            throw .input("this attention context comes from another model (depth \(context.depth), d \(context.dModel), context \(context.context)); compute it with this model's attentionContext")
        }
        guard interventions.isEmpty, mixture == nil else {
            throw .input("the fixed_context reading runs the plain model on routes; clear interventions and mixture first")
        }
        try beginStagedForward(tokens: context.tokens, targets: context.targets, batch: context.batch)
    }

    /// Layer `l`'s attention half in the fixed_context reading (see `fixedContextForward`).
    /// - Precondition: `beginStagedFixedContext(context)` ran, and so did `stagedFFN` of layer l − 1.
    public func stagedFixedContextAttention(layer l: Int, context: AttentionContext) {
        precondition((0..<config.depth).contains(l) && stagedStreams >= 2 * l + 1 && context.batch == lastBatch,
                     "stagedFixedContextAttention(layer: \(l)) needs beginStagedFixedContext and the FFN of every earlier layer first")
        pass { fixedContextAttentionStep(layer: l, context: context) }
        stagedStreams = 2 * l + 2
    }

    /// `stream[2l+1] = stream[2l] + Attn_fc(LN₁(stream[2l]))`, the attention of `diagonalReplacedAttention`.
    private func fixedContextAttentionStep(layer l: Int, context: AttentionContext) {
        let d = config.dModel, n = context.batch * config.context
        let input = arena.stream[2 * l], middle = arena.stream[2 * l + 1]
        let w = layerWeights[l], a = arena.layers[l]
        guard config.layers[l].attention != .none else {
            copy(input, to: middle, count: n * d)
            return
        }
        projectQKV(layer: l, rows: n)
        context.keyValues[l].withUnsafeBufferPointer { kv in
            itemPass { diagonalReplacedAttention(layer: l, batch: context.batch, keyValues: kv.baseAddress!) }
        }
        copy(input, to: middle, count: n * d)
        split.gemm(.none, .none, m: n, n: d, k: d, a: a.heads, lda: d, b: w.wo, ldb: d, beta: 1, c: middle, ldc: d)
    }

    /// Attention of layer `l` with the context's keys and values off the diagonal: per (sequence,
    /// head) item, `S = scale·Q·K_ctxᵀ` by sgemm, `S[i, i] = scale·q_i·k_i` (the pass's own key),
    /// the causal softmax (or ReLU/(i+1)) row by row, then `O = P_offdiag·V_ctx + P[i, i]·v_i`.
    /// Writes `arena.layers[l].heads`, (batch·T, d).
    private func diagonalReplacedAttention(layer l: Int, batch: Int, keyValues: UnsafePointer<Float>) {
        let t = config.context, d = config.dModel, heads = config.heads, dh = config.headDimension
        let scale = 1 / Float(dh).squareRoot(), isSoftmax = config.layers[l].attention == .softmax
        // Each item reads shared inputs and writes only its own (T, dh) block of `heads`.
        nonisolated(unsafe) let qkv = arena.layers[l].qkv, out = arena.layers[l].heads, kv = keyValues
        Parallel.forEach(batch * heads, threads: threads, setup: { _ in [Float](repeating: 0, count: t * t + t) }) { item, scratch in
            let b = item / heads, h = item % heads
            let q = qkv + b * t * 3 * d + h * dh, own = q + d   // own k at +d, own v at +2d, row stride 3d
            let k = kv + b * t * 2 * d + h * dh, v = k + d       // context rows, stride 2d
            let o = out + b * t * d + h * dh                     // stride d
            scratch.withUnsafeMutableBufferPointer { buffer in
                let s = buffer.baseAddress!, diagonal = s + t * t   // (T, T) scores, (T) diagonal weights
                BLAS.sgemm(.none, .transposed, m: t, n: t, k: dh, alpha: scale, a: q, lda: 3 * d, b: k, ldb: 2 * d,
                           beta: 0, c: s, ldc: t)
                for i in 0..<t {
                    var dot: Float = 0
                    for j in 0..<dh { dot += q[i * 3 * d + j] * own[i * 3 * d + j] }
                    let row = s + i * t
                    row[i] = scale * dot
                    if isSoftmax { CausalRows.softmax(row, visible: i + 1, length: t) } else { CausalRows.relu(row, visible: i + 1, length: t) }
                    // S was computed over every key: the masked keys must weigh nothing.
                    if i + 1 < t { (row + i + 1).update(repeating: 0, count: t - i - 1) }
                    diagonal[i] = row[i]
                    row[i] = 0
                }
                BLAS.sgemm(.none, .none, m: t, n: dh, k: t, alpha: 1, a: s, lda: t, b: v, ldb: 2 * d, beta: 0, c: o, ldc: d)
                for i in 0..<t {
                    let ownValue = own + i * 3 * d + d
                    for j in 0..<dh { o[i * d + j] += diagonal[i] * ownValue[j] }
                }
            }
        }
    }
}
