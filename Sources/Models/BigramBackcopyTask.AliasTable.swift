extension BigramBackcopyTask {
    /// Walker's alias tables (Vose's construction) for many distributions over V tokens, in
    /// integer arithmetic so that zero-probability tokens are never drawn and every machine
    /// builds the same tables.
    ///
    /// Each distribution p is scaled to integer weights w summing to V·2³² (rounding remainders,
    /// fewer than V units, go to the largest weight). Column c keeps c with probability
    /// `threshold[c]`/2³² and otherwise gives `alias[c]`. A draw is one 64-bit random number: the
    /// high 32 bits pick the column by multiply-shift (a bias below V/2³² ≈ 1.6·10⁻⁸ for V = 67),
    /// the low 32 bits are compared with the threshold. A cumulative table would need a binary
    /// search (≈ 7 dependent branches) per draw; this needs one compare.
    @usableFromInline
    struct AliasTable: Sendable {
        /// Tokens per distribution, V.
        @usableFromInline let width: Int
        /// (distributions, V) row-major: keep column c when the low 32 random bits are below this.
        @usableFromInline let threshold: [UInt64]
        /// (distributions, V) row-major: the token column c gives otherwise.
        @usableFromInline let alias: [Int32]

        /// Builds one table per distribution.
        /// - Precondition: every distribution has `width` finite non-negative entries with a
        ///   positive sum (they need not sum to exactly 1).
        /// - Complexity: O(distributions · V).
        init(_ distributions: [[Double]], width: Int) {
            let capacity: UInt64 = 1 << 32
            var threshold = [UInt64](repeating: capacity, count: distributions.count * width)
            var alias = [Int32](repeating: 0, count: distributions.count * width)
            for (d, p) in distributions.enumerated() {
                precondition(p.count == width, "distribution \(d) has \(p.count) entries, not \(width)")
                let sum = p.reduce(0, +)
                precondition(sum > 0 && sum.isFinite, "distribution \(d) sums to \(sum)")
                let total = UInt64(width) * capacity
                var weight = p.map { UInt64(($0 / sum * Double(total)).rounded(.down)) }
                let assigned = weight.reduce(0, +)
                precondition(assigned <= total, "distribution \(d): rounding overshot")
                weight[weight.indices.max { weight[$0] < weight[$1] }!] += total - assigned
                var small: [Int] = [], large: [Int] = []
                for (j, w) in weight.enumerated() { if w < capacity { small.append(j) } else { large.append(j) } }
                let base = d * width
                for j in 0..<width { alias[base + j] = Int32(j) }
                // Each step fills small column s up to 2³² from large column l: exact integers keep
                // Σ w = (columns left)·2³², so no small column outlives the large ones.
                while let s = small.popLast() {
                    let l = large.popLast()!
                    threshold[base + s] = weight[s]
                    alias[base + s] = Int32(l)
                    weight[l] -= capacity - weight[s]
                    if weight[l] < capacity { small.append(l) } else { large.append(l) }
                }
            }
            self.width = width
            self.threshold = threshold
            self.alias = alias
        }

        /// Draws a token from distribution `row` using one 64-bit random number `bits`.
        @inlinable @inline(__always)
        static func draw(row: Int, bits: UInt64, width: Int, threshold: UnsafePointer<UInt64>,
                         alias: UnsafePointer<Int32>) -> Int32 {
            let column = Int(((bits >> 32) &* UInt64(width)) >> 32)
            let cell = row &* width &+ column
            return (bits & 0xFFFF_FFFF) < threshold[cell] ? Int32(column) : alias[cell]
        }
    }
}
