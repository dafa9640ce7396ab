import Models
import TensorCore

/// Which tokens each head is active on (Guo et al. 2024): feed BOS, a context of non-trigger
/// tokens, then the token v; the head is dormant on v when the last position puts at least
/// `threshold` (0.89) of its attention on BOS, and active otherwise.
public enum ActiveDormantClassifier {
    public static let threshold = 0.89

    /// For each (layer, head), the tokens it is active on.
    /// - Parameters:
    ///   - contexts: how many random non-trigger contexts to average the BOS attention over.
    ///   - contextLength: tokens between BOS and v (capped by the model's context).
    /// - Returns: keyed by `L<ℓ>.H<h>`; also the mean BOS attention per token, same keys.
    public static func classify(_ model: Transformer, task: BigramBackcopyTask, contexts: Int = 8, contextLength: Int = 16,
                                seed: UInt64 = 7) throws(ModelError) -> (active: [String: Set<Int>], bosAttention: [String: [Double]]) {
        let config = model.config
        let statistics = task.statistics
        let candidates = (0..<statistics.count).filter { $0 != statistics.beginToken && $0 != statistics.delimiterToken }
        let k = max(0, min(contextLength, config.context - 2))
        let t = config.context
        // Contexts: bigram chains over non-trigger tokens, seeded.
        var random = SeededRandom(seed: seed)
        var chains: [[Int]] = []
        for _ in 0..<contexts {
            var chain: [Int] = []
            var current = statistics.beginToken
            for _ in 0..<k {
                let row = statistics.bigram[current].enumerated().map { task.isTrigger[$0.offset] || $0.offset == statistics.beginToken
                    || $0.offset == statistics.delimiterToken ? 0 : $0.element }
                let total = row.reduce(0, +)
                var pick = Double(random.nextUnitFloat()) * total, next = candidates.first { !task.isTrigger[$0] } ?? 0
                if total > 0 {
                    for (token, p) in row.enumerated() where p > 0 { pick -= p; if pick <= 0 { next = token; break } }
                }
                chain.append(next)
                current = next
            }
            chains.append(chain)
        }
        let saved = model.hooks
        defer { model.hooks = saved }
        var hooks = ModelHooks()
        hooks.captureWeights = true
        model.hooks = hooks
        var attention: [String: [Double]] = [:]
        let rows = chains.count * candidates.count
        // One batch per chunk of sequences the model's arena can take.
        var sums = [[Double]](repeating: [Double](repeating: 0, count: candidates.count), count: config.depth * config.heads)
        var first = 0
        while first < rows {
            let size = min(model.maxBatch, rows - first)
            var tokens = [Int32](repeating: Int32(statistics.beginToken), count: size * t)
            let targets = [Int32](repeating: -1, count: size * t)
            for r in 0..<size {
                let (chain, candidate) = ((first + r) / candidates.count, (first + r) % candidates.count)
                for (i, token) in chains[chain].enumerated() { tokens[r * t + 1 + i] = Int32(token) }
                tokens[r * t + 1 + k] = Int32(candidates[candidate])
            }
            _ = try model.forward(tokens: tokens, targets: targets, batch: size, positionLosses: nil)
            for layer in 0..<config.depth {
                guard let weights = model.hooks.captured[layer]?.weights else { continue }
                weights.storage.withUnsafeBufferPointer { w in
                    for r in 0..<size {
                        let candidate = (first + r) % candidates.count
                        for h in 0..<config.heads {
                            // Row of query k+1 (the token v), column 0 (BOS).
                            sums[layer * config.heads + h][candidate] += Double(w[((r * config.heads + h) * t + k + 1) * t])
                        }
                    }
                }
            }
            first += size
        }
        var active: [String: Set<Int>] = [:]
        for layer in 0..<config.depth where config.layers[layer].attention != .none {
            for h in 0..<config.heads {
                let key = "L\(layer).H\(h)"
                let means = sums[layer * config.heads + h].map { $0 / Double(chains.count) }
                var byToken = [Double](repeating: .nan, count: statistics.count)
                for (index, token) in candidates.enumerated() { byToken[token] = means[index] }
                attention[key] = byToken
                active[key] = Set(candidates.enumerated().filter { means[$0.offset] < threshold }.map(\.element))
            }
        }
        return (active, attention)
    }
}
