import Foundation
import Models
import TensorCore

/// `loom bench train`: training throughput of Bigram-Backcopy models against sgemm.
enum BenchTrainCommand: Command {
    static let words = ["bench", "train"]
    static let summary = "time full training steps (forward, backward, AdamW) of small transformers against sgemm"
    static let usage = "loom bench train [--models 1x64,3x64,1x256,3x256] [--context T] [--batch B] [--steps S] [--repeat R] [--products loom|openblas|both] [--phases] [--compare-torch [--python PATH]] [--json]"
    static let options: [Option] = [
        .value("models", "LxD,…", "layers × width of each model (default 1x64,3x64,1x256,3x256; heads: 1)"),
        .value("context", "T", "tokens per sequence (default 64)"),
        .value("batch", "B", "sequences per step (default 64)"),
        .value("steps", "S", "steps per timed sample (default 20)"),
        .value("repeat", "R", "timed samples per model (default 3; the median is reported)"),
        .value("products", "WHICH", "the projections on Loom's TiledGEMM (loom, the default), on OpenBLAS sgemm (openblas), or each in turn (both)"),
        .flag("phases", "after the timed samples, S more steps with each phase of a step timed (where the time goes)"),
        .flag("compare-torch", "also time PyTorch eager training steps of the same model, alternated (bench/torch_peer.py)"),
        .value("python", "PATH", "the Python that has torch, for --compare-torch (default python3 on PATH)"),
        .flag("json", "one JSON object with a results array (release builds only)"),
    ]
    static let discussion = """
        Each sample times S full steps: a fresh Bigram-Backcopy batch, forward with the loss, \
        backward, gradient clipping and an AdamW update; one warm-up step is discarded. FLOPs per \
        step count the matrix products only: forward 2·T·(4d² + 2·d·ffn) per layer for the \
        projections and FFN, 2·d·T·(T+1) per layer for the causal scores and weighted sums, and \
        2·T·d·V for the output layer, per sequence; a training step is 3× the forward. The \
        baseline is OpenBLAS sgemm of the FFN's shape ([B·T, d] × [d, 4d]) on the same threads, \
        timed in the same run. "Of peak" divides the GFLOP/s by the peak as Loom's products see it \
        (the register tile they run on alone on data in L1, measured before and after the timed \
        runs with the faster kept, times the cores; with LOOM_KERNEL=avx2 on an AVX-512 CPU the \
        AVX2 tile's, as on an AVX2-only machine, and the header names the faster tile's peak); \
        the tile on all cores at once is \
        measured too, before and after, and a note says when the cores were slower together than \
        apart (a VM's virtual CPUs sharing a physical core). "Beside" divides each sample's \
        GFLOP/s by the tile on all cores measured beside that sample, right after or right before it (the median of those \
        ratios): on a machine whose speed changes during a run, the fraction of what its cores \
        delivered at that moment. "At peak" is \
        the tokens/s a step would reach if every FLOP ran at that peak with no other work. With --products both, each model also runs with every product on \
        OpenBLAS, right after the run on Loom's own, so the two can be compared in one sitting.

        With --compare-torch, PyTorch (eager, the same architecture, AdamW and clipping; random \
        tokens, whose drawing is not timed) runs S steps in a child process beside each of Loom's \
        samples, on the same threads: Loom, the tile and sgemm, then PyTorch in one turn, the \
        reverse in the next, so that each side follows itself as often as the other work; 'vs torch' is Loom's tokens/s over PyTorch's (the medians), \
        and 'turn by turn' the lowest and highest of that ratio sample by sample (JSON: \
        ratio_torch_turns). Without torch importable it says so and prints the rest.

        With --phases, each model then runs S more steps with a clock read between the passes of \
        a step (embedding, each layer's LayerNorm and q|k|v, attention, W_O, LayerNorm and FFN, \
        the head, their backward passes, the optimizer), and a table gives each phase's ms per \
        step and share; the phases add up to the step. Its "waiting" column is the share of the \
        workers' time in the phase that they waited: inside parallel loops, for the part of a \
        loop's span they did not spend on their own pieces (a slower partner, a late start), and \
        outside loops for every worker but the caller, which then runs alone.
        """

    struct Case { var layers: Int; var width: Int }

