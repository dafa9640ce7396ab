import Foundation

/// A seeded SplitMix64 generator (Steele, Lea & Flood, 2014): the same seed gives the same stream
/// on every platform, so a failing case is re-run exactly.
///
/// Tests keep their own generator rather than TensorCore's so that the references and inputs do
/// not change when TensorCore's generator does. Rank r of a distributed test uses `seed + r` (§6).
public struct TestRandom: RandomNumberGenerator, Sendable {
    /// The generator's whole state.
    public private(set) var state: UInt64

    /// A generator whose stream is fixed by `seed`.
    public init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15                  // the golden-ratio increment (Weyl sequence)
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform double in the open interval (0, 1): 53 random bits, offset by half a step so that
    /// `log` of it is always finite.
    public mutating func nextUniform() -> Double {
        (Double(next() >> 11) + 0.5) * 0x1p-53
    }

    /// A standard normal double (Box–Muller; one of the pair is discarded to keep the state simple).
    public mutating func nextNormal() -> Double {
        let radius = (-2 * log(nextUniform())).squareRoot()
        return radius * cos(2 * Double.pi * nextUniform())
    }

    /// `count` normal doubles with the given mean and standard deviation.
    /// - Complexity: O(count).
    public mutating func normals(count: Int, mean: Double = 0, standardDeviation: Double = 1) -> [Double] {
        (0..<count).map { _ in mean + standardDeviation * nextNormal() }
    }

    /// `count` normal values rounded to float32 — the inputs a float32 kernel sees — as doubles,
    /// so a float64 reference computes on exactly the same numbers.
    /// - Complexity: O(count).
    public mutating func float32Normals(count: Int, mean: Double = 0, standardDeviation: Double = 1) -> [Double] {
        (0..<count).map { _ in Double(Float(mean + standardDeviation * nextNormal())) }
    }
}
