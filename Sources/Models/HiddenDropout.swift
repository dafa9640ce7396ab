import TensorCore

/// A dropout-style perturbation of the big FFNs' hidden units in duo layers (Duo-LLM's null
/// control): each (token row, hidden unit) of each layer is dropped with probability `rate` and
/// the kept units are scaled by 1/(1 − rate). The mask is a hash of (seed, layer, row, unit), so
/// it does not depend on how rows are packed or split across threads, and backward recomputes it.
public struct HiddenDropout: Sendable, Hashable {
    /// q ∈ [0, 1): the probability a hidden unit is dropped.
    public var rate: Double
    /// Fixes the mask.
    public var seed: UInt64

    public init(rate: Double, seed: UInt64) { self.rate = rate; self.seed = seed }

    /// Whether unit `unit` of batch row `row` at layer `layer` is kept.
    @inline(__always)
    public func keeps(layer: Int, row: Int, unit: Int) -> Bool {
        // One SplitMix64 finaliser over the packed coordinates: rows < 2^24, units < 2^20, layers < 2^16.
        var z = seed &+ 0x9E37_79B9_7F4A_7C15 &* (UInt64(layer) << 44 | UInt64(row) << 20 | UInt64(unit) &+ 1)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) * 0x1p-53 >= rate
    }
}

extension Transformer {
    /// Multiplies the packed hidden rows `values` (count, hidden) of layer `l`'s big FFN by the
    /// dropout mask and 1/(1 − q): the hidden activations in forward, their gradient in backward.
    func applyDropout(_ dropout: HiddenDropout, layer l: Int, rows: UnsafeMutablePointer<Int>, count: Int, hidden: Int,
                      to values: UnsafeMutablePointer<Float>) {
        let scale = Float(1 / (1 - dropout.rate))
        nonisolated(unsafe) let values = values, rows = rows  // disjoint packed rows per worker
        split.rows(count) { range, _ in
            for i in range {
                let row = rows[i], out = values + i * hidden
                for j in 0..<hidden { out[j] = dropout.keeps(layer: l, row: row, unit: j) ? out[j] * scale : 0 }
            }
        }
    }
}
