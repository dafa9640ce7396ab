/// Which keys each query may see, in global sequence positions.
///
/// Query row i of a call sits at global position `queryOffset + i`, key row j at `keyOffset + j`,
/// so a shard of a long sequence asks for exactly its part of the full mask. With Δ = qpos − kpos:
/// - causal: visible iff Δ ≥ 0;
/// - window W (W ≥ 1): visible iff |Δ| < W, or 0 ≤ Δ < W when also causal (a sliding window).
/// For every query the visible keys form one contiguous range, which the blockwise kernel uses to
/// skip fully masked blocks and to mask elementwise only on boundary blocks.
public struct AttentionMask: Sendable, Hashable, CustomStringConvertible {
    /// Whether a query sees only keys at or before its own position.
    public var isCausal: Bool
    /// The local window width, or nil for no window.
    public var window: Int?
    /// Global position of query row 0.
    public var queryOffset: Int
    /// Global position of key row 0.
    public var keyOffset: Int

    /// A mask; `window` must be at least 1 when given.
    public init(isCausal: Bool = false, window: Int? = nil, queryOffset: Int = 0, keyOffset: Int = 0) {
        self.isCausal = isCausal
        self.window = window
        self.queryOffset = queryOffset
        self.keyOffset = keyOffset
    }

    /// Every query sees every key.
    public static let none = AttentionMask()

    /// Causal with the given global offsets of the first query and key rows.
    public static func causal(queryOffset: Int = 0, keyOffset: Int = 0) -> AttentionMask {
        AttentionMask(isCausal: true, queryOffset: queryOffset, keyOffset: keyOffset)
    }

    /// Causal over `n` queries and `m` keys aligned at the end, as flash-attention does:
    /// query i sees keys 0 … m − n + i (for n > m the first n − m queries see nothing).
    public static func causalAlignedToEnd(queries n: Int, keys m: Int) -> AttentionMask {
        .causal(queryOffset: m - n, keyOffset: 0)
    }

    /// Whether query row `i` sees key row `j`.
    @inlinable
    public func isVisible(query i: Int, key j: Int) -> Bool {
        let delta = (queryOffset + i) - (keyOffset + j)
        if isCausal && delta < 0 { return false }
        if let window, abs(delta) >= window { return false }
        return true
    }

    /// The key rows query row `i` sees among `0..<keyCount`, as one half-open range (maybe empty).
    @inlinable
    public func visibleKeys(query i: Int, keyCount: Int) -> Range<Int> {
        let qpos = queryOffset + i
        var low = 0, high = keyCount                       // key rows, half-open
        if isCausal { high = min(high, qpos - keyOffset + 1) }
        if let window {
            low = max(low, qpos - window + 1 - keyOffset)
            if !isCausal { high = min(high, qpos + window - keyOffset) }
        }
        low = max(0, low)
        high = min(keyCount, high)
        return low < high ? low..<high : 0..<0
    }

    public var description: String {
        var parts: [String] = []
        if isCausal { parts.append("causal") }
        if let window { parts.append("window \(window)") }
        if parts.isEmpty { parts.append("none") }
        if queryOffset != 0 || keyOffset != 0 { parts.append("offsets q\(queryOffset) k\(keyOffset)") }
        return parts.joined(separator: ", ")
    }
}
