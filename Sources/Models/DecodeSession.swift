import TensorCore

/// Greedy decoding state for one sequence: each layer's keys and values of the positions seen so
/// far (the KV cache), so each new token costs one position (its LayerNorms, q, k, v, attention
/// over the cached keys, the FFN and the head) instead of a pass over the whole prefix. The
/// arithmetic is the forward pass's, one row at a time: its logits equal those of `forward` on
/// the same prefix to float32 rounding (tested), because causal attention makes a position's
/// output independent of what follows it.
///
/// Decodes models as they are: every duo layer takes its big FFN (nil routes); a model with
/// routes, soft routing or interventions set is refused, since a prefix's cache could not honour
/// per-token choices made for a whole batch.
public final class DecodeSession {
    public let model: Transformer
    /// Positions processed so far (at most the model's context).
    public private(set) var position = 0
    /// The logits after the last position appended (V floats).
    public private(set) var logits: [Float]

    private let d: Int, heads: Int, headDimension: Int, context: Int
    /// Per layer with attention: keys and values of every position, (context, d) each.
    private var keys: [[Float]], values: [[Float]]
    private var x: [Float], normed: [Float], q: [Float], k: [Float], v: [Float], attended: [Float]
    private var hidden: [Float], activated: [Float], scores: [Float]
    private var statistics: [Float] = [0, 0]

    /// - Throws: `ModelError.configuration` for a model with routes, soft routing or interventions.
    public init(model: Transformer) throws(ModelError) {
        guard model.routes == nil, model.mixture == nil else {
            throw .configuration("decoding runs every duo layer on its big FFN; set the model's routes and mixture to nil first")
        }
        guard model.interventions.isEmpty else {
            throw .configuration("decoding does not apply interventions; clear the model's interventions first")
        }
        let config = model.config
        self.model = model
        d = config.dModel; heads = config.heads; headDimension = config.headDimension; context = config.context
        keys = config.layers.map { $0.attention == .none ? [] : [Float](repeating: 0, count: config.context * config.dModel) }
        values = keys
        x = [Float](repeating: 0, count: d); normed = x; q = x; k = x; v = x; attended = x
        hidden = [Float](repeating: 0, count: config.ffnHidden); activated = hidden
        scores = [Float](repeating: 0, count: config.context)
        logits = [Float](repeating: 0, count: config.vocabulary)
    }

    /// Runs `token` at the next position; `logits` then predict the token after it.
    /// - Throws: `ModelError.input` for a token outside the vocabulary or a full context.
    public func append(_ token: Int32) throws(ModelError) {
        let config = model.config
        guard token >= 0 && Int(token) < config.vocabulary else {
            throw .input("token \(token) is outside the vocabulary 0..<\(config.vocabulary)")
        }
        guard position < context else {
            throw .input("the context of \(context) positions is full; a sequence cannot be longer than the model's context")
        }
        let p = model.parameters
        let token = p.value("embed.token") + Int(token) * d, place = p.value("embed.position") + position * d
        for j in 0..<d { x[j] = token[j] + place[j] }
        for l in 0..<config.depth {
            let layer = config.layers[l], prefix = "layers.\(l)."
            if layer.attention != .none { attention(layer: l, kind: layer.attention, prefix: prefix) }
            switch layer.ffn {
            case .mlp: mlp(prefix: prefix)
            case .linear: linear(prefix: prefix)
            case .none: break
            }
        }
        layerNorm(gain: p.value("final_ln.gain"), bias: p.value("final_ln.bias"))
        multiply(normed, by: p.value("unembed"), rows: d, columns: config.vocabulary, into: &logits)
        position += 1
    }

    /// The token with the largest logit (the lowest id among ties).
    public var greedyToken: Int32 {
        var best = 0
        for i in 1..<logits.count where logits[i] > logits[best] { best = i }
        return Int32(best)
    }

    /// `normed = LN(x)` with the forward pass's kernel and ε.
    private func layerNorm(gain: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>) {
        let d = self.d
        x.withUnsafeMutableBufferPointer { input in
            normed.withUnsafeMutableBufferPointer { output in
                statistics.withUnsafeMutableBufferPointer { s in
                    Kernels.layerNorm(input.baseAddress!, rows: 1, columns: d, gamma: gain, beta: bias, epsilon: 1e-5,
                                      into: output.baseAddress!, mean: s.baseAddress!, rstd: s.baseAddress! + 1)
                }
            }
        }
    }

