import TensorCore

/// SIMD kernels for one row of a causal (T, T) attention tile: row i sees keys j < w = i + 1 and
/// holds zeros at j ≥ w. Vectors of 16 run over the whole visible prefix, with lanes past w
/// masked, instead of a partial tail filled lane by lane (at T = 64 the tails were a tenth of a
/// step). Lanes past the row's end T are never read or written.
enum CausalRows {
    // Measured in the compiled code (Swift 6.3, AVX2 and AVX-512 targets): a float compare feeding
    // `replacing(with:where:)` becomes one vmaxps/vminps, while a SIMDMask's `_storage` used as bits
    // became, on AVX-512, dozens of mask-register moves per vector; integer compares and the
    // generic `max()`/`sum()` reductions run lane by lane. So maxima and minima use `replacing`,
    // lane masks are built with integer arithmetic, and reductions go by halves.

    @inline(__always)
    static func maximum(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> { b.replacing(with: a, where: a .> b) }

    @inline(__always)
    static func minimum(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> { b.replacing(with: a, where: a .< b) }

    /// `ifTrue` where `mask` has all bits set, `ifFalse` where it has none, as integer and/or.
    @inline(__always)
    static func select(_ mask: SIMD16<Int32>, _ ifTrue: SIMD16<Float>, _ ifFalse: SIMD16<Float>) -> SIMD16<Float> {
        let t = unsafeBitCast(ifTrue, to: SIMD16<Int32>.self), f = unsafeBitCast(ifFalse, to: SIMD16<Int32>.self)
        return unsafeBitCast((t & mask) | (f & ~mask), to: SIMD16<Float>.self)
    }

    /// 16 floats of `row` from `start`; lanes at or past `length` read as `padding`.
    @inline(__always)
    static func load(_ row: UnsafePointer<Float>, _ start: Int, length: Int, padding: Float) -> SIMD16<Float> {
        if start + 16 <= length { return UnsafeRawPointer(row + start).loadUnaligned(as: SIMD16<Float>.self) }
        var vector = SIMD16<Float>(repeating: padding)
        for lane in 0..<(length - start) { vector[lane] = row[start + lane] }
        return vector
    }

    /// Stores the lanes of `vector` that fall before `length`.
    @inline(__always)
    static func store(_ vector: SIMD16<Float>, _ row: UnsafeMutablePointer<Float>, _ start: Int, length: Int) {
        if start + 16 <= length {
            UnsafeMutableRawPointer(row + start).storeBytes(of: vector, as: SIMD16<Float>.self)
            return
        }
        for lane in 0..<(length - start) { row[start + lane] = vector[lane] }
    }

    @inline(__always)
    static func sum(_ v: SIMD16<Float>) -> Float {
        let eight = v.lowHalf + v.highHalf, four = eight.lowHalf + eight.highHalf, two = four.lowHalf + four.highHalf
        return two[0] + two[1]
    }

    /// The lane-wise maximum of two vectors of four.
    @inline(__always)
    static func maximum4(_ a: SIMD4<Float>, _ b: SIMD4<Float>) -> SIMD4<Float> {
        b.replacing(with: a, where: a .> b)
    }

    /// `vector` in lanes before `visible − start`, `padding` from there on.
    @inline(__always)
    static func masked(_ vector: SIMD16<Float>, _ start: Int, visible: Int, padding: Float) -> SIMD16<Float> {
        if start + 16 <= visible { return vector }
        // All ones where lane − remaining < 0: its sign bit spread by an arithmetic shift.
        let lanes = SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
        return select((lanes &- SIMD16(repeating: Int32(visible - start))) &>> 31, vector, SIMD16(repeating: padding))
    }

    /// Zeros from `start` to the row's end `length`, whole vectors where they fit.
    @inline(__always)
    static func zero(_ row: UnsafeMutablePointer<Float>, from start: Int, length: Int) {
        var start = start
        while start + 16 <= length {
            UnsafeMutableRawPointer(row + start).storeBytes(of: SIMD16<Float>(), as: SIMD16<Float>.self)
            start += 16
        }
        if start < length { (row + start).update(repeating: 0, count: length - start) }
    }

    /// e^x for x ≤ 0: TensorCore's `expCore` after a clamp to [−87.33, 0] done with bit-mask
    /// min/max (the standard library's blends run lane by lane); relative error ≤ 4e-7, and
    /// ≈ 1.2e-38 below −87.33.
    @inline(__always)
    static func expNonPositive(_ x: SIMD16<Float>) -> SIMD16<Float> {
        expCore(maximum(minimum(x, SIMD16(repeating: 0)), SIMD16(repeating: -87.33)))
    }

    /// Softmax over the first `visible` entries of a row of `length`, zeros after:
    /// `row[j] = exp(row[j] − m) / Σ exp(row[k] − m)` for j < visible, m the visible maximum.
    /// - Returns: m and Σ exp(row[k] − m), so `log Σ exp = m + log(sum)`.
    /// On AVX-512 (`FusedKernels.available`) one C kernel computes the same bits with 16-lane
    /// registers and mask loads: 2.6× faster per row of 64 on Zen 4.
    @discardableResult @inline(__always)
    static func softmax(_ row: UnsafeMutablePointer<Float>, visible: Int, length: Int) -> (max: Float, sum: Float) {
        FusedKernels.available ? FusedKernels.softmaxRow(row, visible: visible, length: length)
            : portableSoftmax(row, visible: visible, length: length)
    }

    /// `softmax` in Swift SIMD, compiled for the build target.
    @discardableResult
    static func portableSoftmax(_ row: UnsafeMutablePointer<Float>, visible: Int, length: Int) -> (max: Float, sum: Float) {
        // Per row at T = 64 the work is a few vectors, so the fixed costs (reductions, the
        // partial vector's scalar tail, a memset call) were most of it: all are vectors now.
        var maxima = SIMD16<Float>(repeating: -.infinity)
        var start = 0
        while start < visible {
            maxima = maximum(maxima, masked(load(row, start, length: length, padding: 0), start, visible: visible, padding: -.infinity))
            start += 16
        }
        // The largest lane, by halves (max is exact, so any order gives the same value), written
        // here rather than as a helper: as a call it was not inlined and split the vector into four.
        let eight = maximum(maxima, SIMD16(lowHalf: maxima.highHalf, highHalf: maxima.lowHalf)).lowHalf
        let four = maximum4(eight.lowHalf, eight.highHalf)
        let rowMax = Swift.max(Swift.max(four[0], four[1]), Swift.max(four[2], four[3]))
        let shift = SIMD16<Float>(repeating: rowMax)     // finite: key 0 is always visible
        var sums = SIMD16<Float>()
        start = 0
        while start < visible {
            // Masked lanes may hold any score; the clamp to ≤ 0 keeps their exp finite before × 0.
            let x = load(row, start, length: length, padding: 0) - shift
            // `expNonPositive`, written out: as a call it was not inlined and split each vector into four.
            let e = masked(expCore(maximum(minimum(x, SIMD16(repeating: 0)), SIMD16(repeating: -87.33))), start, visible: visible, padding: 0)
            store(e, row, start, length: length)
            sums += e
            start += 16
        }
        let total = sum(sums)
        let inverse = SIMD16<Float>(repeating: 1 / total)
        start = 0
        while start < visible {
            store(load(row, start, length: length, padding: 0) * inverse, row, start, length: length)
            start += 16
        }
        zero(row, from: start, length: length)
        return (rowMax, total)
    }

    /// ReLU attention over the first `visible` entries, zeros after: `row[j] = ReLU(row[j]) / visible`.
    static func relu(_ row: UnsafeMutablePointer<Float>, visible: Int, length: Int) {
        let inverse = SIMD16<Float>(repeating: 1 / Float(visible))
        var start = 0
        while start < visible {
            let x = maximum(load(row, start, length: length, padding: 0), SIMD16(repeating: 0))
            store(masked(x * inverse, start, visible: visible, padding: 0), row, start, length: length)
            start += 16
        }
        zero(row, from: start, length: length)
    }

    /// Softmax backward over a whole row: `gradient[j] ← P[j]·(gradient[j] − Σ_k P[k]·gradient[k])`.
    /// P is 0 past the visible keys, so those entries become 0 with no mask (gradient is finite).
    static func softmaxBackward(weights p: UnsafePointer<Float>, gradient g: UnsafeMutablePointer<Float>, length: Int) {
        var dots = SIMD16<Float>()
        for start in stride(from: 0, to: length, by: 16) {
            dots.addProduct(load(p, start, length: length, padding: 0), load(g, start, length: length, padding: 0))
        }
        let dot = SIMD16<Float>(repeating: sum(dots))
        for start in stride(from: 0, to: length, by: 16) {
            let weights = load(p, start, length: length, padding: 0)
            store(weights * (load(g, start, length: length, padding: 0) - dot), g, start, length: length)
        }
    }

    /// ReLU attention backward over a whole row: `gradient[j] ← [P[j] > 0]·gradient[j]/visible`
    /// (P > 0 exactly where the score was; 0 past the visible keys).
    static func reluBackward(weights p: UnsafePointer<Float>, gradient g: UnsafeMutablePointer<Float>, visible: Int, length: Int) {
        let inverse = SIMD16<Float>(repeating: 1 / Float(visible))
        for start in stride(from: 0, to: length, by: 16) {
            let weights = load(p, start, length: length, padding: 0)
            let y = SIMD16<Float>().replacing(with: load(g, start, length: length, padding: 0) * inverse, where: weights .> 0)
            store(y, g, start, length: length)
        }
    }
}
