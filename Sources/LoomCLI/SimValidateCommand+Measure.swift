import Foundation
import SequenceParallel

extension SimValidateCommand {
    /// Calibrates this machine and runs every case on local workers: what a prediction needs.
    static func measure(_ arguments: Arguments, json: Bool) throws(CommandError) -> SimValidateRecord {
        let quick = arguments.flag("quick")
        let workers = try arguments.intList("workers") ?? (quick ? [2, 4] : [2, 3, 4])
        let sizes = try arguments.intList("sizes") ?? (quick ? [8192] : [4096, 8192])
        let keyHeadsList = try arguments.intList("kv-heads") ?? (quick ? [8] : [8, 2])
        var links: [Double?] = quick ? [nil] : [nil, 1]
        if let text = arguments.string("links") {
            links = []
            for part in text.split(separator: ",") {
                guard let value = Double(part), value >= 0, value.isFinite else { throw .usage("--links expects GB/s values ≥ 0 such as 0,1; got '\(part)'") }
                links.append(value == 0 ? nil : value)
            }
        }
        if let bad = workers.first(where: { $0 < 2 || $0 > 8 }) { throw .usage("--workers \(bad): validate runs 2…8 local workers") }
        if let bad = sizes.first(where: { $0 < 64 || $0 > 65_536 }) { throw .usage("--sizes \(bad): use 64…65536 tokens") }
        if let bad = keyHeadsList.first(where: { $0 < 1 || 8 % $0 != 0 }) { throw .usage("--kv-heads \(bad) must divide the 8 heads") }
        let repeats = try arguments.int("repeat", minimum: 1) ?? (quick ? 1 : 3)
        guard repeats <= 101 else { throw .usage("--repeat \(repeats): at most 101 runs per case") }
        let degree = try arguments.int("ulysses-degree", minimum: 0) ?? 2
        guard degree <= 8 else { throw .usage("--ulysses-degree \(degree): a group is at most the 8 workers") }
        let u: Int? = degree == 0 ? nil : degree
        let heads = 8, dimension = 64
        let algorithms = SequenceParallelKinds.Algorithm.allCases
        // The executor's rules: ulysses splits the heads over the ranks, usp over a group's u ranks.
        func runs(_ algorithm: SequenceParallelKinds.Algorithm, _ p: Int, _ kv: Int) -> Bool {
            switch algorithm {
            case .ulysses: heads % p == 0 && kv % p == 0
            case .usp: u.map { p % $0 == 0 && heads % $0 == 0 && kv % $0 == 0 } ?? false
            default: true
            }
        }

        // Calibration: one rate per block shape (tokens, heads, K/V heads), then the transport.
        var rates: [SimValidateRecord.Rate] = []
        for n in sizes {
            for p in workers {
                for kv in keyHeadsList {
                    for algorithm in algorithms where runs(algorithm, p, kv) {
                        let shape = blockShape(algorithm, workers: p, tokens: n, heads: heads, keyHeads: kv, ulyssesDegree: u)
                        guard !rates.contains(where: { $0.tokens == shape.tokens && $0.heads == shape.heads && $0.keyHeads == shape.keyHeads }) else { continue }
                        if !json { Console.progress("sim validate: calibrating attention \(shape.tokens) × \(shape.tokens), H = \(shape.heads), Hkv = \(shape.keyHeads), full and causal …") }
                        let full = try SimCalibrateCommand.attentionRates(chunk: shape.tokens, heads: shape.heads, keyHeads: shape.keyHeads,
                                                                          dimension: dimension, samples: 3).0
                        let causal = try SimCalibrateCommand.attentionRates(chunk: shape.tokens, heads: shape.heads, keyHeads: shape.keyHeads,
                                                                            dimension: dimension, samples: 3, causal: true).0
                        rates.append(.init(tokens: shape.tokens, heads: shape.heads, keyHeads: shape.keyHeads, full: full, causal: causal))
                    }
                }
            }
        }
        // More ranks than cores: how much of the cores' fair share P blocks of each shape get at
        // once (time-slicing costs caches and switches).
        let cores = ProcessInfo.processInfo.activeProcessorCount
        for n in sizes {
            for p in workers where p > cores {
                for kv in keyHeadsList {
                    for algorithm in algorithms where runs(algorithm, p, kv) {
                        let shape = blockShape(algorithm, workers: p, tokens: n, heads: heads, keyHeads: kv, ulyssesDegree: u)
                        guard let index = rates.firstIndex(where: { $0.tokens == shape.tokens && $0.heads == shape.heads && $0.keyHeads == shape.keyHeads }),
                              rates[index].sharing[p] == nil else { continue }
                        if !json { Console.progress("sim validate: \(p) blocks of \(shape.tokens) × \(shape.tokens), H = \(shape.heads) at once on \(cores) cores …") }
                        rates[index].sharing[p] = try SimCalibrateCommand.sharingEfficiency(ranks: p, cores: cores, chunk: shape.tokens, heads: shape.heads,
                                                                                            keyHeads: shape.keyHeads, dimension: dimension)
                    }
                }
            }
        }
        if !json { Console.progress("sim validate: calibrating the transport …") }
        let (microseconds, bandwidth, _) = try SimCalibrateCommand.transport(quick: quick) { _ in }
        let calibration = SimValidateRecord.Calibration(
            host: Provenance.host, cpuModel: Provenance.cpuModel, commit: Provenance.commit, build: Provenance.build,
            date: ISO8601DateFormatter().string(from: Date()), cores: cores,
            latency: microseconds * 1e-6, bandwidthGBps: bandwidth, heads: heads, headDimension: dimension, rates: rates)

        var cases: [SimValidateRecord.Case] = []
        for keyHeads in keyHeadsList {
            var configuration = ShardedBenchmark.Configuration(algorithms: algorithms, workerCounts: workers, sizes: sizes, causality: [false, true],
                                                               links: links, heads: heads, keyHeads: keyHeads, headDimension: dimension)
            configuration.ulyssesDegree = u
            configuration.repeats = repeats
            configuration.excluded = { !runs($0.algorithm, $0.workers, keyHeads) }
            for row in try ShardedBenchmark.run(configuration, progress: { if !json { Console.progress("sim validate: \($0)") } }) {
                let s = row.setting
                let rankSteps = (0..<s.workers).map { rank in
                    row.steps.filter { $0.rank == rank }.sorted { $0.step < $1.step }
                        .map { SimValidateRecord.Step(start: $0.start, send: $0.send, compute: $0.compute, wait: $0.wait) }
                }
                cases.append(.init(algorithm: s.algorithm, workers: s.workers, tokens: s.tokens, isCausal: s.isCausal, keyHeads: keyHeads,
                                   linkGbps: s.linkGbps, ulyssesDegree: s.algorithm == .usp ? u : nil, wallSeconds: row.wallSeconds,
                                   rankZeroSteps: row.rankZeroSteps, rankSteps: rankSteps))
            }
        }
        return SimValidateRecord(calibration: calibration, cases: cases)
    }
}
