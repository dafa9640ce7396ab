import Foundation
import TensorCore

/// Row operations on one score tile, vectorised over SIMD16 with scalar tails.
///
/// A tile row holds `width` scores; only columns `lo..<hi` are visible to the row's query. The
/// kernels read and write visible columns and zero the rest, so the following sgemm (P·V) sees
/// exact zeros for masked keys without a separate masking pass.
enum TileKernels {
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
    }

    @inline(__always)
    static func store(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
    }

    /// The largest of `row[lo..<hi]` (−∞ when empty); on AVX-512 in C, with the same bits.
    @inline(__always)
    static func maximum(_ row: UnsafePointer<Float>, _ lo: Int, _ hi: Int, kernel: TileKernel = .active) -> Float {
        if kernel == .avx512 { return FusedKernels.rowMaximum(row, lo, hi) }
        var lanes = SIMD16<Float>(repeating: -.infinity)
        var c = lo
        while c + 16 <= hi {
            lanes = larger(lanes, load(row + c))
            c += 16
        }
        var result = horizontalMax(lanes)
        while c < hi {
            result = Swift.max(result, row[c])
            c += 1
        }
        return result
    }

    /// Lane-wise maximum as compare-and-blend: the standard library's `pointwiseMax` runs a
    /// scalar loop per lane (measured: 40 % of the forward pass). A NaN in `b` is not taken.
    /// Concrete per width: through a generic `V: SIMD` the comparison itself goes lane by lane.
    @inline(__always)
    static func larger(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
        a.replacing(with: b, where: b .> a)
    }
    @inline(__always)
    static func larger(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        a.replacing(with: b, where: b .> a)
    }
    @inline(__always)
    static func larger(_ a: SIMD4<Float>, _ b: SIMD4<Float>) -> SIMD4<Float> {
        a.replacing(with: b, where: b .> a)
    }
    @inline(__always)
    static func larger(_ a: SIMD2<Float>, _ b: SIMD2<Float>) -> SIMD2<Float> {
        a.replacing(with: b, where: b .> a)
    }

    /// The largest lane, by halving: `SIMD16.max()` runs as a per-lane scalar loop with spills,
    /// which cost more than the vector pass over a 512-wide row.
    @inline(__always)
    static func horizontalMax(_ v: SIMD16<Float>) -> Float {
        let v8 = larger(v.lowHalf, v.highHalf)
        let v4 = larger(v8.lowHalf, v8.highHalf)
        let v2 = larger(v4.lowHalf, v4.highHalf)
        return Swift.max(v2[0], v2[1])
    }

    /// The sum of the lanes, by halving (see `horizontalMax`).
    @inline(__always)
    static func horizontalSum(_ v: SIMD16<Float>) -> Float {
        let v8 = v.lowHalf + v.highHalf
        let v4 = v8.lowHalf + v8.highHalf
        let v2 = v4.lowHalf + v4.highHalf
        return v2[0] + v2[1]
    }

    /// `row[c] ← exp(row[c] − shift)` on `lo..<hi`, zero elsewhere in `0..<width`; returns the sum.
    @inline(__always)
    static func exponentiate(_ row: UnsafeMutablePointer<Float>, width: Int, _ lo: Int, _ hi: Int,
                             shift: Float, kernel: TileKernel = .active) -> Float {
        // The same operations in 16-lane vectors (the Swift build target splits them in two).
        if kernel == .avx512 { return FusedKernels.rowExponentiate(row, width: width, lo, hi, shift: shift) }
        zeroOutside(row, width: width, lo, hi)
        let s = SIMD16<Float>(repeating: shift)
        var sums = SIMD16<Float>(), sums2 = SIMD16<Float>()
        var c = lo
        // Two vectors per step: each exp is a chain of seven dependent FMAs, and one chain per
        // step left the FMA units waiting on latency (measured: exp 10 % of the forward pass).
        while c + 32 <= hi {
            let e = fastExpShifted(load(row + c) - s)
            let e2 = fastExpShifted(load(row + c + 16) - s)
            store(e, row + c)
            store(e2, row + c + 16)
            sums += e
            sums2 += e2
            c += 32
        }
        sums += sums2
        while c + 16 <= hi {
            let e = fastExpShifted(load(row + c) - s)
            store(e, row + c)
            sums += e
            c += 16
        }
        if c < hi {  // the tail through a masked vector, so exp stays the same function everywhere
            var v = SIMD16<Float>(repeating: -.infinity)
            for t in 0..<(hi - c) { v[t] = row[c + t] - shift }
            let e = fastExp(v)
            for t in 0..<(hi - c) { row[c + t] = e[t] }
            sums += e
        }
        return horizontalSum(sums)
    }

    /// `row[c] ← f(row[c]) · weight` on `lo..<hi` for f = ReLU or softplus, zero elsewhere.
    @inline(__always)
    static func pointwiseScore(_ row: UnsafeMutablePointer<Float>, width: Int, _ lo: Int, _ hi: Int,
                               score: ScoreFunction, weight: Float) {
        zeroOutside(row, width: width, lo, hi)
        let w = SIMD16<Float>(repeating: weight)
        var c = lo
        while c + 16 <= hi {
            store(apply(score, load(row + c)) * w, row + c)
            c += 16
        }
        if c < hi {
            var v = SIMD16<Float>()
            for t in 0..<(hi - c) { v[t] = row[c + t] }
            let r = apply(score, v) * w
            for t in 0..<(hi - c) { row[c + t] = r[t] }
        }
    }

    /// ReLU or softplus of sixteen scores (softmax is not pointwise and never reaches here).
    @inline(__always)
    static func apply(_ score: ScoreFunction, _ x: SIMD16<Float>) -> SIMD16<Float> {
        switch score {
        case .relu:
            return larger(x, SIMD16<Float>())
        case .softplus, .softmax:
            // log(1 + e^x) = max(x, 0) + log(1 + e^−|x|): no overflow for large x.
            let positive = larger(x, SIMD16<Float>())
            let negativeAbs = -larger(x, -x)
            return positive + log1pSmall(fastExp(negativeAbs))
        }
    }

    /// The derivative of ReLU or softplus: 1[x > 0] or σ(x).
    @inline(__always)
    static func derivative(_ score: ScoreFunction, _ x: SIMD16<Float>) -> SIMD16<Float> {
        switch score {
        case .relu:
            return SIMD16<Float>().replacing(with: 1, where: x .> 0)
        case .softplus, .softmax:
            return 1 / (1 + fastExp(-x))
        }
    }

    /// log(1 + y) for y in [0, 1], vectorised: log1p has no SIMD form in Swift, and the per-lane
    /// scalar call is exact enough here (softplus is not a hot path in the benchmarks).
    @inline(__always)
    static func log1pSmall(_ y: SIMD16<Float>) -> SIMD16<Float> {
        var r = SIMD16<Float>()
        for t in 0..<16 { r[t] = log1pf(y[t]) }
        return r
    }

    /// Softmax score gradient in place: `dP[c] ← factor·P[c]·(dP[c] − D)` on `lo..<hi`, zero elsewhere.
    @inline(__always)
    static func softmaxScoreGradient(_ dP: UnsafeMutablePointer<Float>, weights: UnsafePointer<Float>,
                                     width: Int, _ lo: Int, _ hi: Int, rowDot: Float, factor: Float = 1) {
        zeroOutside(dP, width: width, lo, hi)
        let D = SIMD16<Float>(repeating: rowDot), f = SIMD16<Float>(repeating: factor)
        var c = lo
        while c + 16 <= hi {
            store(load(weights + c) * (load(dP + c) - D) * f, dP + c)
            c += 16
        }
        while c < hi {
            dP[c] = weights[c] * (dP[c] - rowDot) * factor
            c += 1
        }
    }

    /// ReLU/softplus score gradient in place: `dP[c] ← dP[c]·f′(s[c])·weight` on `lo..<hi`, zero elsewhere.
    @inline(__always)
    static func pointwiseScoreGradient(_ dP: UnsafeMutablePointer<Float>, scores: UnsafePointer<Float>,
                                       width: Int, _ lo: Int, _ hi: Int, score: ScoreFunction, weight: Float) {
        zeroOutside(dP, width: width, lo, hi)
        let w = SIMD16<Float>(repeating: weight)
        var c = lo
        while c + 16 <= hi {
            store(load(dP + c) * derivative(score, load(scores + c)) * w, dP + c)
            c += 16
        }
        if c < hi {
            var g = SIMD16<Float>(), s = SIMD16<Float>()
            for t in 0..<(hi - c) { g[t] = dP[c + t]; s[t] = scores[c + t] }
            let r = g * derivative(score, s) * w
            for t in 0..<(hi - c) { dP[c + t] = r[t] }
        }
    }

    @inline(__always)
    static func zeroOutside(_ row: UnsafeMutablePointer<Float>, width: Int, _ lo: Int, _ hi: Int) {
        if lo > 0 { row.update(repeating: 0, count: Swift.min(lo, width)) }
        if hi < width { (row + Swift.max(hi, 0)).update(repeating: 0, count: width - Swift.max(hi, 0)) }
    }

    /// `target[0..<count] = source[0..<count] · factor`.
    @inline(__always)
    static func scaledCopy(_ source: UnsafePointer<Float>, to target: UnsafeMutablePointer<Float>,
                           count: Int, by factor: Float) {
        let f = SIMD16<Float>(repeating: factor)
        var c = 0
        while c + 16 <= count {
            store(load(source + c) * f, target + c)
            c += 16
        }
        while c < count {
            target[c] = source[c] * factor
            c += 1
        }
    }

    /// `row[0..<count] *= factor`.
    @inline(__always)
    static func scale(_ row: UnsafeMutablePointer<Float>, count: Int, by factor: Float) {
        let f = SIMD16<Float>(repeating: factor)
        var c = 0
        while c + 16 <= count {
            store(load(row + c) * f, row + c)
            c += 16
        }
        while c < count {
            row[c] *= factor
            c += 1
        }
    }
}
