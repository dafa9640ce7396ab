import Foundation
import Models
import TensorCore

/// Duo-LLM's trained router (arXiv 2410.10846, §2): per layer l, a linear map of the residual
/// stream entering the layer's FFN to C logits, `z = x·W_l + b_l` (C = 2: big, small; C = 3 with
/// skip), and `p = softmax(z/τ)`. p_big and p_small are the layer's `DuoMixture` weights (skip
/// adds nothing); in hard mode each token takes argmax z instead, as one-hot weights.
///
/// The router reads the stream detached: no gradient flows from the router into the base model's
/// stream, so a router's effect on the later routers' inputs is not differentiated (the base
/// model is frozen; only W and b learn).
///
/// Parameters (`parameters`, for AdamW): `router.L{l}.weight` [d, C], `router.L{l}.bias` [C].
final class Router {
    let layers: Int, dModel: Int, choices: Int
    let parameters: ParameterStore
    /// The softmax temperature τ of soft passes.
    var temperature: Float = 1
    /// Whether passes route hard (one-hot argmax weights) instead of soft.
    var isHard = false
    /// Per layer, the last pass's inputs, (n, d), and probabilities, (n, C), row-major.
    private var inputs: [[Float]], probabilities: [[Float]]
    /// Per layer, the last pass's argmax route per token, (n).
    private(set) var picks: [[DuoRoute]]

    /// A router for `layers` layers of width `dModel`, weights normal(0, 0.02) from `seed` and
    /// biases 0, so every route starts near equally likely.
    init(layers: Int, dModel: Int, skip: Bool, seed: UInt64) {
        self.layers = layers; self.dModel = dModel; choices = skip ? 3 : 2
        parameters = ParameterStore((0..<layers).flatMap { [dModel, choices] l in
            [("router.L\(l).weight", [dModel, choices], true), ("router.L\(l).bias", [choices], false)]
        })
        var random = SeededRandom(seed: seed)
        for l in 0..<layers {
            let weight = parameters.value("router.L\(l).weight")
            for i in 0..<(dModel * choices) { weight[i] = random.normal(mean: 0, standardDeviation: 0.02) }
        }
        inputs = Array(repeating: [], count: layers)
        probabilities = Array(repeating: [], count: layers)
        picks = Array(repeating: [], count: layers)
    }

    /// The mixture a `Transformer` calls layer by layer.
    var mixture: DuoMixture {
        DuoMixture(layers: layers) { [self] layer, stream, weights in weigh(layer: layer, stream: stream, into: weights) }
    }

    /// Layer `l`'s weights, (n, 2), from the stream entering its FFN, (n, d); keeps what backward needs.
    /// - Complexity: O(n·d·C).
    func weigh(layer l: Int, stream: UnsafeBufferPointer<Float>, into weights: UnsafeMutableBufferPointer<Float>) {
        let d = dModel, c = choices, n = stream.count / d
        let weight = parameters.value("router.L\(l).weight"), bias = parameters.value("router.L\(l).bias")
        var p = [Float](repeating: 0, count: n * c)
        var pick = [DuoRoute](repeating: .big, count: n)
        var z = [Float](repeating: 0, count: c)
        for r in 0..<n {
            for k in 0..<c { z[k] = bias[k] }
            for j in 0..<d {
                let x = stream[r * d + j]
                for k in 0..<c { z[k] += x * weight[j * c + k] }
            }
            var best = 0
            for k in 1..<c where z[k] > z[best] { best = k }    // ties go to big, then small
            pick[r] = DuoRoute(rawValue: UInt8(best))!
            if isHard {
                p[r * c + best] = 1
            } else {
                // Subtract the maximum: z/τ reaches hundreds at τ = 0.05 and expf overflows past 88.7.
                var sum: Float = 0
                for k in 0..<c { p[r * c + k] = expf((z[k] - z[best]) / temperature); sum += p[r * c + k] }
                for k in 0..<c { p[r * c + k] /= sum }
            }
            weights[2 * r] = p[r * c]
            weights[2 * r + 1] = p[r * c + 1]
        }
        inputs[l] = Array(stream)
        probabilities[l] = p
        picks[l] = pick
    }

    /// The mean of p_big over the last pass's tokens and layers (what the budget term constrains).
    var meanBigProbability: Double {
        let total = probabilities.reduce(0.0) { sum, p in stride(from: 0, to: p.count, by: choices).reduce(sum) { $0 + Double(p[$1]) } }
        return total / Double(max(1, probabilities.reduce(0) { $0 + $1.count / choices }))
    }

    /// The last pass's argmax routes as `DuoRoutes`, (tokens, layers).
    var routes: DuoRoutes {
        let n = picks[0].count
        return DuoRoutes(layers: layers, choices: (0..<(n * layers)).map { picks[$0 % layers][$0 / layers] })
    }

    /// Writes the gradients of the router's parameters (overwriting them), given dL/dp of the soft
    /// pass, (tokens, layers, 2) as `Transformer.mixtureGradients` lays it out, plus `bigGradient`
    /// added to every dL/dp_big (the budget term's). Skip's dL/dp is 0. Through the softmax:
    /// `dL/dz_k = p_k·(g_k − Σ_c p_c·g_c)/τ`; then dW = xᵀ·dz and db = Σ_t dz.
    /// - Complexity: O(tokens·layers·d·C).
    func backward(mixtureGradients g: [Float], bigGradient: Float) {
        parameters.zeroGradients()
        let d = dModel, c = choices
        var dz = [Float](repeating: 0, count: c), gk = [Float](repeating: 0, count: c)
        for l in 0..<layers {
            let x = inputs[l], p = probabilities[l], n = p.count / c
            let dWeight = parameters.gradient("router.L\(l).weight"), dBias = parameters.gradient("router.L\(l).bias")
            for r in 0..<n {
                gk[0] = g[(r * layers + l) * 2] + bigGradient
                gk[1] = g[(r * layers + l) * 2 + 1]
                var mean: Float = 0
                for k in 0..<c { mean += p[r * c + k] * gk[k] }
                for k in 0..<c { dz[k] = p[r * c + k] * (gk[k] - mean) / temperature; dBias[k] += dz[k] }
                for j in 0..<d {
                    let xj = x[r * d + j]
                    for k in 0..<c { dWeight[j * c + k] += xj * dz[k] }
                }
            }
        }
    }
}
