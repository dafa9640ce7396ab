import Attention
import Foundation
import ProcessTestSupport
import TensorCore
import Testing

/// `loom` as users run it: a real process, its exit status, stdout and stderr (STYLE §1, §7).
@Suite struct LoomCLITests {
    @Test func helpListsTheCommandsAndExitsZero() throws {
        let outcome = try LoomProcess.run(["--help"])
        #expect(outcome.status == 0, "\(outcome)")
        #expect(outcome.standardOutput.contains("usage: loom <command>"), "\(outcome)")
        for command in ["version", "attention", "bench attention"] {
            #expect(outcome.standardOutput.contains("  \(command) "), "help should list \(command): \(outcome)")
        }
    }

    @Test(arguments: [["attention", "--help"], ["bench", "attention", "--help"], ["bench", "gemm", "--help"], ["help", "version"]])
    func commandHelpExitsZero(arguments: [String]) throws {
        let outcome = try LoomProcess.run(arguments)
        #expect(outcome.status == 0, "\(outcome)")
        #expect(outcome.standardOutput.contains("usage: loom"), "\(outcome)")
    }

    @Test func attentionHelpStatesTheCausalConvention() throws {
        let outcome = try LoomProcess.run(["attention", "--help"])
        #expect(outcome.standardOutput.contains("query i sees keys 0 … m − n + i"), "\(outcome)")
    }