    static func run(_ arguments: Arguments) throws(CommandError) {
        if arguments.flag("json") && !Provenance.isRelease {
            throw .usage("--json needs a release build: build with 'swift build -c release' and use .build/release/loom")
        }
        let cases = try parseModels(arguments.string("models") ?? "1x64,3x64,1x256,3x256")
        let context = try arguments.int("context", minimum: 1, maximum: 1 << 24) ?? 64
        let batch = try arguments.int("batch", minimum: 1, maximum: 1 << 24) ?? 64
        guard batch * context <= 1 << 24 else {
            throw .usage("--batch \(batch) × --context \(context) is more than the 2^24 rows a model takes; lower either")
        }
        let steps = try arguments.int("steps", minimum: 1) ?? 20
        let repeats = try arguments.int("repeat", minimum: 1) ?? 3
        let products: [String]
        switch arguments.string("products") ?? "loom" {
        case "loom": products = ["loom"]
        case "openblas": products = ["openblas"]
        case "both": products = ["loom", "openblas"]
        case let other: throw .usage("--products takes loom, openblas or both; got '\(other)'")
        }
        let task: BigramBackcopyTask
        do { task = BigramBackcopyTask(statistics: try BigramBackcopyStatistics.load()) } catch { throw .failure("\(error)") }
        var rows: [[String: Any]] = []
        // The machine's arithmetic peak as Loom's products see it: the register tile alone, per
        // core, times the cores a step uses.
        var checksum = 0.0
        let cores = Parallel.activeCores
        let firstPeak = BenchGEMMCommand.tileCeiling(checksum: &checksum) * Double(cores)
        let firstTogether = TileKernel.active.ceilingTogether(threads: cores)
        let torch = BenchAttentionCommand.compareTorch(arguments, threads: BLAS.threadCount)
        for item in cases {
            for product in products {
                let model = ModelConfig(vocabulary: task.vocabulary, context: context, layers: item.layers, dModel: item.width, heads: 1)
                let config = TrainingConfig(model: model, optimizer: .adamw(beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 1e-4),
                                            schedule: .constant(3e-4), steps: .max, batch: batch, evaluationBatch: 1)
                let trainer: Trainer
                do {
                    let transformer = try Transformer(config: model, seed: 1, maxBatch: batch, threads: 0)
                    transformer.usesOpenBLASProducts = product == "openblas"
                    trainer = try Trainer(config: config, model: transformer, task: task)
                    try trainer.trainStep()                                    // warm-up: first touches, packing
                } catch { throw .failure("\(error)") }
                // PyTorch alternates with Loom's products only (once per model), warm-up first.
                let torchRequest: [String: Any]? = torch.peer != nil && product == products[0]
                    ? ["op": "train", "layers": item.layers, "d": item.width, "heads": 1, "context": context, "batch": batch,
                       "vocabulary": task.vocabulary, "steps": steps] : nil
                if let torchRequest { _ = torch.peer?.sample(torchRequest.merging(["warm_up": true, "steps": 1]) { $1 }) }
                var seconds: [Double] = [], sgemm: [Double] = [], torchSeconds: [Double] = []
                var beside: [Double] = []   // the tile on all cores, beside each sample
                // Even turns: Loom, the tile and sgemm, PyTorch; odd turns the reverse, as
                // `Samples.measureInTurn`. Each side then runs right after itself in one turn of
                // two and right after the tile and sgemm in the other (on the Zen 3 VM the order
                // moved single sittings' ratios at 1 × 64 by up to a quarter; BENCHMARKS.md).
                func tileAndSgemm() {
                    beside.append(TileKernel.active.ceilingTogether(threads: cores, samples: 2))
                    sgemm.append(sgemmRate(rows: batch * context, width: item.width))
                }
                func torchSample() {
                    if let torchRequest, let sample = torch.peer?.sample(torchRequest) { torchSeconds.append(sample.inSeconds) }
                }
                for turn in 0..<repeats {
                    let loomFirst = turn % 2 == 0
                    if !loomFirst { torchSample(); tileAndSgemm() }
                    let start = ContinuousClock.now
                    do { for _ in 0..<steps { try trainer.trainStep() } } catch { throw .failure("\(error)") }
                    seconds.append((ContinuousClock.now - start).inSeconds / Double(steps))
                    if loomFirst { tileAndSgemm(); torchSample() }
                }
                let step = seconds.sorted()[seconds.count / 2], reference = sgemm.sorted()[sgemm.count / 2]
                // Only a full set of PyTorch samples counts (the peer may stop mid-way).
                let torchStep: Double? = torchSeconds.count == repeats ? torchSeconds.sorted()[repeats / 2] : nil
                // PyTorch's S steps beside each of Loom's samples: the ratio turn by turn.
                let torchTurns = torchStep == nil ? nil : TurnRatios(zip(seconds, torchSeconds).map { $0.1 / $0.0 })
                var phaseTimes: [String: Double] = [:], phaseWaiting: [String: Double] = [:]
                if arguments.flag("phases") {
                    let phases = StepPhases(workers: (trainer.model as? Transformer)?.threads ?? 1)
                    trainer.phases = phases
                    do { for _ in 0..<steps { try trainer.trainStep() } } catch { throw .failure("\(error)") }
                    trainer.phases = nil
                    for phase in StepPhases.Phase.allCases {
                        phaseTimes[phase.rawValue] = phases[phase] / Double(steps) * 1000
                        phaseWaiting[phase.rawValue] = phases.waitingShare(phase)
                    }
                }
                let gflops = flopsPerStep(model, batch: batch) / step / 1e9
                // Each sample over the tile measured beside it: the fraction of what the cores
                // delivered at that moment, whatever phase a shared machine was in.
                let besideFractions = zip(seconds, beside).map { flopsPerStep(model, batch: batch) / $0 / 1e9 / $1 }
                rows.append(["layers": item.layers, "d": item.width, "context": context, "batch": batch, "products": product,
                             "tokens_per_s": Double(batch * context) / step, "gflops": gflops, "sgemm_gflops": reference,
                             "ratio": gflops / reference, "ms_per_step": step * 1000,
                             "step_flops": flopsPerStep(model, batch: batch),
                             "fraction_of_peak_beside": besideFractions.sorted()[besideFractions.count / 2],
                             "peak_beside_gflops": beside.sorted()[beside.count / 2],
                             "torch_tokens_per_s": torchStep.map { Double(batch * context) / $0 } ?? NSNull(),
                             "ratio_torch": torchStep.map { $0 / step } ?? NSNull(),
                             "ratio_torch_turns": torchTurns.map(\.dictionary) ?? NSNull(),
                             "phases_ms_per_step": phaseTimes.isEmpty ? NSNull() : phaseTimes,
                             "phases_waiting_share": phaseWaiting.isEmpty ? NSNull() : phaseWaiting])
                if !arguments.flag("json") { Console.progress("bench train: \(item.layers)x\(item.width) (\(product)) done") }
            }
        }
        // The peak again after the timed runs, the faster kept (`laterCeiling`); then each row's share of it.
        let peak = BenchGEMMCommand.laterCeiling(firstPeak / Double(cores), checksum: &checksum) * Double(cores)
        let together = [firstTogether, TileKernel.active.ceilingTogether(threads: cores)]
        let fastest = BenchGEMMCommand.fastestTileCeiling().map { (tile: $0.tile, gflops: $0.gflops * Double(cores)) }
        rows = rows.map { row in
            var row = row
            let gflops = row["gflops"] as! Double, flops = row.removeValue(forKey: "step_flops") as! Double
            row["peak_gflops"] = peak
            row["fraction_of_peak"] = gflops / peak
            row["tokens_per_s_at_peak"] = Double(batch * context) * peak / (flops / 1e9)
            return row
        }
        if arguments.flag("json") {
            let torchNote = torch.peer?.failure.map { "PyTorch stopped during the run: \($0)" } ?? torch.note
            let object: [String: Any] = ["benchmark": "train", "peak_gflops": peak, "peak_tile": TileKernel.active.rawValue,
                                         "fastest_tile": fastest.map { $0.tile.rawValue } ?? NSNull(), "fastest_tile_peak_gflops": fastest?.gflops ?? NSNull(),
                                         "peak_together_gflops": together, "cpu": Provenance.cpuModel, "commit": Provenance.commit, "openblas_core": BLAS.coreName, "openblas_coretype": BLASCore.forced ?? NSNull(), "baseline_warning": BLASCore.narrowBaselineWarningHere ?? NSNull(),
                                         "threads": BLAS.threadCount, "simd": SIMDTarget.name, "results": rows,
                                         "torch": torch.peer?.version ?? NSNull(), "torch_note": torchNote ?? NSNull()]
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            Console.output(String(decoding: data, as: UTF8.self))
            return
        }
        Console.output("loom \(Provenance.loomVersion) (commit \(Provenance.commit), \(Provenance.build) build), \(Provenance.cpuModel), OpenBLAS \(BLASCore.summary), "
                       + "\(BLAS.threadCount) threads, SIMD \(SIMDTarget.name)")
        if !Provenance.isRelease { Console.output("warning: debug build — these timings are not meaningful") }
        if let warning = BLASCore.narrowBaselineWarningHere { Console.output("warning: " + warning) }
        Console.output("Bigram-Backcopy, context \(context), batch \(batch), AdamW, \(steps) steps per sample, median of \(repeats)")
        Console.output(String(format: "peak: the register tile alone runs at %.1f GFLOP/s per core, %.1f on %d cores (the faster of its measurements before and after the timed runs)", peak / Double(cores), peak, cores))
        if let fastest {
            Console.output(String(format: "the products run on the %@ tile (LOOM_KERNEL); this CPU's %@ tile reaches %.1f GFLOP/s on %d cores (%.2f× this peak)",
                                  TileKernel.active.rawValue, fastest.tile.rawValue, fastest.gflops, cores, fastest.gflops / peak))
        }
        Console.output(String(format: "together: on all %d cores at once it ran at %.1f GFLOP/s before and %.1f after the timed runs (%.2f and %.2f of the peak)",
                              cores, together[0], together[1], together[0] / peak, together[1] / peak))
        if TileKernel.active == .avx2 { Console.output(BenchGEMMCommand.transposedALine) }
        if let slowest = together.min(), slowest < 0.75 * peak {
            Console.output("note: the cores were slower together than apart during this run (a VM's virtual CPUs on one physical core's "
                           + "two hardware threads, or a busy neighbour); its figures, and its ratios to PyTorch, are of that slowed machine")
        }
        if let peer = torch.peer { Console.output("PyTorch \(peer.version) (\(peer.capability)), \(peer.threads) threads, eager, in a child process") }
        if let note = torch.peer?.failure.map({ "PyTorch stopped during the run: \($0)" }) ?? torch.note { Console.output(note) }
        let torchColumns = torch.peer == nil ? [] : ["torch tok/s", "vs torch", "turn by turn"]
        Console.output((["layers", "d", "products", "tokens/s", "ms/step", "GFLOP/s", "sgemm GFLOP/s", "vs sgemm", "of peak", "beside", "at peak"] + torchColumns)
            .map { $0.leftPadding(14) }.joined())
        for row in rows {
            let torchCells = torch.peer == nil ? [] : [(row["torch_tokens_per_s"] as? Double).map { String(format: "%.0f", $0) } ?? "—",
                                                       (row["ratio_torch"] as? Double).map { String(format: "%.2f×", $0) } ?? "—",
                                                       (row["ratio_torch_turns"] as? [String: Any]).map { TurnRatios($0["values"] as? [Double] ?? []).rangeText } ?? "—"]
            let cells = [String(row["layers"] as! Int), String(row["d"] as! Int), row["products"] as! String, String(format: "%.0f", row["tokens_per_s"] as! Double),
                         String(format: "%.2f", row["ms_per_step"] as! Double), String(format: "%.1f", row["gflops"] as! Double),
                         String(format: "%.1f", row["sgemm_gflops"] as! Double), String(format: "%.2f", row["ratio"] as! Double),
                         String(format: "%.2f", row["fraction_of_peak"] as! Double), String(format: "%.2f", row["fraction_of_peak_beside"] as! Double),
                         String(format: "%.0f", row["tokens_per_s_at_peak"] as! Double)]
            Console.output((cells + torchCells).map { $0.leftPadding(14) }.joined())
        }
        if torch.peer != nil {
            Console.output("turn by turn: [lowest–highest] of Loom's tokens/s over PyTorch's, each sample against the PyTorch steps of the same turn (after it, then before it)")
        }
        if arguments.flag("phases") { printPhases(rows) }
    }

