import Foundation
import TensorCore

/// `loom bench gemm`: each matrix product of one transformer layer's training step, on Loom's
/// `TiledGEMM` and on OpenBLAS sgemm, one thread each, alternated.
///
/// `loom bench train` gives the whole step; this says which product shape is slow. A training
/// worker runs exactly these calls on its share of C, single-threaded.
enum BenchGEMMCommand: Command {
    static let words = ["bench", "gemm"]
    static let summary = "time the matrix products of a training step on Loom's TiledGEMM against OpenBLAS sgemm"
    static let usage = "loom bench gemm [--d D] [--tokens N] [--vocabulary V] [--repeat R] [--json]"
    static let options: [Option] = [
        .value("d", "D", "model width (default 64; the FFN is 4·D wide)"),
        .value("tokens", "N", "rows of the activations, batch × context (default 4096)"),
        .value("vocabulary", "V", "output layer width (default 67, Bigram-Backcopy's)"),
        .value("repeat", "R", "timed samples per product and library (default 9; the median is reported)"),
        .flag("json", "one JSON object with a results array (release builds only)"),
    ]
    static let discussion = """
        The products are those of one pre-LayerNorm block with an FFN and the output layer, \
        forward (NN), input gradients (NT: dY·Wᵀ) and weight gradients (TN: Xᵀ·dY), at the \
        shapes a training step gives them. Each is timed on one thread, Loom's and OpenBLAS's \
        samples alternated so both see the same drift of the machine; OpenBLAS is set to one \
        thread for the run. The total row adds the medians: the product time of one layer's step \
        on one core. 'Loom speed-up' is sgemm's median time over Loom's; 'turn by turn' gives the \
        lowest and highest of the same ratio taken turn by turn, each turn one Loom sample and one \
        sgemm sample back to back, Loom first in every other turn (JSON: ratio_turns), since on a shared machine the two \
        medians can come from different moments. 'of tile' is Loom's rate over that of the \
        register tile alone on data in L1 (the ceiling below), timed as a third sample in the same \
        turns on about a quarter of the product's work, the median over turns (JSON: of_tile, \
        of_tile_turns): how far a product is from what the tile can do at that moment, a yardstick \
        that a machine's changes of speed do not move (a short tile sample can read a little low, \
        so a product near the tile can show slightly above 1). \
        A product whose matrices would need more than 80 % of the machine's memory \
        is refused before anything is allocated (--d at most 2^20, --vocabulary 2^30).
        """

    /// One product: `C[m, n] = op(A)·op(B)` with inner dimension k.
    struct Shape {
        var name: String
        var transA: BLAS.Transpose
        var transB: BLAS.Transpose
        var m: Int, n: Int, k: Int

        var kind: String {
            switch (transA, transB) {
            case (.none, .none): "NN"
            case (.none, .transposed): "NT"
            case (.transposed, .none): "TN"
            case (.transposed, .transposed): "TT"
            }
        }
        var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
    }

    /// The products of one layer's step at width d over `tokens` rows, and the output layer's.
    static func shapes(d: Int, tokens n: Int, vocabulary v: Int) -> [Shape] {
        let h = 4 * d
        return [
            Shape(name: "qkv", transA: .none, transB: .none, m: n, n: 3 * d, k: d),
            Shape(name: "out-proj", transA: .none, transB: .none, m: n, n: d, k: d),
            Shape(name: "ffn-in", transA: .none, transB: .none, m: n, n: h, k: d),
            Shape(name: "ffn-out", transA: .none, transB: .none, m: n, n: d, k: h),
            Shape(name: "logits", transA: .none, transB: .none, m: n, n: v, k: d),
            Shape(name: "d-final", transA: .none, transB: .transposed, m: n, n: d, k: v),
            Shape(name: "d-ffn-act", transA: .none, transB: .transposed, m: n, n: h, k: d),
            Shape(name: "d-ffn-norm", transA: .none, transB: .transposed, m: n, n: d, k: h),
            Shape(name: "d-heads", transA: .none, transB: .transposed, m: n, n: d, k: d),
            Shape(name: "d-attn-norm", transA: .none, transB: .transposed, m: n, n: d, k: 3 * d),
            Shape(name: "dW-unembed", transA: .transposed, transB: .none, m: d, n: v, k: n),
            Shape(name: "dW-ffn-out", transA: .transposed, transB: .none, m: h, n: d, k: n),
            Shape(name: "dW-ffn-in", transA: .transposed, transB: .none, m: d, n: h, k: n),
            Shape(name: "dW-out-proj", transA: .transposed, transB: .none, m: d, n: d, k: n),
            Shape(name: "dW-qkv", transA: .transposed, transB: .none, m: d, n: 3 * d, k: n),
        ]
    }

