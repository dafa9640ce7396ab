import Foundation
import Models
import TensorCore

/// `loom bench fusions`: what each fused pass of a training step gains, measured by interleaving
/// steps in one process (all fused, then each fusion off in turn, round after round), so a slow
/// or fast stretch of the machine falls on every configuration alike.
enum BenchFusionsCommand: Command {
    static let words = ["bench", "fusions"]
    static let summary = "time training steps with each fused pass switched off in turn, interleaved, against all fused"
    static let usage = "loom bench fusions [--models 1x64,3x64,1x256] [--activation relu|gelu] [--context T] [--batch B] [--rounds R] [--ffn-blocks ROWS,…] [--phases] [--json]"
    static let options: [Option] = [
        .value("models", "LxD,…", "layers × width of each model (default 1x64,3x64,1x256; heads: 1)"),
        .value("activation", "relu|gelu", "the FFN's nonlinearity (default relu)"),
        .value("context", "T", "tokens per sequence (default 64)"),
        .value("batch", "B", "sequences per step (default 64)"),
        .value("rounds", "R", "rounds; each runs one step per configuration (default 200, at most 100000)"),
        .value("ffn-blocks", "ROWS,…", "instead of the fusions, time the FFN's blocks of each number of rows against the default size (at most 8 sizes, each ≤ 65536)"),
        .flag("phases", "also time each phase of every step, and give each configuration's difference phase by phase"),
        .flag("json", "one JSON object with a results array (release builds only)"),
    ]
    static let discussion = """
        Each round runs one training step (a fresh Bigram-Backcopy batch, forward, backward, \
        clipping, AdamW) per configuration: all fused, each fusion switched off alone, and all \
        fused again as a control whose difference from the first is the noise floor. Every \
        configuration gives the same bits, so the model trains as usual throughout. The table \
        gives the mean ms per step of each (of its fastest 95 % of steps) and how much slower \
        than all fused it is. Fusions \
        that do not apply are left out and named: the attention's (forward and backward, or the \
        backward alone) only where the fused kernels take the shape (head width a multiple of 16, \
        T ≤ 256), the ReLU mask only with ReLU.

        With --ffn-blocks, the configurations are instead the FFN's default block of rows (the \
        rows whose hidden activations stay in L2 between its two products), each size given, and \
        the default again as the control, each row then compared with the default: for tuning the \
        block on a new machine, where two runs one after the other compare the machine's drift \
        (JSON: ffn_rows, and slower_than_fused against the default). Every size gives the same bits; a size \
        that leaves a worker without a whole block runs the FFN unblocked.

        With --phases, a clock is also read between the passes of every step (as `loom bench \
        train --phases` does), and a second table gives, phase by phase, the first \
        configuration's ms per step and each other's difference from it in ms, over the same \
        fastest 95 % of steps: the differences add up to the step's, so they show where a change \
        gains or loses (JSON: phases_ms_per_step).
        """

