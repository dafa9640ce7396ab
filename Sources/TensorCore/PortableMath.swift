/// Float64 logarithm, sine and cosine built only from IEEE `+ − × ÷` and integer operations.
///
/// libm's `log` and `cos` differ in their last bits between glibc, Apple's libm and musl; these
/// give the same bits everywhere, which `SeededRandom`'s reproducible normals need. Accuracy is a
/// few ulp, far below float32's resolution. Swift does not contract `a·b + c` into a fused
/// multiply–add by itself, so the rounding does not depend on the target CPU either.
enum PortableMath {
    /// The natural logarithm of a positive normal `x`.
    ///
    /// `x = m·2ᵉ` with m ∈ [√½, √2); `ln m = 2·atanh s = 2(s + s³/3 + s⁵/5 + …)` with
    /// `s = (m − 1)/(m + 1)`, |s| ≤ 0.172, so eleven terms reach 1e-17; `e·ln 2` is added in two
    /// parts (fdlibm's split) so that `e·ln2High` is exact.
    /// - Precondition: `x` is positive, finite and normal (callers pass u ∈ [2⁻⁵³, 1]).
    static func log(_ x: Double) -> Double {
        let ln2High = 6.931_471_803_691_238_164_90e-01  // the top 32 bits of ln 2
        let ln2Low = 1.908_214_929_270_587_700_02e-10   // ln 2 − ln2High
        let bits = x.bitPattern
        var exponent = Int((bits >> 52) & 0x7FF) - 1023
        var m = Double(bitPattern: (bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000)  // [1, 2)
        if m > 1.414_213_562_373_095_1 {
            m *= 0.5
            exponent += 1
        }
        let s = (m - 1) / (m + 1)
        let s2 = s * s
        // Horner in s² for 1 + s²/3 + s⁴/5 + … + s²²/23.
        var series = 1.0 / 23
        for denominator in stride(from: 21.0, through: 1.0, by: -2.0) {
            series = series * s2 + 1 / denominator
        }
        let e = Double(exponent)
        return e * ln2High + (e * ln2Low + 2 * s * series)
    }

    /// `(sin 2πt, cos 2πt)` for `t` ∈ [0, 1).
    ///
    /// The angle is given in turns so that the reduction to a quadrant is exact: `4t` splits into
    /// a quadrant q and a fraction f without rounding, and f > ½ is folded to 1 − f (also exact),
    /// leaving θ ≤ π/4 for Taylor series that converge to 1e-17 by the 17th power.
    /// - Precondition: 0 ≤ t < 1.
    static func sinCos(turns t: Double) -> (sin: Double, cos: Double) {
        let quarterTurns = 4 * t
        let quadrant = Int(quarterTurns)
        let fraction = quarterTurns - Double(quadrant)
        let halfPi = 1.570_796_326_794_896_6
        let folded = fraction > 0.5
        let theta = (folded ? 1 - fraction : fraction) * halfPi
        let t2 = theta * theta
        // sin θ = θ(1 − θ²/(2·3)(1 − θ²/(4·5)(1 − …))), cos θ = 1 − θ²/(1·2)(1 − θ²/(3·4)(1 − …)).
        var sine = 1.0
        var cosine = 1.0
        for k in stride(from: 16, through: 2, by: -2) {
            let n = Double(k)
            sine = 1 - t2 / (n * (n + 1)) * sine
            cosine = 1 - t2 / ((n - 1) * n) * cosine
        }
        sine *= theta
        // Folding swaps sine and cosine: sin(π/2 − θ) = cos θ.
        let (s, c) = folded ? (cosine, sine) : (sine, cosine)
        switch quadrant & 3 {
        case 0: return (s, c)
        case 1: return (c, -s)
        case 2: return (-s, -c)
        default: return (-c, s)
        }
    }
}
