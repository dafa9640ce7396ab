import Foundation
import Mechanisms
import Models
import Reports
import Tasks

/// The mechanism graphs of a trained model, drawn with Graphviz as artifacts of a train.bb run:
/// a circuit graph labelled with the final measurements, one token-attention graph per head on
/// the start of an evaluation sequence (and its heatmap, drawn with gnuplot), and a head ×
/// token-class graph of active and dormant.
enum TrainGraphs {
    /// Tokens of the sequence the token-attention graphs show.
    static let shownTokens = 20
    /// Tokens the attention heatmaps show.
    static let heatmapTokens = 40

    /// Writes `circuit`, `heads-by-token` and `tokens-L<ℓ>H<h>` (.dot, .svg, .pdf) into a fresh
    /// directory. - Returns: the files, for the run's artifacts.
    static func write(_ model: Transformer, session: TrainingSession, measurements: [String: Double],
                      active: [String: Set<Int>], effects: [InterventionStudy.Effect]) throws -> [String] {
        try TaskScratch.filling("train-graphs") { directory in
            try write(model, session: session, measurements: measurements, active: active, effects: effects, into: directory)
        }
    }

    private static func write(_ model: Transformer, session: TrainingSession, measurements: [String: Double],
                              active: [String: Set<Int>], effects: [InterventionStudy.Effect], into directory: URL) throws -> [String] {
        let config = model.config, task = session.task, vocabulary = task.statistics.vocabulary
        var files: [String] = []
        func keep(_ names: [String]) { files += names.map { directory.appendingPathComponent($0).path } }

        // The circuit: embed → each layer's heads → its FFN → … → output.
        var components = [MechanismGraphs.Component(id: "embed", title: "embed", metrics: [])]
        var links: [(String, String, String)] = []
        var previous = ["embed"]
        let effect = Dictionary(uniqueKeysWithValues: effects.map { ($0.name, $0) })
        for layer in 0..<config.depth {
            var heads: [String] = []
            if config.layers[layer].attention != .none {
                for h in 0..<config.heads {
                    let id = "L\(layer).H\(h)"
                    let probes = [ActiveDormantProbe.attentionSink, ActiveDormantProbe.attentionPrevious, ActiveDormantProbe.valueDrain]
                    var metrics: [(String, Double)] = probes.compactMap { spec in
                        measurements[spec.instance(layer, h)].map { (spec.leaf, $0) }
                    }
                    if let zeroed = effect["zero_L\(layer)H\(h)"] { metrics.append(("Δ backcopy if zeroed", zeroed.deltaBackcopy)) }
                    components.append(.init(id: id, title: "\(id) (\(config.layers[layer].attention.rawValue))", metrics: metrics))
                    heads.append(id)
                }
            }
            for from in previous { for to in heads { links.append((from, to, "")) } }
            let entry = heads.isEmpty ? previous : heads
            if config.layers[layer].ffn != .none {
                let id = "L\(layer).FFN"
                var metrics: [(String, Double)] = []
                if let removed = effect["remove_ffn_L\(layer)"] { metrics.append(("Δ bigram if removed", removed.deltaBigram)) }
                if let norm = measurements[ActiveDormantProbe.bosResidualNorm.instance(layer)] { metrics.append(("BOS residual", norm)) }
                components.append(.init(id: id, title: id, metrics: metrics))
                for from in entry { links.append((from, id, "")) }
                previous = [id]
            } else {
                previous = entry
            }
        }
        components.append(.init(id: "output", title: "output", metrics: [("backcopy risk", measurements[TrainingMetric.backcopyRisk.name] ?? .nan),
                                                                           ("excess bigram risk", measurements[TrainingMetric.excessBigramRisk.name] ?? .nan)]))
        for from in previous { links.append((from, "output", "")) }
        keep(try GraphRenderer.write(dot: MechanismGraphs.circuit(components, links: links, title: "circuit at step \(session.trainer.step)"),
                                     name: "circuit", into: directory))

        // Heads × token classes: each trigger, and the most frequent other tokens.
        let others = task.statistics.mostFrequent(task.triggers.count + 5).filter { !task.isTrigger[$0] }.prefix(5)
        let classes = (task.triggers + others).map { vocabulary[$0] }
        let heads = active.keys.sorted()
        let activePairs = Set(heads.flatMap { head in (task.triggers + others).filter { active[head]!.contains($0) }.map { [head, vocabulary[$0]] } })
        keep(try GraphRenderer.write(dot: MechanismGraphs.headTokenClasses(heads: heads, classes: classes, active: activePairs,
                                                                          title: "active (green) and dormant (grey) heads"),
                                     name: "heads-by-token", into: directory))

        // Token attention on the start of one evaluation sequence.
        let t = config.context
        let sequence = task.trainingBatch(size: 1, length: t, seed: session.config.dataSeed &+ 0x9E37_79B9, step: -1)
        let saved = model.hooks
        defer { model.hooks = saved }
        var hooks = ModelHooks()
        hooks.captureWeights = true
        model.hooks = hooks
        _ = try model.forward(tokens: sequence.inputs, targets: sequence.targets, batch: 1, positionLosses: nil)
        let n = min(shownTokens, t)
        let tokens = sequence.inputs.prefix(n).map { vocabulary[Int($0)] }
        let triggers = Set((0..<n).filter { sequence.classes[$0] == 1 })
        for layer in 0..<config.depth {
            guard let weights = model.hooks.captured[layer]?.weights else { continue }
            for h in 0..<config.heads {
                var square = [Float](repeating: 0, count: n * n)
                for i in 0..<n { for j in 0..<n { square[i * n + j] = weights.storage[(h * t + i) * t + j] } }
                keep(try GraphRenderer.write(dot: MechanismGraphs.tokenAttention(tokens: tokens, weights: square, triggers: triggers,
                                                                                 title: "L\(layer).H\(h): where each query attends (first \(n) tokens)"),
                                             name: "tokens-L\(layer)H\(h)", into: directory))
                // The same weights as a heatmap over a longer stretch of the sequence.
                let m = min(heatmapTokens, t)
                var map = [Float](repeating: 0, count: m * m)
                for i in 0..<m { for j in 0..<m { map[i * m + j] = weights.storage[(h * t + i) * t + j] } }
                let labels = sequence.inputs.prefix(m).map { vocabulary[Int($0)] }
                keep(try Heatmap.write(map, labels: labels, name: "attention-L\(layer)H\(h)",
                                       title: "L\(layer).H\(h) attention on the first \(m) tokens", into: directory)
                    .map { URL(fileURLWithPath: $0).lastPathComponent })
            }
        }
        return files
    }
}