    static func run(_ arguments: Arguments) throws(CommandError) {
        // Both sides on one thread: Loom's products are single-threaded, so is the sgemm they race.
        try BLAS.withThreadCount(1) { () throws(CommandError) in try runSingleThreaded(arguments) }
    }

    private static func runSingleThreaded(_ arguments: Arguments) throws(CommandError) {
        let json = arguments.flag("json")
        if json && !Provenance.isRelease {
            throw .usage("--json needs a release build: build with 'swift build -c release' and use .build/release/loom")
        }
        let d = try arguments.int("d", minimum: 1) ?? 64
        let tokens = try arguments.int("tokens", minimum: 1) ?? 4096
        let vocabulary = try arguments.int("vocabulary", minimum: 1) ?? 67
        let repeats = try arguments.int("repeat", minimum: 1) ?? 9
        for (name, value, limit) in [("d", d, 1 << 20), ("tokens", tokens, 1 << 40), ("vocabulary", vocabulary, 1 << 30)] where value > limit {
            throw .usage("--\(name) must be at most \(limit), got \(value)")
        }
        // A, B, C and sgemm's reference C of each product, before any is allocated.
        for shape in shapes(d: d, tokens: tokens, vocabulary: vocabulary) {
            try MemoryBound.check(MemoryBudget.floatBytes([[shape.m, shape.k], [shape.k, shape.n], [2, shape.m, shape.n]]),
                                  "the \(shape.name) product (\(shape.m) × \(shape.n) × \(shape.k))",
                                  fix: "lower --tokens, --d or --vocabulary")
        }

        let workspace = GEMMWorkspace()
        var rows: [[String: Any]] = [], checksum = 0.0
        var loomTotal = 0.0, blasTotal = 0.0, mismatches = 0, turnRatios: [TurnRatios] = [], tileRatios: [TurnRatios] = []
        for shape in shapes(d: d, tokens: tokens, vocabulary: vocabulary) {
            let (loom, blas, error, turns, ofTile) = time(shape, repeats: repeats, workspace: workspace, checksum: &checksum)
            mismatches += error > mismatchTolerance ? 1 : 0
            loomTotal += loom
            turnRatios.append(turns)
            tileRatios.append(ofTile)
            blasTotal += blas
            rows.append(["name": shape.name, "op": shape.kind, "m": shape.m, "n": shape.n, "k": shape.k,
                         "loom_ms": loom, "sgemm_ms": blas,
                         "loom_gflops": shape.flops / loom / 1e6, "sgemm_gflops": shape.flops / blas / 1e6,
                         "ratio": blas / loom, "ratio_turns": turns.dictionary, "of_tile": ofTile.median,
                         "of_tile_turns": ofTile.dictionary, "relative_error": error])
            if !json { Console.progress("bench gemm: \(shape.name) done") }
        }
        let ceiling = tileCeiling(checksum: &checksum)
        if json {
            let measured = TiledGEMM.avx2TransposedA, wide = TiledGEMM.avx2TransposedAWide
            let object: [String: Any] = ["benchmark": "gemm", "tile_ceiling_gflops": ceiling,
                                         "avx2_transposed_a": measured.choice.rawValue, "avx2_transposed_a_speedup": measured.speedup,
                                         "avx2_transposed_a_wide": wide.choice.rawValue, "avx2_transposed_a_wide_speedup": wide.speedup,
                                         "transposed_a_wide_from_columns": TiledGEMM.wideFromColumns,
                                         "transposed_a_packed_from_lda": TiledGEMM.packedFromLeadingDimension, "cpu": Provenance.cpuModel, "commit": Provenance.commit, "openblas_core": BLAS.coreName, "openblas_coretype": BLASCore.forced ?? NSNull(), "baseline_warning": BLASCore.narrowBaselineWarningHere ?? NSNull(),
                                         "simd": SIMDTarget.name, "d": d, "tokens": tokens, "vocabulary": vocabulary,
                                         "total_loom_ms": loomTotal, "total_sgemm_ms": blasTotal, "results": rows,
                                         "checksum": checksum, "mismatches": mismatches]
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            Console.output(String(decoding: data, as: UTF8.self))
            try checkAgreement(mismatches)
            return
        }
        Console.output("loom \(Provenance.loomVersion) (commit \(Provenance.commit), \(Provenance.build) build), \(Provenance.cpuModel), OpenBLAS \(BLASCore.summary), "
                       + "1 thread, SIMD \(SIMDTarget.name)")
        if !Provenance.isRelease { Console.output("warning: debug build — these timings are not meaningful") }
        if let warning = BLASCore.narrowBaselineWarningHere { Console.output("warning: " + warning) }
        Console.output("products of one layer's step: d \(d), FFN \(4 * d), \(tokens) tokens, vocabulary \(vocabulary); median of \(repeats)")
        let header = ["product", "op", "m", "n", "k", "Loom ms", "sgemm ms", "Loom GFLOP/s", "sgemm GFLOP/s", "Loom speed-up",
                      "turn by turn", "of tile", "vs sgemm ‖Δ‖"]
        Console.output(header.map { $0.leftPadding(14) }.joined())
        for ((row, turns), ofTile) in zip(zip(rows, turnRatios), tileRatios) {
            Console.output([row["name"] as! String, row["op"] as! String, String(row["m"] as! Int), String(row["n"] as! Int),
                            String(row["k"] as! Int), String(format: "%.3f", row["loom_ms"] as! Double),
                            String(format: "%.3f", row["sgemm_ms"] as! Double), String(format: "%.1f", row["loom_gflops"] as! Double),
                            String(format: "%.1f", row["sgemm_gflops"] as! Double), String(format: "%.2f", row["ratio"] as! Double),
                            turns.rangeText, String(format: "%.2f", ofTile.median), Self.agreement(row["relative_error"] as! Double)]
                .map { $0.leftPadding(14) }.joined())
        }
        Console.output(["total", "", "", "", "", String(format: "%.3f", loomTotal), String(format: "%.3f", blasTotal), "", "",
                        String(format: "%.2f", blasTotal / loomTotal)].map { $0.leftPadding(14) }.joined())
        Console.output("turn by turn: [lowest–highest] of Loom's speed-up turn by turn, each turn one Loom and one sgemm sample back to back (Loom first every other turn)")
        Console.output("of tile: Loom's GFLOP/s over the \(TileKernel.active.rawValue) tile's alone on data in L1, timed in the same turn (the median over turns)")
        let each = TileKernel.supported.map { "\($0.rawValue) " + String(format: "%.1f", $0.ceiling()) }.joined(separator: ", ")
        Console.output(String(format: "ceiling: the fastest register tile on data in L1 runs at %.1f GFLOP/s", ceiling) + " (\(each))")
        Console.output(transposedALine)
        Console.output("checksum \(checksum)")
        try checkAgreement(mismatches)
    }