    /// `output = row · W` for W (rows, columns) row-major.
    private func multiply(_ row: [Float], by w: UnsafeMutablePointer<Float>, rows: Int, columns: Int, into output: inout [Float]) {
        row.withUnsafeBufferPointer { a in
            output.withUnsafeMutableBufferPointer { c in
                BLAS.sgemm(.none, .none, m: 1, n: columns, k: rows, alpha: 1, a: a.baseAddress!, lda: rows, b: w, ldb: columns,
                           beta: 0, c: c.baseAddress!, ldc: columns)
            }
        }
    }

    /// `x += row · W` for W (rows, d).
    private func addProduct(_ row: [Float], by w: UnsafeMutablePointer<Float>, rows: Int) {
        let d = self.d
        row.withUnsafeBufferPointer { a in
            x.withUnsafeMutableBufferPointer { c in
                BLAS.sgemm(.none, .none, m: 1, n: d, k: rows, alpha: 1, a: a.baseAddress!, lda: rows, b: w, ldb: d,
                           beta: 1, c: c.baseAddress!, ldc: d)
            }
        }
    }

    private func attention(layer l: Int, kind: ModelConfig.AttentionKind, prefix: String) {
        let p = model.parameters
        layerNorm(gain: p.value(prefix + "ln1.gain"), bias: p.value(prefix + "ln1.bias"))
        multiply(normed, by: p.value(prefix + "attn.wq"), rows: d, columns: d, into: &q)
        multiply(normed, by: p.value(prefix + "attn.wk"), rows: d, columns: d, into: &k)
        multiply(normed, by: p.value(prefix + "attn.wv"), rows: d, columns: d, into: &v)
        let base = position * d, visible = position + 1, scale = 1 / Float(headDimension).squareRoot()
        let (d, heads, dh) = (self.d, self.heads, headDimension)
        keys[l].withUnsafeMutableBufferPointer { keyBuffer in
            values[l].withUnsafeMutableBufferPointer { valueBuffer in
                scores.withUnsafeMutableBufferPointer { scoreBuffer in
                    let keys = keyBuffer.baseAddress!, values = valueBuffer.baseAddress!, scores = scoreBuffer.baseAddress!
                    for j in 0..<d { keys[base + j] = k[j]; values[base + j] = v[j] }
                    for h in 0..<heads {
                        let offset = h * dh
                        for t in 0..<visible {
                            var dot: Float = 0
                            for j in 0..<dh { dot += q[offset + j] * keys[t * d + offset + j] }
                            scores[t] = dot * scale
                        }
                        switch kind {
                        case .softmax:
                            var m = scores[0]
                            for t in 1..<max(1, visible) { m = max(m, scores[t]) }
                            var sum: Float = 0
                            for t in 0..<visible { scores[t] = fastExp(scores[t] - m); sum += scores[t] }
                            for t in 0..<visible { scores[t] /= sum }
                        case .relu:
                            for t in 0..<visible { scores[t] = max(0, scores[t]) / Float(visible) }
                        case .none: break
                        }
                        for j in 0..<dh {
                            var sum: Float = 0
                            for t in 0..<visible { sum += scores[t] * values[t * d + offset + j] }
                            attended[offset + j] = sum
                        }
                    }
                }
            }
        }
        addProduct(attended, by: p.value(prefix + "attn.wo"), rows: d)
    }

    private func mlp(prefix: String) {
        let p = model.parameters, width = model.config.ffnHidden
        layerNorm(gain: p.value(prefix + "ln2.gain"), bias: p.value(prefix + "ln2.bias"))
        multiply(normed, by: p.value(prefix + "ffn.w1"), rows: d, columns: width, into: &hidden)
        let isGELU = model.config.activation == .gelu
        hidden.withUnsafeBufferPointer { input in
            activated.withUnsafeMutableBufferPointer { output in
                if isGELU {
                    Kernels.gelu(input.baseAddress!, into: output.baseAddress!, count: width)
                } else {
                    Kernels.relu(input.baseAddress!, into: output.baseAddress!, count: width)
                }
            }
        }
        addProduct(activated, by: p.value(prefix + "ffn.w2"), rows: width)
    }

    private func linear(prefix: String) {
        let p = model.parameters
        layerNorm(gain: p.value(prefix + "ln2.gain"), bias: p.value(prefix + "ln2.bias"))
        addProduct(normed, by: p.value(prefix + "ffn.w"), rows: d)
    }
}