    /// Per model, each phase's ms per step, share of the step, and the share of the workers'
    /// time in it spent waiting (`--phases`).
    static func printPhases(_ rows: [[String: Any]]) {
        for row in rows {
            guard let phases = row["phases_ms_per_step"] as? [String: Double],
                  let waiting = row["phases_waiting_share"] as? [String: Double] else { continue }
            let total = phases.values.reduce(0, +)
            Console.output("")
            Console.output("phases of a step, \(row["layers"] as! Int) layer(s), d = \(row["d"] as! Int), \(row["products"] as! String) products: "
                           + String(format: "%.2f ms per step", total))
            Console.output("phase".leftPadding(36) + "ms/step".leftPadding(13) + "of step".leftPadding(10) + "waiting".leftPadding(10))
            // Attention run block by block (`Transformer.blockedAttention`) marks its LayerNorm,
            // projections and output projection with it, as one phase.
            func ms(_ phase: StepPhases.Phase) -> Double { phases[phase.rawValue] ?? 0 }
            let blocked = ms(.attentionInput) == 0 && ms(.attentionOutput) == 0 && ms(.attention) > 0
            let blockedBackward = ms(.attentionInputBackward) == 0 && ms(.attentionOutputBackward) == 0 && ms(.attentionBackward) > 0
            for phase in StepPhases.Phase.allCases {
                if blocked && (phase == .attentionInput || phase == .attentionOutput) { continue }
                if blockedBackward && (phase == .attentionInputBackward || phase == .attentionOutputBackward) { continue }
                let name = blocked && phase == .attention ? "LayerNorm 1, q|k|v, attention, W_O"
                    : blockedBackward && phase == .attentionBackward ? "backward: attention, W_O, q|k|v, LN1" : phase.rawValue
                Console.output(name.leftPadding(36) + String(format: "%10.3f ms %7.1f %% %7.1f %%", ms(phase), total > 0 ? 100 * ms(phase) / total : 0,
                                                             100 * (waiting[phase.rawValue] ?? 0)))
            }
            // The step's waiting: each phase's share weighted by its time.
            let waited = StepPhases.Phase.allCases.map { ms($0) * (waiting[$0.rawValue] ?? 0) }.reduce(0, +)
            Console.output(String(format: "waiting: the workers' time in parallel loops not spent on their own pieces, and every worker's but the caller's outside them; %.1f %% of the step", total > 0 ? 100 * waited / total : 0))
        }
    }

