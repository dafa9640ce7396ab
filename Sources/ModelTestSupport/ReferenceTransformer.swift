import Foundation
import Models

/// The transformer's forward pass in plain float64 loops, one sequence at a time: the reference
/// the float32 model is checked against (llm.c's CPU reference, in Double).
///
/// Same math as `Transformer` (see its documentation): learned positions, pre-LayerNorm
/// (ε = 1e-5), causal attention with softmax or ReLU(s)/(i+1) weights, ReLU / GELU-tanh MLP or a
/// linear FFN, final LayerNorm, untied unembedding, mean cross-entropy over targets ≥ 0.
public struct ReferenceTransformer {
    public let config: ModelConfig
    /// Every parameter by name, row-major, as Double.
    public var parameters: [String: [Double]]

    /// What one forward pass computed.
    public struct Result {
        public var loss: Double
        /// Each position's loss, (batch·T), 0 where ignored.
        public var positionLosses: [Double]
        /// Attention weights per layer, (batch, H, T, T).
        public var weights: [Int: [Double]]
        /// Scores per layer, (batch, H, T, T), −∞ above the diagonal.
        public var scores: [Int: [Double]]
        /// Values per layer, (batch, T, d), after any zeroed first value.
        public var values: [Int: [Double]] = [:]
    }

    /// The float32 model's current parameters, widened to Double.
    public init(_ model: Transformer) {
        config = model.config
        var parameters: [String: [Double]] = [:]
        for entry in model.parameters.entries {
            parameters[entry.name] = (0..<entry.count).map { Double(model.parameters.values[entry.offset + $0]) }
        }
        self.parameters = parameters
    }

