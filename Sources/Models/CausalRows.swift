import TensorCore

/// SIMD kernels for one row of a causal (T, T) attention tile: row i sees keys j < w = i + 1 and
/// holds zeros at j ≥ w. Vectors of 16 run over the whole visible prefix, with lanes past w
/// masked, instead of a partial tail filled lane by lane (at T = 64 the tails were a tenth of a
/// step). Lanes past the row's end T are never read or written.
enum CausalRows {
    /// Lane indices 0…15.
    static let lanes = SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)

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

    /// Whether lane l of the vector at `start` lies at or past `visible`.
    @inline(__always)
    static func masked(_ start: Int, visible: Int) -> SIMDMask<SIMD16<Int32>> {
        lanes &+ Int32(start) .>= Int32(visible)
    }

    /// Softmax over the first `visible` entries of a row of `length`, zeros after:
    /// `row[j] = exp(row[j] − max) / Σ exp(row[k] − max)` for j < visible.
    static func softmax(_ row: UnsafeMutablePointer<Float>, visible: Int, length: Int) {
        var maxima = SIMD16<Float>(repeating: -.infinity)
        for start in stride(from: 0, to: visible, by: 16) {
            let x = load(row, start, length: length, padding: -.infinity)
            maxima = pointwiseMax(maxima, x.replacing(with: -.infinity, where: masked(start, visible: visible)))
        }
        let shift = SIMD16<Float>(repeating: maxima.max())   // finite: key 0 is always visible
        var sums = SIMD16<Float>()
        for start in stride(from: 0, to: visible, by: 16) {
            let x = load(row, start, length: length, padding: 0)
            // Arguments are ≤ 0, where fastExpShifted is accurate to 4e-7; masked lanes become 0.
            let e = fastExpShifted(x - shift).replacing(with: 0, where: masked(start, visible: visible))
            store(e, row, start, length: length)
            sums += e
        }
        let inverse = SIMD16<Float>(repeating: 1 / sums.sum())
        var start = 0
        while start < visible {
            store(load(row, start, length: length, padding: 0) * inverse, row, start, length: length)
            start += 16
        }
        if start < length { (row + start).update(repeating: 0, count: length - start) }
    }

    /// ReLU attention over the first `visible` entries, zeros after: `row[j] = ReLU(row[j]) / visible`.
    static func relu(_ row: UnsafeMutablePointer<Float>, visible: Int, length: Int) {
        let inverse = SIMD16<Float>(repeating: 1 / Float(visible))
        var start = 0
        while start < visible {
            let x = load(row, start, length: length, padding: 0)
            let y = (x * inverse).replacing(with: 0, where: x .<= 0 .| masked(start, visible: visible))
            store(y, row, start, length: length)
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
        let dot = SIMD16<Float>(repeating: dots.sum())
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
            let y = (load(g, start, length: length, padding: 0) * inverse).replacing(with: 0, where: weights .<= 0)
            store(y, g, start, length: length)
        }
    }
}