    /// Fails the command when any product disagreed with sgemm (its row says MISMATCH).
    static func checkAgreement(_ mismatches: Int) throws(CommandError) {
        guard mismatches > 0 else { return }
        throw .failure("\(mismatches) product(s) disagree with sgemm beyond ‖Δ‖/‖C‖ = \(mismatchTolerance)")
    }

    /// How the AVX2 tile reads a weight gradient's transposed A in this process, and why.
    static var transposedALine: String {
        let measured = TiledGEMM.avx2TransposedA, wide = TiledGEMM.avx2TransposedAWide
        return "transposed A (weight gradients): packed when its rows are \(TiledGEMM.packedFromLeadingDimension) floats apart or more; "
            + "narrower, on the AVX2 tile \(measured.choice.rawValue) below \(TiledGEMM.wideFromColumns) columns"
            + String(format: " (in place measured at %.2f× packed's speed here)", measured.speedup)
            + " and \(wide.choice.rawValue) from there"
            + String(format: " (%.2f×)", wide.speedup)
    }

    static func laterCeiling(_ first: Double, checksum: inout Double) -> Double {
        max(first, tileCeiling(checksum: &checksum))
    }

    /// The peak as Loom's products see it: GFLOP/s of the register tile they run on
    /// (`TileKernel.active`, `TileKernel.ceiling`), alone, k = 256 on operands that stay in L1:
    /// what a product would reach with no packing, no cache misses and no edges. With the tile
    /// forced narrower (`LOOM_KERNEL=avx2` on an AVX-512 CPU, the AVX2 preview) it is that tile's
    /// peak, as on an AVX2-only machine: on Zen 5 the AVX-512 tile runs twice as fast, and "of
    /// peak" against it would say nothing about the AVX2 path (`fastestTileCeiling` names it).
    /// A peak measured once can land on a slow moment of a shared machine (seen: 75 instead of
    /// 117 GFLOP/s), which would inflate every "of peak" after it: benchmarks that divide by it
    /// measure it again after their timed runs and keep the faster (`laterCeiling`).
    static func tileCeiling(checksum: inout Double) -> Double {
        let rate = TileKernel.active.ceiling()
        checksum += rate * 0
        return rate
    }