    static func run(_ arguments: Arguments) throws(CommandError) {
        if arguments.flag("json") && !Provenance.isRelease {
            throw .usage("--json needs a release build: build with 'swift build -c release' and use .build/release/loom")
        }
        let cases = try BenchTrainCommand.parseModels(arguments.string("models") ?? "1x64,3x64,1x256")
        let context = try arguments.int("context", minimum: 1, maximum: 1 << 24) ?? 64
        let batch = try arguments.int("batch", minimum: 1, maximum: 1 << 24) ?? 64
        guard batch * context <= 1 << 24 else {
            throw .usage("--batch \(batch) × --context \(context) is more than the 2^24 rows a model takes; lower either")
        }
        let rounds = try arguments.int("rounds", minimum: 1) ?? 200
        let blockSizes = try arguments.intList("ffn-blocks")
        let timesPhases = arguments.flag("phases")
        if let blockSizes {
            guard blockSizes.count <= 8 else { throw .usage("--ffn-blocks takes at most 8 sizes; got \(blockSizes.count)") }
            if let large = blockSizes.first(where: { $0 > 65_536 }) {
                throw .usage("--ffn-blocks takes sizes of at most 65536 rows; got \(large)")
            }
        }
        guard rounds <= 100_000 else { throw .usage("--rounds takes at most 100000; got \(rounds)") }
        let activation: ModelConfig.Activation
        switch arguments.string("activation") ?? "relu" {
        case "relu": activation = .relu
        case "gelu": activation = .gelu
        case let other: throw .usage("--activation takes relu or gelu; got '\(other)'")
        }
        let task: BigramBackcopyTask
        do { task = BigramBackcopyTask(statistics: try BigramBackcopyStatistics.load()) } catch { throw .failure("\(error)") }
        var rows: [[String: Any]] = [], skipped: [String] = []
        for item in cases {
            var model = ModelConfig(vocabulary: task.vocabulary, context: context, layers: item.layers, dModel: item.width, heads: 1)
            model.activation = activation
            var fusions = TrainingFusion.allCases
            if !(FusedKernels.available && FusedKernels.fitsCausalAttention(context: context, headDimension: item.width)) {
                fusions.removeAll { $0 == .attention || $0 == .attentionBackward }
                skipped.append("\(item.layers)x\(item.width): attention, attention-backward (a shape the fused kernels do not take)")
            }
            if activation != .relu { fusions.removeAll { $0 == .reluMask } }
            let configurations = Self.configurations(fusions: fusions, blockSizes: blockSizes,
                                                     defaultBlock: Transformer.defaultFFNRowBlock(ffnHidden: model.ffnHidden))
            let config = TrainingConfig(model: model, optimizer: .adamw(beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 1e-4),
                                        schedule: .constant(3e-4), steps: .max, batch: batch, evaluationBatch: 1)
            var seconds = Array(repeating: [Double](), count: configurations.count)
            // With --phases: each step's seconds per phase, in `StepPhases.Phase.allCases` order.
            var phaseSeconds = Array(repeating: [[Double]](), count: configurations.count)
            do {
                let transformer = try Transformer(config: model, seed: 1, maxBatch: batch, threads: 0)
                let trainer = try Trainer(config: config, model: transformer, task: task)
                let phases = timesPhases ? StepPhases(workers: transformer.threads) : nil
                trainer.phases = phases
                for configuration in configurations {                      // warm-up: first touches, packing
                    transformer.unfused = configuration.unfused
                    transformer.ffnRowBlockOverride = configuration.ffnRows
                    try trainer.trainStep()
                }
                for round in 0..<rounds {
                    for (index, configuration) in configurations.enumerated() {
                        transformer.unfused = configuration.unfused
                        transformer.ffnRowBlockOverride = configuration.ffnRows
                        let before = phases?.seconds, start = ContinuousClock.now
                        try trainer.trainStep()
                        seconds[index].append((ContinuousClock.now - start).inSeconds)
                        if let phases, let before { phaseSeconds[index].append(zip(phases.seconds, before).map { $0 - $1 }) }
                    }
                    if !arguments.flag("json") && (round + 1) % max(1, rounds / 4) == 0 {
                        Console.progress("bench fusions: \(item.layers)x\(item.width) round \(round + 1) of \(rounds)")
                    }
                }
            } catch { throw .failure("\(error)") }
            // The mean of the fastest 95 %: this VM switches between a fast and a slow phase, and
            // a median then jumps between the two with the mix, while the mean follows it smoothly
            // (the slowest 5 % are interrupts and page faults).
            let kept = seconds.map { Self.fastest(95, of: $0) }
            let means = zip(seconds, kept).map { samples, kept in kept.reduce(0) { $0 + samples[$1] } / Double(kept.count) }
            for (index, configuration) in configurations.enumerated() {
                var row: [String: Any] = ["layers": item.layers, "d": item.width, "configuration": configuration.name,
                                          "ms_per_step": means[index] * 1000, "slower_than_fused": means[index] / means[0] - 1]
                if blockSizes != nil { row["ffn_rows"] = configuration.ffnRows ?? Transformer.defaultFFNRowBlock(ffnHidden: model.ffnHidden) }
                if timesPhases {
                    var perPhase: [String: Double] = [:]
                    for (p, phase) in StepPhases.Phase.allCases.enumerated() {
                        perPhase[phase.rawValue] = kept[index].reduce(0) { $0 + phaseSeconds[index][$1][p] } / Double(kept[index].count) * 1000
                    }
                    row["phases_ms_per_step"] = perPhase
                }
                rows.append(row)
            }
        }
        if arguments.flag("json") {
            let object: [String: Any] = ["benchmark": "fusions", "cpu": Provenance.cpuModel, "commit": Provenance.commit, "simd": SIMDTarget.name,
                                         "threads": BLAS.threadCount, "activation": activation == .relu ? "relu" : "gelu",
                                         "context": context, "batch": batch, "rounds": rounds, "results": rows, "not_applicable": skipped]
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            Console.output(String(decoding: data, as: UTF8.self))
            return
        }
        Console.output("loom \(Provenance.loomVersion) (commit \(Provenance.commit), \(Provenance.build) build), \(Provenance.cpuModel), \(BLAS.threadCount) threads, SIMD \(SIMDTarget.name)")
        if !Provenance.isRelease { Console.output("warning: debug build — these timings are not meaningful") }
        Console.output("Bigram-Backcopy, context \(context), batch \(batch), \(activation == .relu ? "ReLU" : "GELU") FFN, AdamW; "
                       + "\(rounds) rounds of one step per configuration, interleaved; mean ms per step of the fastest 95 %")
        for note in skipped { Console.output("not applicable: \(note)") }
        let widths = [7, 6, 24, 10, 13]
        func line(_ cells: [String]) -> String { zip(cells, widths).map { $0.leftPadding($1) }.joined(separator: "  ") }
        Console.output(line(["layers", "d", "configuration", "ms/step", blockSizes == nil ? "vs all fused" : "vs default"]))
        for row in rows {
            let slower = row["slower_than_fused"] as! Double
            let cells = [String(row["layers"] as! Int), String(row["d"] as! Int), row["configuration"] as! String,
                         String(format: "%.3f", row["ms_per_step"] as! Double),
                         Self.isBaseline(row["configuration"] as! String) ? "—" : String(format: "%+.1f %%", 100 * slower)]
            Console.output(line(cells))
        }
        if timesPhases { printPhases(rows) }
    }