    @Test func versionNamesEveryLinkedLibrary() throws {
        let outcome = try LoomProcess.run(["version"])
        #expect(outcome.status == 0, "\(outcome)")
        let lines = outcome.standardOutput.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("loom 0.1.0 (commit ") == true, "\(outcome)")
        // The major versions Debian 12 ships; a different machine may need these updated.
        let expected = [("libzmq", "4."), ("OpenBLAS", "0."), ("Graphviz", "2."), ("libyaml", "0."), ("SQLite", "3.")]
        for (library, major) in expected {
            let line = lines.first { $0.hasPrefix(library + " ") }
            let version = line?.dropFirst(library.count).drop(while: { $0 == " " })
            #expect(version?.hasPrefix(major) == true, "\(library) \(major)… expected: \(outcome)")
        }
    }

    @Test func unknownOptionSuggestsTheNearestAndExitsTwo() throws {
        let outcome = try LoomProcess.run(["bench", "attention", "--sise", "1024"])
        #expect(outcome.status == 2, "\(outcome)")
        #expect(outcome.standardError.contains(
            "error: unknown option '--sise' for 'loom bench attention'; did you mean '--sizes'?"), "\(outcome)")
        #expect(outcome.standardOutput.isEmpty, "\(outcome)")
    }

    @Test(arguments: [
        (["bnch"], "did you mean 'bench'?"),
        (["bench", "atention"], "did you mean 'loom bench attention'?"),
        (["bench", "attention", "--causal", "maybe"], "--causal must be one of both, yes, no"),
        (["bench", "attention", "--sizes", "1024,x"], "'x' in '1024,x'"),
        (["bench", "attention", "--repeat"], "needs a value"),
        (["attention", "--q", "q.npy"], "needs --k"),
        (["attention", "--q", "q.npy", "--k", "k.npy", "--v", "v.npy", "--out", "o.npy", "--dq", "dq.npy"],
         "--dq is used only with --backward"),
    ])
    func badInputExitsTwoWithAReason(arguments: [String], reason: String) throws {
        let outcome = try LoomProcess.run(arguments)
        #expect(outcome.status == 2, "\(outcome)")
        #expect(outcome.standardError.contains(reason), "\(outcome)")
    }

    @Test func truncatedInputFileIsNamed() throws {
        let directory = try TemporaryDirectory()
        let shape = [4, 2, 8]
        let values = (0..<64).map { Double($0) / 64 }
        try NPYTestFile.write(values, shape: shape, to: directory.path("q.npy"))
        try NPYTestFile.write(values, shape: shape, to: directory.path("v.npy"))
        let whole = NPYTestFile.encode(values, shape: shape)
        try Data(whole.prefix(whole.count - 100)).write(to: URL(fileURLWithPath: directory.path("k.npy")))
        let outcome = try LoomProcess.run(["attention", "--q", directory.path("q.npy"), "--k", directory.path("k.npy"),
                                           "--v", directory.path("v.npy"), "--out", directory.path("out.npy")])
        #expect(outcome.status == 2, "\(outcome)")
        #expect(outcome.standardError.contains(directory.path("k.npy")), "\(outcome)")
        #expect(!FileManager.default.fileExists(atPath: directory.path("out.npy")), "no output after bad input")
    }

    /// Finite inputs whose scores overflow float32 once wrote a file of NaN and exited 0.
    @Test func scoresThatOverflowAreRefusedAndNothingIsWritten() throws {
        let directory = try TemporaryDirectory()
        let shape = [4, 2, 8]
        try NPYTestFile.write(Array(repeating: 3e38, count: 64), shape: shape, to: directory.path("big.npy"), asFloat32: true)
        try NPYTestFile.write((0..<64).map { Double($0) / 64 }, shape: shape, to: directory.path("v.npy"))
        let outcome = try LoomProcess.run(["attention", "--q", directory.path("big.npy"), "--k", directory.path("big.npy"),
                                           "--v", directory.path("v.npy"), "--out", directory.path("out.npy")])
        #expect(outcome.status == 1 && outcome.standardError.contains("the scores overflowed float32"), "\(outcome)")
        #expect(!FileManager.default.fileExists(atPath: directory.path("out.npy")))
        let scaled = try LoomProcess.run(["attention", "--q", directory.path("v.npy"), "--k", directory.path("v.npy"),
                                          "--v", directory.path("v.npy"), "--out", directory.path("out.npy"), "--scale", "1e38"])
        #expect(scaled.status == 1 && scaled.standardError.contains("smaller --scale"), "\(scaled)")
    }

    @Test func missingInputFileIsNamed() throws {
        let directory = try TemporaryDirectory()
        let outcome = try LoomProcess.run(["attention", "--q", directory.path("absent.npy"), "--k", "k.npy",
                                           "--v", "v.npy", "--out", directory.path("out.npy")])
        #expect(outcome.status == 2, "\(outcome)")
        #expect(outcome.standardError.contains(directory.path("absent.npy")), "\(outcome)")
    }

    @Test func nonFiniteInputIsNamedWithItsIndex() throws {
        let directory = try TemporaryDirectory()
        let shape = [3, 2, 4]
        var values = (0..<24).map { Double($0) / 24 }
        values[(1 * 2 + 0) * 4 + 2] = .nan                      // element [1, 0, 2]
        try NPYTestFile.write(values, shape: shape, to: directory.path("q.npy"))
        values[(1 * 2 + 0) * 4 + 2] = 0
        try NPYTestFile.write(values, shape: shape, to: directory.path("k.npy"))
        try NPYTestFile.write(values, shape: shape, to: directory.path("v.npy"))
        let outcome = try LoomProcess.run(["attention", "--q", directory.path("q.npy"), "--k", directory.path("k.npy"),
                                           "--v", directory.path("v.npy"), "--out", directory.path("out.npy")])
        #expect(outcome.status == 2, "\(outcome)")
        #expect(outcome.standardError.contains(directory.path("q.npy")), "\(outcome)")
        #expect(outcome.standardError.contains("[1, 0, 2]"), "\(outcome)")
    }

    /// One `loom attention` case: shapes, mask flags and score function.
    struct RoundTrip: CustomStringConvertible, Sendable {
        var queries: Int, keys: Int, heads: Int, keyHeads: Int, headDimension: Int
        var isCausal = false
        var window: Int?
        var score: ScoreFunction = .softmax
        var asFloat32 = false

        var description: String {
            "n=\(queries) m=\(keys) H=\(heads) Hkv=\(keyHeads) d=\(headDimension) causal=\(isCausal) " +
                "window=\(window.map(String.init) ?? "none") \(score) \(asFloat32 ? "f4" : "f8")"
        }

        /// The mask `loom attention` documents for these flags: end-aligned.
        var mask: AttentionMask {
            AttentionMask(isCausal: isCausal, window: window, queryOffset: keys - queries)
        }

        /// The flags that select this case.
        var flags: [String] {
            var flags = ["--score", score.rawValue]
            if isCausal { flags.append("--causal") }
            if let window { flags += ["--window", String(window)] }
            return flags
        }
    }

    static let roundTrips: [RoundTrip] = [
        RoundTrip(queries: 37, keys: 37, heads: 4, keyHeads: 2, headDimension: 16),
        RoundTrip(queries: 37, keys: 37, heads: 4, keyHeads: 2, headDimension: 16, asFloat32: true),
        RoundTrip(queries: 20, keys: 45, heads: 2, keyHeads: 2, headDimension: 8, isCausal: true),
        RoundTrip(queries: 45, keys: 20, heads: 2, keyHeads: 1, headDimension: 8, isCausal: true),
        RoundTrip(queries: 33, keys: 33, heads: 2, keyHeads: 2, headDimension: 8, isCausal: true, window: 5),
        RoundTrip(queries: 24, keys: 30, heads: 2, keyHeads: 2, headDimension: 8, score: .relu),
        RoundTrip(queries: 24, keys: 30, heads: 2, keyHeads: 2, headDimension: 8, isCausal: true, score: .softplus),
    ]

    /// Forward through the CLI equals the float64 reference: `‖out − ref‖/‖ref‖ ≤ 1e-5` (DESIGN,
    /// Numerics: float32 forward passes), lse likewise on finite rows and −∞ on rows that see nothing.
    @Test(arguments: roundTrips)
    func forwardMatchesTheFloat64Reference(_ trip: RoundTrip) throws {
        let directory = try TemporaryDirectory()
        let inputs = Self.inputs(trip, seed: 11)
        try Self.writeInputs(inputs, trip, to: directory)
        let outcome = try LoomProcess.run(["attention", "--q", directory.path("q.npy"), "--k", directory.path("k.npy"),
                                           "--v", directory.path("v.npy"), "--out", directory.path("out.npy"),
                                           "--lse", directory.path("lse.npy"), "--threads", "2"] + trip.flags)
        try #require(outcome.status == 0, "\(outcome)")
        let shape = try AttentionShape(query: inputs.queryShape, key: inputs.keyShape, value: inputs.keyShape)
        let reference = ReferenceAttention.forward(query: inputs.query, key: inputs.key, value: inputs.value,
                                                   shape: shape, mask: trip.mask, score: trip.score)
        let out = try NPYTestFile.readFloat32(directory.path("out.npy"))
        #expect(out.shape == inputs.queryShape)
        let outError = Self.relativeError(out.values, reference.output)
        #expect(outError <= 1e-5, "output relative error \(outError) for \(trip)")
        let lse = try NPYTestFile.readFloat32(directory.path("lse.npy"))
        #expect(lse.shape == [trip.queries, trip.heads])
        for (row, (got, want)) in zip(lse.values, reference.logSumExp).enumerated() where !want.isFinite {
            #expect(got == want, "lse row \(row): \(got), reference \(want) for \(trip)")
        }
        let finite = zip(lse.values, reference.logSumExp).filter { $0.1.isFinite }
        let lseError = Self.relativeError(finite.map(\.0), finite.map(\.1))
        #expect(lseError <= 1e-5, "lse relative error \(lseError) for \(trip)")
    }

    /// Backward through the CLI equals the float64 reference to 1e-4 relative: the float32 backward
    /// recomputes P from a rounded lse and sums dS over keys and groups, about ten times the forward's
    /// error (the same bound the kernel's own tests state).
    @Test(arguments: [roundTrips[0], roundTrips[3], roundTrips[6]])
    func backwardMatchesTheFloat64Reference(_ trip: RoundTrip) throws {
        let directory = try TemporaryDirectory()
        let inputs = Self.inputs(trip, seed: 23)
        try Self.writeInputs(inputs, trip, to: directory)
        let outputGradient = Self.normals(count: inputs.query.count, seed: 29)
        try NPYTestFile.write(outputGradient, shape: inputs.queryShape, to: directory.path("dout.npy"))
        let outcome = try LoomProcess.run(["attention", "--backward", "--q", directory.path("q.npy"),
                                           "--k", directory.path("k.npy"), "--v", directory.path("v.npy"),
                                           "--dout", directory.path("dout.npy"), "--dq", directory.path("dq.npy"),
                                           "--dk", directory.path("dk.npy"), "--dv", directory.path("dv.npy")]
                                          + trip.flags)
        try #require(outcome.status == 0, "\(outcome)")
        let shape = try AttentionShape(query: inputs.queryShape, key: inputs.keyShape, value: inputs.keyShape)
        let reference = ReferenceAttention.backward(query: inputs.query, key: inputs.key, value: inputs.value,
                                                    shape: shape, mask: trip.mask, score: trip.score,
                                                    outputGradient: outputGradient)
        for (name, want, expectedShape) in [("dq", reference.query, inputs.queryShape),
                                            ("dk", reference.key, inputs.keyShape),
                                            ("dv", reference.value, inputs.keyShape)] {
            let got = try NPYTestFile.readFloat32(directory.path("\(name).npy"))
            #expect(got.shape == expectedShape, "\(name) shape for \(trip)")
            let error = Self.relativeError(got.values, want)
            #expect(error <= 1e-4, "\(name) relative error \(error) for \(trip)")
        }
    }

    /// Text from elsewhere (here a file name) reaches stderr with its control characters shown
    /// as U+FFFD: an escape sequence in a name or a worker's error cannot drive the terminal.
    @Test func diagnosticsCannotCarryEscapeSequences() throws {
        let name = "/nonexistent/run\u{1B}]0;owned\u{07}\u{1B}[31m.yaml"
        let outcome = try LoomProcess.run(["run", name])
        #expect(outcome.status != 0, "\(outcome)")
        #expect(!outcome.standardError.contains("\u{1B}") && !outcome.standardError.contains("\u{07}"), "\(outcome.standardError.debugDescription)")
        #expect(outcome.standardError.contains("run\u{FFFD}]0;owned\u{FFFD}\u{FFFD}[31m.yaml"), "\(outcome.standardError.debugDescription)")
    }

    /// An sgemm baseline pinned to AVX2 kernels beside Loom's AVX-512 tile is named in the header,
    /// and only then: an AVX2 tile against Haswell's kernels is a fair comparison.
    @Test func aPinnedNarrowBaselineIsWarnedAbout() throws {
        let small = ["bench", "attention", "--sizes", "64", "--head-dims", "16", "--heads", "2", "--repeat", "1",
                     "--threads", "1", "--pass", "fwd", "--causal", "no"]
        func with(_ kernel: String) -> [String: String] {
            ProcessInfo.processInfo.environment.merging(["OPENBLAS_CORETYPE": "Haswell", "LOOM_KERNEL": kernel]) { $1 }
        }
        let pinned = try LoomProcess.run(small, environment: with("auto"))
        #expect(pinned.status == 0, "\(pinned)")
        #expect(pinned.standardOutput.contains("pinned by OPENBLAS_CORETYPE"), "\(pinned)")
        let warned = pinned.standardOutput.contains("warning: OPENBLAS_CORETYPE=Haswell pins OpenBLAS")
        #expect(warned == (TileKernel.best == .avx512), "\(pinned)")
        let fair = try LoomProcess.run(small, environment: with("avx2"))
        #expect(fair.status == 0 && !fair.standardOutput.contains("warning: OPENBLAS_CORETYPE"), "\(fair)")
    }

    @Test func benchRunsASmallCaseOrRefusesJSONInDebug() throws {
        let version = try LoomProcess.run(["version"])
        let isDebug = version.standardOutput.contains("debug build")
        let small = ["bench", "attention", "--sizes", "64", "--head-dims", "16", "--heads", "2", "--repeat", "1",
                     "--threads", "1"]
        let table = try LoomProcess.run(small)
        #expect(table.status == 0, "\(table)")
        #expect(table.standardOutput.contains("OpenBLAS core"), "\(table)")
        #expect(table.standardOutput.contains("checksum"), "\(table)")
        #expect(!table.standardOutput.contains("MISMATCH"), "\(table)")
        // Each ratio with its spread turn by turn: one turn here, so [x–x].
        let rows = table.standardOutput.split(separator: "\n").filter { $0.hasPrefix("  64") || $0.hasPrefix("64") }
        #expect(rows.count == 4 && rows.allSatisfy { $0.contains("× [") && $0.contains("–") }, "\(table)")
        #expect(table.standardOutput.contains("[lowest–highest] of the same ratio turn by turn"), "\(table)")
        let json = try LoomProcess.run(small + ["--json"])
        if isDebug {
            #expect(json.status == 2, "\(json)")
            #expect(json.standardError.contains("--json needs a release build"), "\(json)")
        } else {
            try #require(json.status == 0, "\(json)")
            let object = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any]
            let results = object?["results"] as? [[String: Any]]
            #expect(object?["sgemm_gflops"] is Double, "\(json)")
            #expect(results?.count == 4, "\(json)")
            for key in ["n", "m", "heads", "head_dim", "causal", "pass", "gflops", "sgemm_gflops", "ratio",
                        "ms_median", "ms_min", "naive_gflops"] {
                #expect(results?.first?[key] != nil, "results[0] lacks \(key): \(json)")
            }
            let turns = results?.first?["ratio_turns"] as? [String: Any]
            #expect(turns?["turns"] as? Int == 1 && (turns?["values"] as? [Any])?.count == 1, "\(json)")
        }
    }

    @Test func benchGEMMTimesEveryProductAndChecksIt() throws {
        let small = ["bench", "gemm", "--d", "8", "--tokens", "40", "--vocabulary", "11", "--repeat", "2"]
        let table = try LoomProcess.run(small)
        #expect(table.status == 0, "\(table)")
        for product in ["qkv", "ffn-out", "d-final", "dW-ffn-in", "dW-unembed", "total", "checksum"] {
            #expect(table.standardOutput.contains(product), "no \(product) row: \(table)")
        }
        // Every product's row: the speed-up of the medians, then its two turns' range, lowest first.
        let productRows = table.standardOutput.split(separator: "\n").filter { $0.contains(" NN ") || $0.contains(" NT ") || $0.contains(" TN ") }
        #expect(productRows.count == 15, "\(table)")
        for row in productRows {
            let fields = row.split(separator: " ")
            let range = fields.first { $0.hasPrefix("[") && $0.hasSuffix("]") }
            let bounds = range.map { $0.dropFirst().dropLast().split(separator: "–").compactMap { Double($0) } } ?? []
            // At two decimals a turn the machine interrupted can print 0.00 (a 0.4 µs product
            // against one of 40 µs), so the bounds are checked for order, not for being above 0.
            #expect(bounds.count == 2 && bounds[0] >= 0 && bounds[0] <= bounds[1], "no turn range in: \(row)")
            // Then Loom's rate over the tile's alone, timed in the same turns: a positive number.
            let index = fields.firstIndex { $0.hasPrefix("[") && $0.hasSuffix("]") }
            let ofTile = index.flatMap { fields.index(after: $0) < fields.endIndex ? Double(fields[fields.index(after: $0)]) : nil }
            #expect(ofTile.map { $0 > 0 && $0.isFinite } == true, "no 'of tile' in: \(row)")
        }
        #expect(table.standardOutput.contains("turn by turn: [lowest–highest] of Loom's speed-up"), "\(table)")
        #expect(table.standardOutput.contains("of tile: Loom's GFLOP/s over the"), "\(table)")
        #expect(!table.standardOutput.contains("MISMATCH"), "\(table)")
        let bad = try LoomProcess.run(["bench", "gemm", "--d", "0"])
        #expect(bad.status == 2, "\(bad)")
    }

    @Test func benchTrainTimesASmallModelAgainstThePeak() throws {
        let table = try LoomProcess.run(["bench", "train", "--models", "1x8", "--context", "8", "--batch", "2",
                                         "--steps", "1", "--repeat", "1"])
        #expect(table.status == 0, "\(table)")
        #expect(table.standardOutput.contains("peak: the register tile alone runs at"), "\(table)")
        // The tile on every core at once, before and after: two rates, each a share of the peak.
        let together = table.standardOutput.split(separator: "\n").first { $0.hasPrefix("together: on all ") }
        let rates = together.map { line in line.split(whereSeparator: { " ()".contains($0) }).compactMap { Double($0) } } ?? []
        #expect(rates.count == 5 && rates[1] > 0 && rates[2] > 0 && rates[3] > 0 && rates[4] > 0, "cores, two rates, two shares: \(table)")
        let row = table.standardOutput.split(separator: "\n").last { $0.contains("loom") && !$0.contains("commit") }
        let fields = row?.split(separator: " ") ?? []
        #expect(fields.count == 11, "a row of 11 columns: \(table)")
        if fields.count == 11 {
            // Of peak and beside: fractions (0.00 for this tiny model on a busy machine); at peak:
            // more tokens/s than measured.
            let fraction = Double(fields[8]) ?? -1, beside = Double(fields[9]) ?? -1
            let atPeak = Double(fields[10]) ?? 0, measured = Double(fields[3]) ?? .infinity
            #expect(fraction >= 0 && fraction < 1.5 && beside >= 0 && beside < 3, "\(table)")
            #expect(atPeak > measured, "\(table)")
        }
        let phases = try LoomProcess.run(["bench", "train", "--models", "1x8", "--context", "8", "--batch", "2",
                                          "--steps", "2", "--repeat", "2", "--phases"])
        #expect(phases.status == 0 && phases.standardOutput.contains("phases of a step, 1 layer(s), d = 8"), "\(phases)")
        for name in ["embedding", "backward: attention", "clipping, optimizer"] {
            #expect(phases.standardOutput.contains(name), "no '\(name)' phase: \(phases)")
        }
        // Each phase row ends with the workers' waiting share, a percentage.
        let embedding = phases.standardOutput.split(separator: "\n").first { $0.hasSuffix("%") && $0.contains(" embedding ") }
        let waiting = embedding.flatMap { Double($0.split(separator: " ").dropLast().last ?? "") }
        #expect(waiting.map { $0 >= 0 && $0 <= 100 } == true, "\(phases)")
        #expect(phases.standardOutput.contains("% of the step"), "\(phases)")
        // With the tile forced narrower than the CPU's best, the peak is the forced tile's and the
        // faster one's is named beside it (on an AVX2-only CPU there is nothing to name).
        let forced = try LoomProcess.run(["bench", "train", "--models", "1x8", "--context", "8", "--batch", "2", "--steps", "1", "--repeat", "1"],
                                         environment: ProcessInfo.processInfo.environment.merging(["LOOM_KERNEL": "avx2"]) { $1 })
        #expect(forced.status == 0, "\(forced)")
        #expect(forced.standardOutput.contains("the products run on the avx2 tile (LOOM_KERNEL); this CPU's avx512 tile reaches")
                == (TileKernel.best == .avx512), "\(forced)")
        let bad = try LoomProcess.run(["bench", "train", "--models", "1y8"])
        #expect(bad.status == 2 && bad.standardError.contains("layers×width"), "\(bad)")
    }

    @Test func benchFusionsTimesEachFusionOffAgainstAllFused() throws {
        // Head width 16 at T = 16: the attention's fusions apply (AVX2 and AVX-512 alike).
        let table = try LoomProcess.run(["bench", "fusions", "--models", "1x16", "--context", "16", "--batch", "2", "--rounds", "2"])
        #expect(table.status == 0, "\(table)")
        let rows = table.standardOutput.split(separator: "\n").filter { $0.hasPrefix("      1      16") }
        let expected = ["all fused", "attention off", "attention-backward off", "cross-entropy off", "relu-mask off", "row-passes off",
                        "balanced-pieces off", "head-blocks off", "operand-prefetch off", "all fused (control)"]
        #expect(rows.count == expected.count, "\(table)")
        for (row, name) in zip(rows, expected) {
            #expect(row.contains(name), "row '\(row)' should be '\(name)'")
        }
        let gelu = try LoomProcess.run(["bench", "fusions", "--models", "1x16", "--context", "16", "--batch", "2", "--rounds", "1",
                                        "--activation", "gelu"])
        #expect(gelu.status == 0 && !gelu.standardOutput.contains("relu-mask off"), "\(gelu)")
        let bad = try LoomProcess.run(["bench", "fusions", "--activation", "tanh"])
        #expect(bad.status == 2 && bad.standardError.contains("relu or gelu"), "\(bad)")
        let many = try LoomProcess.run(["bench", "fusions", "--rounds", "1000000"])
        #expect(many.status == 2 && many.standardError.contains("at most 100000"), "\(many)")
        // The FFN's row blocks instead of the fusions: the default (hidden 64: 512 rows rounded up
        // to whole 6-row strips, 516), each size, the control; each compared with the default.
        let blocks = try LoomProcess.run(["bench", "fusions", "--models", "1x16", "--context", "16", "--batch", "2", "--rounds", "1",
                                          "--ffn-blocks", "6,10"])
        #expect(blocks.status == 0 && blocks.standardOutput.contains("vs default"), "\(blocks)")
        let blockRows = blocks.standardOutput.split(separator: "\n").filter { $0.hasPrefix("      1      16") }
        let names = ["ffn rows 516 (default)", "ffn rows 6", "ffn rows 10", "ffn rows 516 (control)"]
        #expect(blockRows.count == names.count, "\(blocks)")
        for (row, name) in zip(blockRows, names) { #expect(row.contains(name), "row '\(row)' should be '\(name)'") }
        #expect(blockRows.first?.hasSuffix("—") == true && blockRows.dropFirst().allSatisfy { $0.hasSuffix("%") }, "\(blocks)")
        // --phases: each phase's ms in the first configuration, every other's difference from it,
        // over the same steps as the table; the phases add up to about the step.
        let phased = try LoomProcess.run(["bench", "fusions", "--models", "1x16", "--context", "16", "--batch", "2", "--rounds", "4",
                                          "--ffn-blocks", "6", "--phases"])
        #expect(phased.status == 0 && phased.standardOutput.contains("phases of a step, 1x16"), "\(phased)")
        let lines = phased.standardOutput.split(separator: "\n").map(String.init)
        let step = lines.first { $0.hasPrefix("      1      16") }.flatMap { line in Double(line.split(separator: " ").dropLast().last ?? "") }
        // The rows between the table's header (after the title) and its legend: a phase's name in 36
        // columns, then [1] and the two differences.
        let title = lines.firstIndex { $0.hasPrefix("phases of a step, 1x16") } ?? lines.count
        let legend = lines.firstIndex { $0.hasPrefix("[1] ") } ?? lines.count
        let phaseRows = title + 2 < legend ? lines[(title + 2)..<legend].map { $0.dropFirst(36).split(separator: " ") } : []
        #expect(phaseRows.count >= 8 && phaseRows.allSatisfy { $0.count == 3 && $0.dropFirst().allSatisfy { $0.hasPrefix("+") || $0.hasPrefix("-") } },
                "\(phased)")
        let phaseSum = phaseRows.compactMap { $0.first.flatMap { Double($0) } }.reduce(0, +)
        #expect(step.map { phaseSum <= $0 * 1.01 + 0.002 && phaseSum >= $0 * 0.5 } == true, "phases \(phaseSum) ms, step \(String(describing: step))")
        #expect(lines.contains("[1] ffn rows 516 (default), [2] ffn rows 6, [3] ffn rows 516 (control)"), "\(phased)")
        let tooMany = try LoomProcess.run(["bench", "fusions", "--ffn-blocks", "1,2,3,4,5,6,7,8,9"])
        #expect(tooMany.status == 2 && tooMany.standardError.contains("at most 8 sizes"), "\(tooMany)")
        let huge = try LoomProcess.run(["bench", "fusions", "--ffn-blocks", "36,100000"])
        #expect(huge.status == 2 && huge.standardError.contains("at most 65536 rows"), "\(huge)")
        let zero = try LoomProcess.run(["bench", "fusions", "--ffn-blocks", "36,0"])
        #expect(zero.status == 2 && zero.standardError.contains("positive whole numbers"), "\(zero)")
    }

    // MARK: inputs

    /// Seeded q `[n, H, d]`, k and v `[m, Hkv, d]` in float64 (rounded to float32 when the case writes f4).
    struct Inputs {
        var query: [Double], key: [Double], value: [Double]
        var queryShape: [Int], keyShape: [Int]
    }

    static func inputs(_ trip: RoundTrip, seed: UInt64) -> Inputs {
        let queryShape = [trip.queries, trip.heads, trip.headDimension]
        let keyShape = [trip.keys, trip.keyHeads, trip.headDimension]
        let round: (Double) -> Double = { trip.asFloat32 ? Double(Float($0)) : $0 }
        return Inputs(query: normals(count: queryShape.reduce(1, *), seed: seed).map(round),
                      key: normals(count: keyShape.reduce(1, *), seed: seed + 1).map(round),
                      value: normals(count: keyShape.reduce(1, *), seed: seed + 2).map(round),
                      queryShape: queryShape, keyShape: keyShape)
    }

    static func writeInputs(_ inputs: Inputs, _ trip: RoundTrip, to directory: TemporaryDirectory) throws {
        try NPYTestFile.write(inputs.query, shape: inputs.queryShape, to: directory.path("q.npy"), asFloat32: trip.asFloat32)
        try NPYTestFile.write(inputs.key, shape: inputs.keyShape, to: directory.path("k.npy"), asFloat32: trip.asFloat32)
        try NPYTestFile.write(inputs.value, shape: inputs.keyShape, to: directory.path("v.npy"), asFloat32: trip.asFloat32)
    }

    /// Standard normals from SplitMix64 and Box–Muller, fixed by `seed`.
    static func normals(count: Int, seed: UInt64) -> [Double] {
        var state = seed
        func next() -> Double {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return (Double((z ^ (z >> 31)) >> 11) + 0.5) * 0x1p-53
        }
        return (0..<count).map { _ in (-2 * log(next())).squareRoot() * cos(2 * Double.pi * next()) }
    }

    /// `‖a − b‖₂ / ‖b‖₂` (absolute when b is zero).
    static func relativeError(_ a: [Double], _ b: [Double]) -> Double {
        guard a.count == b.count else { return .infinity }
        var difference = 0.0, reference = 0.0
        for (x, y) in zip(a, b) {
            difference += (x - y) * (x - y)
            reference += y * y
        }
        return reference > 0 ? (difference / reference).squareRoot() : difference.squareRoot()
    }
}
