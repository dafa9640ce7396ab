/// Vectorised natural exponential for sixteen floats at once.
///
/// Cody–Waite range reduction `x = n·ln2 + r` with |r| ≤ ln2/2, the degree-6 minimax polynomial
/// of Cephes' `expf` for e^r, and 2^n built in the exponent bits. The float → int step uses the
/// 1.5·2²³ bit-pattern trick because `SIMD16<Int32>(floats)` takes a slow per-lane path.
/// Products are written with `addingProduct` so an FMA target fuses them (Swift never fuses
/// `a*b+c` by itself).
/// Relative error ≤ 2 ulp for x in [−87.3, 88.7]; x below −87.33 (including −∞) gives exactly 0,
/// x above 88.72 gives +∞, and NaN stays NaN.
@inlinable @inline(__always)
public func fastExp(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let lowest: Float = -87.33
    let highest: Float = 88.72
    let xc = x.replacing(with: highest, where: x .> highest)
    var result = expCore(xc.replacing(with: lowest, where: xc .< lowest))
    result = result.replacing(with: 0, where: x .< lowest)
    result = result.replacing(with: .infinity, where: x .> highest)
    return result.replacing(with: x, where: x .!= x)
}

/// The exponential of scores already shifted by their row maximum, the softmax inner loop.
///
/// For x ≤ 88.37 (softmax calls it with x ≤ 8; from 88.38 on 2ⁿ overflows to +∞).
/// Cheaper than `fastExp`, because at d = 64 the exponential costs a tenth of the attention
/// forward pass: one-step range reduction (the
/// rounding of ln2 adds at most |n|·2⁻²⁸ relative error, below 2.5·10⁻⁷ even for n = −126) and a
/// degree-5 polynomial fitted for relative error (≤ 1·10⁻⁷ on |r| ≤ ln2/2), evaluated by Horner
/// in five fused multiply-adds. Relative error ≤ 4·10⁻⁷ overall. Below −87.33 it returns
/// e^−87.33 ≈ 1.2·10⁻³⁸ instead of 0: against a row sum of at least 1 that is far below float32
/// rounding, and it saves blends. NaN propagates.
@inlinable @inline(__always)
public func fastExpShifted(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let lowest = SIMD16<Float>(repeating: -87.33)
    let xc = x.replacing(with: lowest, where: x .< lowest)
    let log2e: Float = 1.442_695_040_888_963_4
    let shifter = SIMD16<Float>(repeating: 12_582_912)  // 1.5·2²³, as in `expCore`
    let t = shifter.addingProduct(xc, log2e)
    let n = t - shifter
    let r = xc.addingProduct(n, -0.693_147_182_464_599_6)   // ln2 rounded to float
    var p = SIMD16<Float>(repeating: 8.291_809_8e-3)
    p = SIMD16<Float>(repeating: 4.189_829_9e-2).addingProduct(p, r)
    p = SIMD16<Float>(repeating: 1.666_761_34e-1).addingProduct(p, r)
    p = SIMD16<Float>(repeating: 4.999_914_77e-1).addingProduct(p, r)
    p = SIMD16<Float>(repeating: 9.999_997_02e-1).addingProduct(p, r)
    p = SIMD16<Float>(repeating: 1).addingProduct(p, r)
    let scaleBits = (unsafeBitCast(t, to: SIMD16<Int32>.self) &- (0x4B40_0000 - 127)) &<< 23
    return p * unsafeBitCast(scaleBits, to: SIMD16<Float>.self)
}

/// e^x for x already in [−87.33, 88.72].
@inlinable @inline(__always)
public func expCore(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let log2e: Float = 1.442_695_040_888_963_4
    let shifter = SIMD16<Float>(repeating: 12_582_912)  // 1.5·2²³: t's low mantissa bits hold round(x·log2e)
    let t = shifter.addingProduct(x, log2e)
    let n = t - shifter
    // r = x − n·ln2 in two steps: ln2 = C1 + C2 with C1 exact in few bits.
    var r = x.addingProduct(n, -0.693_359_375)
    r = r.addingProduct(n, 2.121_944_4e-4)
    var p = SIMD16<Float>(repeating: 1.398_199_950_7e-3).addingProduct(r, 1.987_569_150_0e-4)
    p = SIMD16<Float>(repeating: 8.333_451_907_3e-3).addingProduct(p, r)
    p = SIMD16<Float>(repeating: 4.166_579_589_4e-2).addingProduct(p, r)
    p = SIMD16<Float>(repeating: 1.666_666_545_9e-1).addingProduct(p, r)
    p = SIMD16<Float>(repeating: 5.000_000_120_1e-1).addingProduct(p, r)
    let er = (r + 1).addingProduct(p, r * r)
    // t's bit pattern is 0x4B40_0000 + n; 2^k has exponent bits k + 127. n reaches 128 for
    // x ≥ 88.38, where 2^n has no float32 exponent (bits 255 are +∞), so 2^n is applied as
    // 2^h·2^(n − h) with h = ⌊n/2⌋: er·2^h is exact, so the result still rounds only once.
    let exponent = unsafeBitCast(t, to: SIMD16<Int32>.self) &- 0x4B40_0000
    let half = exponent &>> 1
    let scaleHigh = unsafeBitCast((exponent &- half &+ 127) &<< 23, to: SIMD16<Float>.self)
    let scaleLow = unsafeBitCast((half &+ 127) &<< 23, to: SIMD16<Float>.self)
    return er * scaleLow * scaleHigh
}

/// Scalar exponential with the same rounding as `fastExp`, for loop tails.
@inlinable @inline(__always)
public func fastExp(_ x: Float) -> Float {
    fastExp(SIMD16<Float>(repeating: x))[0]
}