    static func parseModels(_ text: String) throws(CommandError) -> [Case] {
        var cases: [Case] = []
        for word in text.split(separator: ",") {
            let parts = word.split(separator: "x")
            guard parts.count == 2, let layers = Int(parts[0]), let width = Int(parts[1]), layers >= 1, width >= 1 else {
                throw .usage("--models takes layers×width pairs like 1x64,3x256; got '\(word)'")
            }
            // The models' own bounds (ModelConfig), before a layer list is built from them.
            guard layers <= 64, width <= 1 << 16 else {
                throw .usage("--models: '\(word)' is past 64 layers or a width of 65536; these are small models")
            }
            cases.append(Case(layers: layers, width: width))
        }
        guard !cases.isEmpty else { throw .usage("--models is empty; e.g. --models 1x64") }
        return cases
    }

    /// Matrix-product FLOPs of one training step (3× the forward), as the help text defines them.
    static func flopsPerStep(_ model: ModelConfig, batch: Int) -> Double {
        let t = Double(model.context), d = Double(model.dModel), v = Double(model.vocabulary), hidden = Double(model.ffnHidden)
        var forward = 2 * t * d * v
        for layer in model.layers {
            if layer.attention != .none { forward += 2 * t * 4 * d * d + 2 * d * t * (t + 1) }
            switch layer.ffn {
            case .mlp: forward += 2 * t * 2 * d * hidden
            case .linear: forward += 2 * t * d * d
            case .none: break
            }
        }
        return 3 * forward * Double(batch)
    }

    /// OpenBLAS sgemm GFLOP/s at the FFN's shape, [rows, width] × [width, 4·width].
    static func sgemmRate(rows: Int, width: Int) -> Double {
        let n = 4 * width
        var a = [Float](repeating: 0.5, count: rows * width), b = [Float](repeating: 0.25, count: width * n)
        var c = [Float](repeating: 0, count: rows * n)
        var best = Double.infinity
        for _ in 0..<5 {
            let start = ContinuousClock.now
            a.withUnsafeMutableBufferPointer { a in
                b.withUnsafeMutableBufferPointer { b in
                    c.withUnsafeMutableBufferPointer { c in
                        BLAS.sgemm(.none, .none, m: rows, n: n, k: width, alpha: 1, a: a.baseAddress!, lda: width,
                                   b: b.baseAddress!, ldb: n, beta: 0, c: c.baseAddress!, ldc: n)
                    }
                }
            }
            best = min(best, (ContinuousClock.now - start).inSeconds)
        }
        // Loom's next steps, or PyTorch's, are not timed beside OpenBLAS's spinning threads.
        BLAS.releaseThreads()
        return 2 * Double(rows) * Double(width) * Double(n) / best / 1e9
    }
}