    /// One forward pass. `mixture`, when given, is soft routing as `DuoMixture.weights` lays it
    /// out, `[(token·layers + layer)·2 + c]`: a duo layer adds p_big·f_big + p_small·f_small.
    public func run(tokens: [Int32], targets: [Int32], batch: Int, interventions: Interventions = .init(), routes: DuoRoutes? = nil,
                    mixture: [Double]? = nil) -> Result {
        let t = config.context, d = config.dModel, hCount = config.heads, dh = config.headDimension
        let v = config.vocabulary
        var result = Result(loss: 0, positionLosses: Array(repeating: 0, count: batch * t), weights: [:], scores: [:])
        var total = 0.0, counted = 0
        for b in 0..<batch {
            let token = parameters["embed.token"]!, position = parameters["embed.position"]!
            var x = (0..<t).map { i in (0..<d).map { j in token[Int(tokens[b * t + i]) * d + j] + position[i * d + j] } }
            for (l, layer) in config.layers.enumerated() {
                let p = "layers.\(l)."
                if interventions.removedLayers.contains(l) {
                    if interventions.zeroedFirstResiduals.contains(l) { x[0] = Array(repeating: 0, count: d) }
                    continue
                }
                if layer.attention != .none {
                    let a = x.map { layerNorm($0, parameters[p + "ln1.gain"]!, parameters[p + "ln1.bias"]!) }
                    let q = matmul(a, parameters[p + "attn.wq"]!, d)
                    let k = matmul(a, parameters[p + "attn.wk"]!, d)
                    var values = matmul(a, parameters[p + "attn.wv"]!, d)
                    if interventions.zeroedFirstValues.contains(l) { values[0] = Array(repeating: 0, count: d) }
                    result.values[l, default: []] += values.flatMap { $0 }
                    var heads = Array(repeating: Array(repeating: 0.0, count: d), count: t)
                    for h in 0..<hCount {
                        let forced = interventions.forcedAttention[.init(layer: l, head: h)]
                        for i in 0..<t {
                            var s = Array(repeating: -Double.infinity, count: t)
                            for j in 0...i {
                                var dot = 0.0
                                for c in 0..<dh { dot += q[i][h * dh + c] * k[j][h * dh + c] }
                                s[j] = dot / Double(dh).squareRoot()
                            }
                            var w = Array(repeating: 0.0, count: t)
                            if let key = forced?.key(tokens[(b * t)..<((b + 1) * t)], i) {
                                w[key] = 1
                            } else if layer.attention == .softmax {
                                let m = s[0...i].max()!
                                let z = s[0...i].reduce(0) { $0 + exp($1 - m) }
                                for j in 0...i { w[j] = exp(s[j] - m) / z }
                            } else {
                                for j in 0...i { w[j] = max(s[j], 0) / Double(i + 1) }
                            }
                            let base = ((b * hCount + h) * t + i) * t
                            result.weights[l, default: Array(repeating: 0, count: batch * hCount * t * t)]
                                .replaceSubrange(base..<base + t, with: w)
                            result.scores[l, default: Array(repeating: 0, count: batch * hCount * t * t)]
                                .replaceSubrange(base..<base + t, with: s)
                            if interventions.zeroedHeads.contains(.init(layer: l, head: h)) { continue }
                            for j in 0...i {
                                for c in 0..<dh { heads[i][h * dh + c] += w[j] * values[j][h * dh + c] }
                            }
                        }
                    }
                    x = add(x, matmul(heads, parameters[p + "attn.wo"]!, d))
                }
                if layer.ffn != .none && !interventions.removedFFNs.contains(l) {
                    let a = x.map { layerNorm($0, parameters[p + "ln2.gain"]!, parameters[p + "ln2.bias"]!) }
                    if layer.duo, let mixture {
                        for i in 0..<t {
                            for (c, q) in [p + "ffn.", p + "ffn.small."].enumerated() {
                                let width = c == 0 ? config.ffnHidden : config.smallFFNHidden
                                let hidden = matmul([a[i]], parameters[q + "w1"]!, width).map { $0.map(activation) }
                                let weight = mixture[((b * t + i) * config.depth + l) * 2 + c]
                                x[i] = add([x[i]], matmul(hidden, parameters[q + "w2"]!, d).map { $0.map { weight * $0 } })[0]
                            }
                        }
                    } else if layer.duo {
                        // Each row through its own route's MLP (nil routes: all big).
                        for i in 0..<t {
                            let route = routes?.choices[(b * t + i) * config.depth + l] ?? .big
                            guard route != .skip else { continue }
                            let q = route == .big ? p + "ffn." : p + "ffn.small."
                            let width = route == .big ? config.ffnHidden : config.smallFFNHidden
                            let hidden = matmul([a[i]], parameters[q + "w1"]!, width).map { $0.map(activation) }
                            x[i] = add([x[i]], matmul(hidden, parameters[q + "w2"]!, d))[0]
                        }
                    } else if layer.ffn == .mlp {
                        let hidden = matmul(a, parameters[p + "ffn.w1"]!, config.ffnHidden).map { $0.map(activation) }
                        x = add(x, matmul(hidden, parameters[p + "ffn.w2"]!, d))
                    } else {
                        x = add(x, matmul(a, parameters[p + "ffn.w"]!, d))
                    }
                }
                if interventions.zeroedFirstResiduals.contains(l) { x[0] = Array(repeating: 0, count: d) }
            }
            let normed = x.map { layerNorm($0, parameters["final_ln.gain"]!, parameters["final_ln.bias"]!) }
            let logits = matmul(normed, parameters["unembed"]!, v)
            for i in 0..<t {
                let target = Int(targets[b * t + i])
                guard target >= 0 else { continue }
                let m = logits[i].max()!
                let lse = m + log(logits[i].reduce(0) { $0 + exp($1 - m) })
                result.positionLosses[b * t + i] = lse - logits[i][target]
                total += lse - logits[i][target]
                counted += 1
            }
        }
        result.loss = counted > 0 ? total / Double(counted) : 0
        return result
    }

    public func loss(tokens: [Int32], targets: [Int32], batch: Int, interventions: Interventions = .init(), routes: DuoRoutes? = nil,
                     mixture: [Double]? = nil) -> Double {
        run(tokens: tokens, targets: targets, batch: batch, interventions: interventions, routes: routes, mixture: mixture).loss
    }

    /// (rows, k) · (k, columns) with `weights` row-major.
    private func matmul(_ x: [[Double]], _ weights: [Double], _ columns: Int) -> [[Double]] {
        x.map { row in
            var out = Array(repeating: 0.0, count: columns)
            for (c, value) in row.enumerated() {
                for j in 0..<columns { out[j] += value * weights[c * columns + j] }
            }
            return out
        }
    }

    private func add(_ a: [[Double]], _ b: [[Double]]) -> [[Double]] {
        zip(a, b).map { zip($0, $1).map { $0 + $1 } }
    }

    private func layerNorm(_ x: [Double], _ gain: [Double], _ bias: [Double]) -> [Double] {
        let mean = x.reduce(0, +) / Double(x.count)
        let variance = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(x.count)
        let rstd = 1 / (variance + 1e-5).squareRoot()
        return x.indices.map { (x[$0] - mean) * rstd * gain[$0] + bias[$0] }
    }

    private func activation(_ x: Double) -> Double {
        switch config.activation {
        case .relu: max(x, 0)
        case .gelu: 0.5 * x * (1 + tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
        }
    }
}