    /// The indices of the fastest `percent` % of `samples` (at least one), in the order taken.
    static func fastest(_ percent: Int, of samples: [Double]) -> [Int] {
        let count = max(1, samples.count * percent / 100)
        return samples.indices.sorted { samples[$0] < samples[$1] }.prefix(count).sorted()
    }

    /// `--phases`: per model, each phase's ms per step in the first configuration and every other
    /// configuration's difference from it, columns numbered with a legend (names are long).
    static func printPhases(_ rows: [[String: Any]]) {
        let models = rows.reduce(into: [String]()) { models, row in
            let name = "\(row["layers"] as! Int)x\(row["d"] as! Int)"
            if models.last != name { models.append(name) }
        }
        for model in models {
            let group = rows.filter { "\($0["layers"] as! Int)x\($0["d"] as! Int)" == model }
            guard let base = group.first?["phases_ms_per_step"] as? [String: Double] else { continue }
            let others = group.dropFirst().compactMap { $0["phases_ms_per_step"] as? [String: Double] }
            Console.output("")
            Console.output("phases of a step, \(model): ms per step in [1], and each other configuration's difference from it in ms")
            let header = ["phase".leftPadding(36), "[1]".leftPadding(8)] + others.indices.map { "[\($0 + 2)]".leftPadding(8) }
            Console.output(header.joined(separator: " "))
            for phase in StepPhases.Phase.allCases {
                let value = base[phase.rawValue] ?? 0
                // Phases a model never enters (a fused pass's parts) stay out of the table.
                guard value > 0 || others.contains(where: { ($0[phase.rawValue] ?? 0) > 0 }) else { continue }
                let cells = [phase.rawValue.leftPadding(36), String(format: "%.3f", value).leftPadding(8)]
                    + others.map { String(format: "%+.3f", ($0[phase.rawValue] ?? 0) - value).leftPadding(8) }
                Console.output(cells.joined(separator: " "))
            }
            let legend = group.enumerated().map { "[\($0.offset + 1)] \($0.element["configuration"] as! String)" }
            Console.output(legend.joined(separator: ", "))
        }
    }

    /// Whether a configuration is the one the others are compared with.
    static func isBaseline(_ name: String) -> Bool { name == "all fused" || name.hasSuffix("(default)") }

    /// One way of running a step: fusions switched off, and the FFN's rows per block (nil: the default).
    struct Configuration: Equatable {
        let name: String
        var unfused: Set<TrainingFusion> = []
        var ffnRows: Int? = nil
    }

    /// All fused, one per fusion switched off, all fused again as the control; or with
    /// `blockSizes`, the default block (`defaultBlock` rows), each size, the default again.
    static func configurations(fusions: [TrainingFusion], blockSizes: [Int]?, defaultBlock: Int) -> [Configuration] {
        if let blockSizes {
            return [Configuration(name: "ffn rows \(defaultBlock) (default)")]
                + blockSizes.map { Configuration(name: "ffn rows \($0)", ffnRows: $0) }
                + [Configuration(name: "ffn rows \(defaultBlock) (control)")]
        }
        return [Configuration(name: "all fused")] + fusions.map { Configuration(name: "\($0.rawValue) off", unfused: [$0]) }
            + [Configuration(name: "all fused (control)")]
    }
}
