/// Loom's reproducible random numbers: xoshiro256** (Blackman & Vigna 2018) seeded by SplitMix64.
///
/// Everything from the seed to the returned floats is integer arithmetic plus IEEE `+ − × ÷ √`,
/// which round identically everywhere; the logarithm, sine and cosine of Box–Muller are Loom's own
/// (`PortableMath`) rather than the platform's libm, whose last bits differ between systems.
/// So one seed gives the same bits on every machine and every Swift version. The standard
/// library's `Float.random(in:using:)` is avoided because its mapping from bits to floats is not
/// documented as stable.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    @usableFromInline var s0: UInt64
    @usableFromInline var s1: UInt64
    @usableFromInline var s2: UInt64
    @usableFromInline var s3: UInt64
    /// The sine half of the last Box–Muller pair, returned by the next `normal` call.
    var spareNormal: Double?

    /// A generator whose stream is fixed by `seed`: the state is four SplitMix64 outputs, as the
    /// xoshiro authors recommend (never all zero, and unrelated for nearby seeds).
    public init(seed: UInt64) {
        var seeder = SplitMix64(seed: seed)
        s0 = seeder.next()
        s1 = seeder.next()
        s2 = seeder.next()
        s3 = seeder.next()
    }

    /// The next 64 random bits (xoshiro256**).
    @inlinable
    public mutating func next() -> UInt64 {
        let result = rotateLeft(s1 &* 5, by: 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotateLeft(s3, by: 45)
        return result
    }

    @inlinable @inline(__always)
    func rotateLeft(_ x: UInt64, by k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 - k))
    }

    /// A float uniform on [0, 1): the top 24 bits of `next()` times 2⁻²⁴, so every one of the
    /// 2²⁴ equally spaced values is equally likely and each is exact in float32.
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * 0x1p-24
    }

    /// A float uniform on `range`: `lower + (upper − lower)·u` with u from `nextUnitFloat()`.
    ///
    /// When rounding would give `upper` itself, the result is the float just below it, so the
    /// range stays half-open.
    /// - Precondition: `range` is not empty and its bounds are finite.
    public mutating func uniform(in range: Range<Float>) -> Float {
        precondition(!range.isEmpty && range.lowerBound.isFinite && range.upperBound.isFinite,
                     "uniform(in:) needs a non-empty finite range, got \(range)")
        let value = range.lowerBound + (range.upperBound - range.lowerBound) * nextUnitFloat()
        return value < range.upperBound ? value : range.upperBound.nextDown
    }

    /// A normally distributed float (Box–Muller), computed in float64 and rounded once.
    ///
    /// Each pair of uniforms u₁ ∈ (0, 1], u₂ ∈ [0, 1) (53 bits each) gives two standard normals
    /// `√(−2 ln u₁)·cos 2πu₂` and `√(−2 ln u₁)·sin 2πu₂`; this call returns the first and keeps
    /// the second for the next call, so n calls consume n/2 pairs. Samples reach at most
    /// √(−2 ln 2⁻⁵³) ≈ 8.6 standard deviations.
    /// - Parameters:
    ///   - mean: the distribution's mean.
    ///   - standardDeviation: the distribution's standard deviation, ≥ 0.
    /// - Returns: `Float(mean + standardDeviation·z)` for a standard normal z.
    public mutating func normal(mean: Float = 0, standardDeviation: Float = 1) -> Float {
        Float(Double(mean) + Double(standardDeviation) * standardNormal())
    }

    /// A standard normal float64: the spare from the last pair, or the first of a new pair.
    mutating func standardNormal() -> Double {
        if let spare = spareNormal {
            spareNormal = nil
            return spare
        }
        // 1 − k·2⁻⁵³ is exact and never 0, so the logarithm is finite.
        let u1 = 1 - Double(next() >> 11) * 0x1p-53
        let u2 = Double(next() >> 11) * 0x1p-53
        let radius = (-2 * PortableMath.log(u1)).squareRoot()
        let (sine, cosine) = PortableMath.sinCos(turns: u2)
        spareNormal = radius * sine
        return radius * cosine
    }
}
