import Foundation
import Models
import TensorCore

/// Duo-LLM's null control: for budget k, the per-token minimum of CE over M_k = min(C(L, k), N)
/// passes of the all-big model, each perturbed at random with no routing signal (dropout on the
/// big FFNs' hidden units, `HiddenDropout`, its own seeded mask per pass). The oracle at k takes a
/// per-token minimum over C(L, k) routes; the null takes one over as many noisy passes, so the gap
/// between the two is what routing adds beyond the selection effect of a minimum over many
/// candidates. Pass i is the same in every budget (a budget with more passes extends a smaller one).
public struct NullControl: Sendable, Equatable {
    /// `passes[k]` = M_k.
    public let passes: [Int]
    /// `perplexity[k]` = exp(mean over t of the minimum over passes i < M_k of CE_i[t]).
    public let perplexity: [Double]

    /// M_k = min(C(L, k), N) for k = 0…L.
    public static func passCounts(layers: Int, randomRoutes: Int) -> [Int] {
        var counts: [Int] = [], binomial = 1
        for k in 0...layers {
            counts.append(min(binomial, randomRoutes))
            binomial = binomial * (layers - k) / (k + 1)   // exact: C(L, k)·(L − k) is divisible by k + 1
        }
        return counts
    }

    /// The dropout seed of pass `index`: independent of how many passes run.
    public static func passSeed(_ seed: UInt64, pass index: Int) -> UInt64 {
        var mix = SplitMix64(seed: seed ^ 0x4E55_4C4C_0000_0000 &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
        return mix.next()
    }

    /// Runs max_k M_k perturbed all-big passes of `batch` and keeps each token's running minimum.
    /// - Parameters:
    ///   - rate: the dropout rate q ∈ [0, 1) (q = 0 gives the all-big pass every time).
    ///   - seed: fixes every pass's mask.
    /// - Throws: `ModelError` for a model without duo layers, a bad rate or batch, or a stop.
    /// - Complexity: max_k M_k forward passes; O(tokens) memory beyond the model.
    public static func run(_ model: Transformer, batch: TrainingBatch, randomRoutes: Int, rate: Double, seed: UInt64,
                           shouldStop: () -> Bool = { false }) throws(ModelError) -> NullControl {
        let counts = passCounts(layers: model.config.depth, randomRoutes: max(1, randomRoutes))
        let n = batch.size * batch.length, total = counts.max() ?? 1
        var minimum = [Float](repeating: .infinity, count: n), losses = [Float](repeating: 0, count: n)
        var sums: [Int: Double] = [:]   // pass count → Σ_t running minimum
        defer { model.interventions.bigFFNDropout = nil; model.routes = nil }
        model.routes = nil   // all big
        for pass in 0..<total {
            if shouldStop() { throw .input("the null control was stopped after \(pass) of \(total) passes") }
            model.interventions.bigFFNDropout = HiddenDropout(rate: rate, seed: passSeed(seed, pass: pass))
            try losses.withUnsafeMutableBufferPointer { (buffer) throws(ModelError) in
                _ = try model.forward(tokens: batch.inputs, targets: batch.targets, batch: batch.size, positionLosses: buffer.baseAddress!)
            }
            for t in 0..<n where losses[t] < minimum[t] { minimum[t] = losses[t] }
            if counts.contains(pass + 1) { sums[pass + 1] = minimum.reduce(0.0) { $0 + Double($1) } }
        }
        return NullControl(passes: counts, perplexity: counts.map { exp(sums[$0]! / Double(max(1, n))) })
    }
}
