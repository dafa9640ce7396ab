/// The SplitMix64 generator (Steele, Lea & Flood 2014), used to expand a seed into a larger state.
///
/// Each output is a bijective mix of a Weyl sequence `state += 0x9E3779B97F4A7C15`, so nearby
/// seeds (0, 1, 2, …) give unrelated streams. Pure integer arithmetic: the same seed gives the
/// same bits on every machine.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The Weyl sequence's current value; the whole state of the generator.
    public private(set) var state: UInt64

    /// A generator whose stream is fixed by `seed`.
    public init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15  // 2⁶⁴/φ, odd: the sequence visits every value once
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
