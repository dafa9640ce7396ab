/// Vectorised natural exponential for sixteen floats at once.
///
/// Cody–Waite range reduction `x = n·ln2 + r` with |r| ≤ ln2/2, the degree-6 minimax polynomial
/// of Cephes' `expf` for e^r, and 2^n built in the exponent bits. The float → int step uses the
/// 1.5·2²³ bit-pattern trick because `SIMD16<Int32>(floats)` takes a slow per-lane path.
/// Relative error ≤ 2 ulp for x in [−87.3, 88.7]; x below −87.3 (including −∞) gives exactly 0,
/// x above 88.7 gives +∞ (via saturation at 2^128), and NaN stays NaN.
@inlinable @inline(__always)
public func fastExp(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let log2e: Float = 1.442_695_040_888_963_4
    let shifter: Float = 12_582_912  // 1.5·2²³: adding it rounds to an integer in the low mantissa bits
    let lowest: Float = -87.33
    let highest: Float = 88.72
    let xc = x.replacing(with: highest, where: x .> highest).replacing(with: lowest, where: x .< lowest)
    let t = xc * log2e + shifter
    let n = t - shifter
    // r = x − n·ln2 in two steps: ln2 = C1 + C2 with C1 exact in few bits.
    var r = xc - n * 0.693_359_375
    r = r - n * -2.121_944_4e-4
    let r2 = r * r
    var p: SIMD16<Float> = SIMD16(repeating: 1.987_569_150_0e-4)
    p = p * r + 1.398_199_950_7e-3
    p = p * r + 8.333_451_907_3e-3
    p = p * r + 4.166_579_589_4e-2
    p = p * r + 1.666_666_545_9e-1
    p = p * r + 5.000_000_120_1e-1
    let er = p * r2 + r + 1
    // t's bit pattern is 0x4B40_0000 + n; 2^n has exponent bits n + 127.
    let tBits = unsafeBitCast(t, to: SIMD16<Int32>.self)
    let scaleBits = (tBits &- 0x4B40_0000 &+ 127) &<< 23
    var result = er * unsafeBitCast(scaleBits, to: SIMD16<Float>.self)
    result = result.replacing(with: 0, where: x .< lowest)
    result = result.replacing(with: .infinity, where: x .> highest)
    return result.replacing(with: x, where: x .!= x)
}

/// Scalar exponential with the same rounding as `fastExp`, for loop tails.
@inlinable @inline(__always)
public func fastExp(_ x: Float) -> Float {
    fastExp(SIMD16<Float>(repeating: x))[0]
}
