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
