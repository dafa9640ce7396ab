import TensorCore

/// SIMD kernels for one row of a causal (T, T) attention tile: row i sees keys j < w = i + 1 and
/// holds zeros at j ≥ w. Vectors of 16 run over the whole visible prefix, with lanes past w
/// masked, instead of a partial tail filled lane by lane (at T = 64 the tails were a tenth of a
/// step). Lanes past the row's end T are never read or written.
enum CausalRows {
    // The standard library's generic `pointwiseMax/Min`, `replacing(with:where:)`, `max()` and
    // `sum()` compiled to lane-by-lane loops through the stack here (a tenth of a d = 64 step),
    // so these kernels select with bit masks (`select`) and reduce by halves.

    /// `mask ? ifTrue : ifFalse` lane by lane, as integer and/or on the bit patterns.
    @inline(__always)
    static func select(_ mask: SIMDMask<SIMD16<Int32>>, _ ifTrue: SIMD16<Float>, _ ifFalse: SIMD16<Float>) -> SIMD16<Float> {
        let m = mask._storage
        let t = unsafeBitCast(ifTrue, to: SIMD16<Int32>.self), f = unsafeBitCast(ifFalse, to: SIMD16<Int32>.self)
        return unsafeBitCast((t & m) | (f & ~m), to: SIMD16<Float>.self)
    }

    @inline(__always)
    static func maximum(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> { select(a .> b, a, b) }

    @inline(__always)
    static func minimum(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> { select(a .< b, a, b) }

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

    /// 1 in lanes before `visible − start`, 0 from there on.
    @inline(__always)
    static func keep(_ start: Int, visible: Int) -> SIMD16<Float> {
        let lanes = SIMD16<Float>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
        let remaining = SIMD16<Float>(repeating: Float(visible - start))
        return select(lanes .< remaining, SIMD16(repeating: 1), SIMD16(repeating: 0))
    }

    @inline(__always)
    static func sum(_ v: SIMD16<Float>) -> Float {
        let eight = v.lowHalf + v.highHalf, four = eight.lowHalf + eight.highHalf, two = four.lowHalf + four.highHalf
        return two[0] + two[1]
    }

    @inline(__always)
    static func max(_ v: SIMD16<Float>) -> Float {
        var result = v[0]
        for lane in 1..<16 { result = Swift.max(result, v[lane]) }
        return result
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
    @discardableResult
    static func softmax(_ row: UnsafeMutablePointer<Float>, visible: Int, length: Int) -> (max: Float, sum: Float) {
        let full = visible & ~15
        var maxima = SIMD16<Float>(repeating: -.infinity)
        for start in stride(from: 0, to: full, by: 16) { maxima = maximum(maxima, load(row, start, length: length, padding: 0)) }
        var rowMax = max(maxima)
        for j in full..<visible { rowMax = Swift.max(rowMax, row[j]) }
        let shift = SIMD16<Float>(repeating: rowMax)     // finite: key 0 is always visible
        var sums = SIMD16<Float>()
        var start = 0
        while start < visible {
            // Masked lanes may hold any score; the clamp to ≤ 0 keeps their exp finite before × 0.
            let e = expNonPositive(load(row, start, length: length, padding: 0) - shift) * keep(start, visible: visible)
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
        if start < length { (row + start).update(repeating: 0, count: length - start) }
        return (rowMax, total)
    }

    /// ReLU attention over the first `visible` entries, zeros after: `row[j] = ReLU(row[j]) / visible`.
    static func relu(_ row: UnsafeMutablePointer<Float>, visible: Int, length: Int) {
        let inverse = SIMD16<Float>(repeating: 1 / Float(visible))
        var start = 0
        while start < visible {
            let x = maximum(load(row, start, length: length, padding: 0), SIMD16(repeating: 0))
            store(x * inverse * keep(start, visible: visible), row, start, length: length)
            start += 16
        }
        if start < length { (row + start).update(repeating: 0, count: length - start) }
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
            let y = select(weights .> 0, load(g, start, length: length, padding: 0) * inverse, SIMD16(repeating: 0))
            store(y, g, start, length: length)
        }
    }
}
