import Foundation
import TensorCore
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
        let pinned = !arguments.flag("unpinned")
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

        var needs: [CalibrationNeed] = []
        for n in sizes {
            for p in workers {
                for kv in keyHeadsList {
                    for algorithm in algorithms where runs(algorithm, p, kv) {
                        let shape = blockShape(algorithm, workers: p, tokens: n, heads: heads, keyHeads: kv, ulyssesDegree: u)
                        needs.append(CalibrationNeed(tokens: shape.tokens, heads: shape.heads, keyHeads: shape.keyHeads, ranks: p, pinned: pinned))
                    }
                }
            }
        }
        // The transport and the copies now; each group's block rates just before it runs (below).
        var calibration = try calibrate(needs, heads: heads, dimension: dimension, quick: quick, json: json, rates: false)

        // Each group of cases (one P, N and K/V head count) runs right after its block shapes are
        // timed again: this VM's speed drifts by 10–15 % over a full run, and a rate taken
        // minutes earlier predicted the later cases too fast. The R runs of a case are spread
        // over R rounds of the whole set, not made back to back: a slow minute of the shared host
        // then spoils one run of several cases (the median drops it), not every run of a group
        // and its calibration with them.
        var order: [String] = []
        var samples: [String: [(item: SimValidateRecord.Case, rate: SimValidateRecord.Rate?)]] = [:]
        for round in 0..<repeats {
            if !json && repeats > 1 { Console.progress("sim validate: round \(round + 1) of \(repeats) …") }
            for keyHeads in keyHeadsList {
                for n in sizes {
                    for p in workers {
                        let group = algorithms.filter { runs($0, p, keyHeads) }.map { algorithm in
                            let shape = blockShape(algorithm, workers: p, tokens: n, heads: heads, keyHeads: keyHeads, ulyssesDegree: u)
                            return CalibrationNeed(tokens: shape.tokens, heads: shape.heads, keyHeads: shape.keyHeads, ranks: p, pinned: pinned)
                        }
                        let fresh = try measureRates(group, dimension: dimension, json: json)
                        var configuration = ShardedBenchmark.Configuration(algorithms: algorithms, workerCounts: [p], sizes: [n], causality: [false, true],
                                                                           links: links, heads: heads, keyHeads: keyHeads, headDimension: dimension)
                        configuration.ulyssesDegree = u
                        configuration.pinCores = pinned
                        configuration.excluded = { !runs($0.algorithm, $0.workers, keyHeads) }
                        for row in try ShardedBenchmark.run(configuration, progress: { if !json { Console.progress("sim validate: \($0)") } }) {
                            let s = row.setting
                            let rankSteps = (0..<s.workers).map { rank in
                                row.steps.filter { $0.rank == rank }.sorted { $0.step < $1.step }
                                    .map { SimValidateRecord.Step(start: $0.start, send: $0.send, compute: $0.compute, wait: $0.wait) }
                            }
                            let shape = blockShape(s.algorithm, workers: s.workers, tokens: s.tokens, heads: heads, keyHeads: keyHeads, ulyssesDegree: u)
                            let item = SimValidateRecord.Case(
                                algorithm: s.algorithm, workers: s.workers, tokens: s.tokens, isCausal: s.isCausal, keyHeads: keyHeads,
                                linkGbps: s.linkGbps, ulyssesDegree: s.algorithm == .usp ? u : nil, wallSeconds: row.wallSeconds,
                                rankZeroSteps: row.rankZeroSteps, rankSteps: rankSteps, pinned: pinned,
                                rate: nil)
                            let key = "\(s.algorithm.rawValue) \(s.workers) \(s.tokens) \(s.isCausal) \(keyHeads) \(s.linkGbps ?? 0)"
                            if samples[key] == nil { order.append(key) }
                            samples[key, default: []].append((item, fresh.first { $0.tokens == shape.tokens && $0.heads == shape.heads && $0.keyHeads == shape.keyHeads }))
                        }
                    }
                }
            }
        }
        // Each case: its run of median wall time, predicted from the median of its rounds' rates.
        let cases: [SimValidateRecord.Case] = order.map { key in
            let runs = samples[key]!
            var kept = runs.sorted { $0.item.wallSeconds < $1.item.wallSeconds }[runs.count / 2].item
            kept.rate = medianRate(runs.compactMap(\.rate))
            return kept
        }
        // The calibration's own table: each shape's latest rates, for files read by older code paths.
        for rate in cases.compactMap(\.rate) where calibration.rate(tokens: rate.tokens, heads: rate.heads, keyHeads: rate.keyHeads) == nil {
            calibration.rates.append(rate)
        }
        return SimValidateRecord(calibration: calibration, cases: cases)
    }

    /// The median of each field of `rates` (one block shape's rates from several rounds), or nil
    /// for none.
    static func medianRate(_ rates: [SimValidateRecord.Rate]) -> SimValidateRecord.Rate? {
        guard var median = rates.first else { return nil }
        func middle(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        }
        median.full = middle(rates.map(\.full))
        median.causal = middle(rates.map(\.causal))
        for ranks in median.sharing.keys { median.sharing[ranks] = middle(rates.compactMap { $0.sharing[ranks] }) }
        let merges = rates.compactMap(\.merge)
        median.merge = merges.isEmpty ? nil : middle(merges)
        return median
    }

    /// A block shape to calibrate, and the ranks that run it at once.
    struct CalibrationNeed: Equatable {
        var tokens: Int, heads: Int, keyHeads: Int, ranks: Int
        /// The ranks run pinned, rank r on core r mod C (`pin_cores`).
        var pinned: Bool
    }

    /// What the cases of `record` need calibrated.
    static func needs(of record: SimValidateRecord) -> [CalibrationNeed] {
        let c = record.calibration
        return record.cases.map { item in
            let shape = blockShape(item.algorithm, workers: item.workers, tokens: item.tokens, heads: c.heads, keyHeads: item.keyHeads,
                                   ulyssesDegree: item.ulyssesDegree)
            return CalibrationNeed(tokens: shape.tokens, heads: shape.heads, keyHeads: shape.keyHeads, ranks: item.workers, pinned: item.pinned)
        }
    }

    /// Measures this machine for `needs`, from microbenchmarks only: one thread's rate for each
    /// block shape, full and causal; where more ranks than cores run a shape, the fraction of a
    /// fair share they get at once; and the local transport's α and β.
    /// Without `rates`, the block rates are left to the caller (empty).
    static func calibrate(_ needs: [CalibrationNeed], heads: Int, dimension: Int, quick: Bool,
                          json: Bool, rates measuresRates: Bool = true) throws(CommandError) -> SimValidateRecord.Calibration {
        let rates = measuresRates ? try measureRates(needs, dimension: dimension, json: json) : []
        let cores = Parallel.activeCores
        // What a transfer costs the cores at each end: a K/V block of the largest chunk.
        let largest = needs.map { $0.tokens * $0.keyHeads * dimension * 4 }.max() ?? (1 << 20)
        if !json { Console.progress("sim validate: calibrating the copies of a \(largest >> 10) KiB transfer …") }
        let copy = try SimCalibrateCommand.hostCopyRate(bytes: largest)
        if !json { Console.progress("sim validate: calibrating the transport …") }
        let (microseconds, bandwidth, _) = try SimCalibrateCommand.transport(quick: quick) { _ in }
        return SimValidateRecord.Calibration(
            host: Provenance.host, cpuModel: Provenance.cpuModel, commit: Provenance.commit, build: Provenance.build,
            date: ISO8601DateFormatter().string(from: Date()), cores: cores,
            latency: microseconds * 1e-6, bandwidthGBps: bandwidth, heads: heads, headDimension: dimension, rates: rates, copyGBps: copy / 1e9)
    }

    /// One thread's rate for each block shape of `needs`, full and causal, and where more ranks
    /// than cores run it, the fraction of a fair share they get at once.
    static func measureRates(_ needs: [CalibrationNeed], dimension: Int, json: Bool) throws(CommandError) -> [SimValidateRecord.Rate] {
        var rates: [SimValidateRecord.Rate] = []
        for need in needs where !rates.contains(where: { $0.tokens == need.tokens && $0.heads == need.heads && $0.keyHeads == need.keyHeads }) {
            if !json { Console.progress("sim validate: calibrating attention \(need.tokens) × \(need.tokens), H = \(need.heads), Hkv = \(need.keyHeads), full and causal …") }
            let full = try SimCalibrateCommand.attentionRates(chunk: need.tokens, heads: need.heads, keyHeads: need.keyHeads,
                                                              dimension: dimension, samples: 3, backward: false, budget: 0.5).0
            let causal = try SimCalibrateCommand.attentionRates(chunk: need.tokens, heads: need.heads, keyHeads: need.keyHeads,
                                                                dimension: dimension, samples: 3, causal: true, backward: false, budget: 0.5).0
            let merge = try SimCalibrateCommand.mergeRate(tokens: need.tokens, heads: need.heads, dimension: dimension)
            rates.append(.init(tokens: need.tokens, heads: need.heads, keyHeads: need.keyHeads, full: full, causal: causal, merge: merge))
        }
        // More ranks than cores: how much of the cores' fair share P blocks of each shape get at
        // once (time-slicing costs caches and switches).
        let cores = Parallel.activeCores
        for need in needs where need.ranks > cores {
            guard let index = rates.firstIndex(where: { $0.tokens == need.tokens && $0.heads == need.heads && $0.keyHeads == need.keyHeads }),
                  rates[index].sharing[need.ranks] == nil else { continue }
            if !json { Console.progress("sim validate: \(need.ranks) blocks of \(need.tokens) × \(need.tokens), H = \(need.heads) at once on \(cores) cores …") }
            rates[index].sharing[need.ranks] = try SimCalibrateCommand.sharingEfficiency(ranks: need.ranks, cores: cores, chunk: need.tokens,
                                                                                         heads: need.heads, keyHeads: need.keyHeads, dimension: dimension,
                                                                                         pinned: need.pinned)
        }
        return rates
    }
}
