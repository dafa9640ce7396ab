/// Soft routing of duo layers, the relaxation a trained router learns through (Duo-LLM,
/// arXiv 2410.10846, §2): duo layer l's output for token t is
/// `x + p[t,l,big]·f_big(LN₂(x)) + p[t,l,small]·f_small(LN₂(x))`, where skip contributes nothing
/// (its weight is whatever the router leaves, 1 − p_big − p_small).
///
/// Both modules run on every row, so a soft pass costs all-big plus all-small; routes
/// (`Transformer.routes`) are what cost only the chosen branch. After `backward()`,
/// `Transformer.mixtureGradients` holds dL/dp[t,l,c] = ⟨dL/d(output)[t], f_c[t]⟩.
///
/// The weights are either fixed (tests, analyses) or computed layer by layer from the stream
/// entering each duo layer's FFN (a router): layer l's stream depends on the weights of the
/// layers before it, so a router cannot give them all up front.
public struct DuoMixture {
    /// Writes layer `layer`'s weights: `stream` is the (rows, d) residual stream entering the
    /// FFN, row-major, read-only; `weights` is (rows, 2), [big, small] per row. Called once per
    /// duo layer per forward pass, in layer order, on the thread that called `forward`.
    public typealias Weigh = (_ layer: Int, _ stream: UnsafeBufferPointer<Float>, _ weights: UnsafeMutableBufferPointer<Float>) -> Void

    /// Layers the weights cover (the model's depth).
    public let layers: Int
    /// Fixed weights, `weights[(token·layers + layer)·2 + c]` with c = 0 big, 1 small.
    public let weights: [Float]?
    let weigh: Weigh?

    /// Fixed weights for every token, layer and module; entries of layers that are not duo
    /// layers are ignored.
    /// - Precondition: layers ≥ 1 and `weights.count` a multiple of 2·layers.
    public init(layers: Int, weights: [Float]) {
        precondition(layers >= 1 && weights.count % (2 * layers) == 0, "a mixture needs 2 weights per token and layer")
        self.layers = layers
        self.weights = weights
        weigh = nil
    }

    /// Weights computed by `weigh` from the stream, layer by layer.
    /// - Precondition: layers ≥ 1.
    public init(layers: Int, weigh: @escaping Weigh) {
        precondition(layers >= 1, "a mixture needs layers ≥ 1")
        self.layers = layers
        weights = nil
        self.weigh = weigh
    }

    /// Tokens covered by fixed weights (nil when computed).
    public var tokens: Int? { weights.map { $0.count / (2 * layers) } }
}

extension Transformer {
    /// dL/dp[t,l,c] of the last soft forward and backward, (tokens, layers, 2) with [big, small]
    /// innermost like `DuoMixture.weights`; zero for layers that are not duo layers. Empty unless
    /// the last forward pass was soft and `backward()` has run since.
    public var mixtureGradients: [Float] {
        guard let duo, duo.hasMixtureGradients, let batch = lastBatch else { return [] }
        let n = batch * config.context, depth = config.depth
        var gradients = [Float](repeating: 0, count: n * depth * 2)
        for l in 0..<depth where duo.counts[l][0] > 0 {
            for r in 0..<n {
                gradients[(r * depth + l) * 2] = duo.mixtureGradients[(l * n + r) * 2]
                gradients[(r * depth + l) * 2 + 1] = duo.mixtureGradients[(l * n + r) * 2 + 1]
            }
        }
        return gradients
    }

    /// Checks `mixture` against the model, `routes` and a batch of `tokens` tokens.
    func validateMixture(tokens: Int) throws(ModelError) {
        guard let mixture else { return }
        guard config.hasDuoLayers else {
            throw .input("a mixture was given but no layer of this model is a duo layer; set mixture to nil")
        }
        guard routes == nil else { throw .input("both routes and a mixture were given; set one of them to nil") }
        guard mixture.layers == config.depth else {
            throw .input("the mixture gives weights for \(mixture.layers) layer(s) but the model has \(config.depth); give one pair per layer")
        }
        if let weights = mixture.weights {
            guard mixture.tokens == tokens else {
                throw .input("the mixture covers \(mixture.tokens ?? 0) tokens but the batch has \(tokens) (batch × context)")
            }
            if let bad = weights.firstIndex(where: { !$0.isFinite }) {
                throw .input("mixture weight \(bad) (token \(bad / (2 * mixture.layers)), layer \(bad / 2 % mixture.layers)) is \(weights[bad]); give finite weights")
            }
        }
    }

    /// Fills layer `l`'s soft weights, (n, 2), from the mixture, and routes every row to both modules.
    func prepareMixture(_ mixture: DuoMixture, layer l: Int, rows n: Int) {
        guard let duo else { return }
        let weights = duo.mixtureWeights + l * n * 2, depth = config.depth
        if let fixed = mixture.weights {
            for r in 0..<n {
                weights[2 * r] = fixed[(r * depth + l) * 2]
                weights[2 * r + 1] = fixed[(r * depth + l) * 2 + 1]
            }
        } else if let weigh = mixture.weigh {
            weigh(l, UnsafeBufferPointer(start: arena.stream[2 * l + 1], count: n * config.dModel),
                  UnsafeMutableBufferPointer(start: weights, count: n * 2))
        }
        for module in duo.modules[l] {
            for r in 0..<n { module.rows[r] = r }
        }
        duo.isSoft = true
    }

    /// Soft backward for module `m` of layer `l` on its c packed rows (all rows, in order):
    /// dL/dp[r, m] = ⟨g[r]·W₂ᵀ, post[r]⟩ (= ⟨g[r], f_m[r]⟩ since f_m = post·W₂), then the rows of
    /// `duo.dPost` and `duo.packed` (g) are scaled by p[r, m], the module's share of the output.
    func weighModuleGradients(layer l: Int, module m: Int, hidden h: Int, rows c: Int) {
        guard let duo else { return }
        let d = config.dModel
        // Each worker reads and writes its own rows.
        nonisolated(unsafe) let weights = duo.mixtureWeights + l * c * 2, gradients = duo.mixtureGradients + l * c * 2
        nonisolated(unsafe) let post = duo.modules[l][m].post, dPost = duo.dPost, packed = duo.packed
        split.rows(c) { range, _ in
            for r in range {
                var dot: Float = 0
                for j in 0..<h { dot += dPost[r * h + j] * post[r * h + j] }
                gradients[2 * r + m] = dot
                let p = weights[2 * r + m]
                for j in 0..<h { dPost[r * h + j] *= p }
                for j in 0..<d { packed[r * d + j] *= p }
            }
        }
    }
}