    /// The fastest tile's `ceiling` when it is not the one the products run on, else nil.
    static func fastestTileCeiling() -> (tile: TileKernel, gflops: Double)? {
        TileKernel.best == TileKernel.active ? nil : (TileKernel.best, TileKernel.best.ceiling())
    }

    /// Float32 sums in another order differ by about 1e-6 relative at k = 4096; a wrong block by O(1).
    static let mismatchTolerance = 1e-4

    static func agreement(_ error: Double) -> String {
        error > mismatchTolerance ? String(format: "MISMATCH %.1e", error) : String(format: "%.1e", error)
    }

    /// Median milliseconds of `shape` on `TiledGEMM` and on sgemm, alternated,
    /// ‖C_loom − C_sgemm‖/‖C_sgemm‖, Loom's speed-up turn by turn, and turn by turn Loom's rate
    /// over the active tile's alone on data in L1 (a third sample in each turn, about a quarter
    /// of the product's work).
    static func time(_ shape: Shape, repeats: Int, workspace: GEMMWorkspace,
                     checksum: inout Double) -> (Double, Double, Double, TurnRatios, TurnRatios) {
        // Stored shapes: A is m × k (k × m transposed), B is k × n (n × k transposed).
        let lda = shape.transA == .none ? shape.k : shape.m, ldb = shape.transB == .none ? shape.n : shape.k
        var random = SeededRandom(seed: 7)
        let a = (0..<(shape.m * shape.k)).map { _ in random.nextUnitFloat() - 0.5 }
        let b = (0..<(shape.k * shape.n)).map { _ in random.nextUnitFloat() - 0.5 }
        var c = [Float](repeating: 0, count: shape.m * shape.n), reference = c
        return a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    let a = a.baseAddress!, b = b.baseAddress!, c = c.baseAddress!
                    reference.withUnsafeMutableBufferPointer {
                        BLAS.sgemm(shape.transA, shape.transB, m: shape.m, n: shape.n, k: shape.k, alpha: 1, a: a, lda: lda,
                                   b: b, ldb: ldb, beta: 0, c: $0.baseAddress!, ldc: shape.n)
                    }
                    let tile = TileKernel.active, blockFlops = tile.ceilingSample(calls: 1).flops
                    let calls = max(16, Int(shape.flops / blockFlops / 4)), tileFlops = blockFlops * Double(calls)
                    let (loom, blas, tileSamples, _) = Samples.measureInTurn(count: repeats, checksum: &checksum, {
                        TiledGEMM.multiply(shape.transA, shape.transB, m: shape.m, n: shape.n, k: shape.k, a: a, lda: lda,
                                           b: b, ldb: ldb, beta: 0, c: c, ldc: shape.n, workspace: workspace)
                        return Double(c[0])
                    }, {
                        BLAS.sgemm(shape.transA, shape.transB, m: shape.m, n: shape.n, k: shape.k, alpha: 1, a: a, lda: lda,
                                   b: b, ldb: ldb, beta: 0, c: c, ldc: shape.n)
                        return Double(c[0])
                    }, third: { tile.ceilingSample(calls: calls).duration })
                    // The timed calls ended on sgemm: one more of Loom's for the comparison.
                    TiledGEMM.multiply(shape.transA, shape.transB, m: shape.m, n: shape.n, k: shape.k, a: a, lda: lda,
                                       b: b, ldb: ldb, beta: 0, c: c, ldc: shape.n, workspace: workspace)
                    var difference = 0.0, norm = 0.0
                    for i in 0..<(shape.m * shape.n) {
                        difference += Double(c[i] - reference[i]) * Double(c[i] - reference[i])
                        norm += Double(reference[i]) * Double(reference[i])
                    }
                    return (loom.medianMilliseconds, blas.medianMilliseconds, (difference / max(norm, .leastNormalMagnitude)).squareRoot(),
                            loom.turnRatios(over: blas), loom.turnRatios(over: tileSamples ?? Samples(), scale: shape.flops / tileFlops))

                }
            }
        }
    }
}
