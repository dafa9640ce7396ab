import Foundation
import Simulator

extension SimValidateCommand {
    /// Predicts every case of `record` with the current model.
    /// - Parameter file: where the record was read from (its problems are then bad input), or nil
    ///   for measurements of this run.
    static func predict(_ record: SimValidateRecord, from file: String?) throws(CommandError) -> [Row] {
        let c = record.calibration
        var rows: [Row] = []
        for (index, item) in record.cases.enumerated() {
            let place = file.map { "\($0): cases[\(index)]" } ?? "sim validate: \(item.algorithm.rawValue) P = \(item.workers) n = \(item.tokens)"
            let shape = blockShape(item.algorithm, workers: item.workers, tokens: item.tokens, heads: c.heads, keyHeads: item.keyHeads,
                                   ulyssesDegree: item.ulyssesDegree)
            guard let rate = item.rate ?? c.rate(tokens: shape.tokens, heads: shape.heads, keyHeads: shape.keyHeads) else {
                let text = "\(place): no calibrated rate for its block, \(shape.tokens) tokens, H = \(shape.heads), Hkv = \(shape.keyHeads)"
                throw file == nil ? .failure(text) : .usage(text)
            }
            let problem = ScheduleReplay.Problem(tokens: item.tokens, ranks: item.workers, causal: item.isCausal, heads: c.heads,
                                                 keyHeads: item.keyHeads, headDimension: c.headDimension, ulyssesDegree: item.ulyssesDegree ?? 1)
            do {
                let network = try Topology.network(.mesh, ranks: item.workers,
                                                   link: .init(bandwidth: (item.linkGbps ?? c.bandwidthGBps) * 1e9, latency: c.latency))
                let predicted = try ScheduleReplay(algorithm: item.algorithm, problem: problem, computeRate: rate.full, network: network,
                                                   cores: c.cores, diagonalRate: rate.causal,
                                                   mergeRate: rate.merge, coreEfficiency: rate.sharing[item.workers] ?? 1,
                                                   hostCopyRate: c.copyGBps.map { $0 * 1e9 },
                                                   pinned: item.pinned).run()
                let steps = zip(predicted.stepStarts[0], predicted.stepEnds[0]).map { $1 - $0 }
                rows.append(Row(setting: item.setting, keyHeads: item.keyHeads, ulyssesDegree: item.ulyssesDegree, measured: item.wallSeconds,
                                predicted: predicted.total, measuredSteps: item.rankZeroSteps, predictedSteps: steps))
            } catch {
                throw file == nil ? .failure("\(place): \(error)") : .usage("\(place): \(error)")
            }
        }
        return rows
    }

    /// Predicts `record` and prints the table, the summary, the JSON or the report: the same for
    /// measurements of this run (`file` nil) and for those a `--save` wrote.
    static func present(_ record: SimValidateRecord, from file: String?, json: Bool, report: URL?) throws(CommandError) {
        let rows = try predict(record, from: file), c = record.calibration
        let errors = rows.map { abs($0.error) }
        let mean = errors.reduce(0, +) / Double(max(1, errors.count)), worst = errors.max() ?? 0
        let stepErrors = rows.compactMap(\.stepError)
        let stepMean = stepErrors.reduce(0, +) / Double(max(1, stepErrors.count))
        if let report {
            try writeReport(rows, calibration: [
                ("measurements", file ?? "this run"), ("host", c.host), ("CPU", c.cpuModel), ("measured at commit", c.commit),
                ("measured", c.date), ("predicted at commit", Provenance.commit), ("cores", String(c.cores)),
                ("α (µs)", String(format: "%.1f", c.latency * 1e6)), ("β (GB/s)", String(format: "%.2f", c.bandwidthGBps)),
                ("runs", String(rows.count)), ("mean |error|", String(format: "%.1f %%", 100 * mean)),
                ("largest |error|", String(format: "%.1f %%", 100 * worst)),
            ], to: report)
        }
        if json {
            Console.output(JSONValue.object([
                ("benchmark", .string("sim-validate")), ("commit", .string(Provenance.commit)),
                ("measured_from", file.map { .string($0) } ?? .null), ("measured_commit", .string(c.commit)), ("measured_date", .string(c.date)),
                ("host", .string(c.host)), ("cpu", .string(c.cpuModel)),
                ("cores", .integer(c.cores)), ("latency_us", .number(c.latency * 1e6)), ("bandwidth_gbps", .number(c.bandwidthGBps)),
                ("mean_abs_error", .number(mean)), ("max_abs_error", .number(worst)), ("mean_step_error", .number(stepMean)),
                ("results", .array(rows.map { row in
                    .object([("algorithm", .string(row.setting.algorithm.rawValue)), ("workers", .integer(row.setting.workers)),
                             ("n", .integer(row.setting.tokens)), ("causal", .bool(row.setting.isCausal)), ("kv_heads", .integer(row.keyHeads)),
                             ("ulysses_degree", row.ulyssesDegree.map { .integer($0) } ?? .null),
                             ("link_gbps", .number(row.setting.linkGbps)), ("measured_s", .number(row.measured)),
                             ("predicted_s", .number(row.predicted)), ("error", .number(row.error)),
                             ("measured_steps_s", .array(row.measuredSteps.map { .number($0) })),
                             ("predicted_steps_s", .array(row.predictedSteps.map { .number($0) })),
                             ("step_error", row.stepError.map { .number($0) } ?? .null)])
                })),
            ]).rendered())
            return
        }
        if let file {
            Console.output("measurements from \(file): \(c.host) (\(c.cpuModel), \(c.cores) cores), \(c.date), commit \(c.commit), \(c.build) build; "
                           + "predicted by loom \(Provenance.loomVersion) (commit \(Provenance.commit))")
            if c.build != "release" { Console.output("warning: measured by a debug build — these timings are not meaningful") }
        } else {
            Console.output("loom \(Provenance.loomVersion) (commit \(Provenance.commit), \(Provenance.build) build), \(c.host), \(c.cores) cores")
            if !Provenance.isRelease { Console.output("warning: debug build — these timings are not meaningful") }
        }
        Console.output(String(format: "calibration: α %.1f µs, β %.2f GB/s", c.latency * 1e6, c.bandwidthGBps)
                       + (c.copyGBps.map { String(format: ", copies %.2f GB/s at each end", $0) } ?? "") + "; attention, one thread, GFLOP/s: "
                       + c.rates.sorted { ($0.tokens, $0.heads, $0.keyHeads) < ($1.tokens, $1.heads, $1.keyHeads) }
                        .map { rate in "\(rate.tokens)x\(rate.heads)/\(rate.keyHeads) " + String(format: "%.1f, causal %.1f", rate.full / 1e9, rate.causal / 1e9)
                            + (rate.merge.map { String(format: ", merges %.1f GB/s", $0 / 1e9) } ?? "")
                            + rate.sharing.sorted { $0.key < $1.key }.map { String(format: ", %d ranks on the cores get %.2f of a fair share", $0.key, $0.value) }.joined() }
                        .joined(separator: "; "))
        let header = ["algorithm", "P", "n", "causal", "Hkv", "link", "measured s", "predicted s", "error", "step error"]
        Console.output(header.map { $0.leftPadding(12) }.joined())
        for row in rows {
            let s = row.setting
            Console.output([row.name, String(s.workers), String(s.tokens), s.isCausal ? "yes" : "no", String(row.keyHeads),
                            s.linkGbps.map { "\($0) GB/s" } ?? "—", String(format: "%.4f", row.measured), String(format: "%.4f", row.predicted),
                            String(format: "%+.1f %%", 100 * row.error), row.stepError.map { String(format: "%.1f %%", 100 * $0) } ?? "—"]
                .map { $0.leftPadding(12) }.joined())
        }
        let pinned = record.cases.contains(where: \.pinned)
        for p in Set(rows.map(\.setting.workers)).sorted() {
            let mine = rows.filter { $0.setting.workers == p }.map { abs($0.error) }
            Console.output(String(format: "P = %d (%@): %d runs, mean |error| %.1f %%, largest %.1f %%", p,
                                  p <= c.cores ? "a core per rank" : "\(p) ranks on \(c.cores) cores\(pinned ? ", pinned" : "")", mine.count,
                                  100 * mine.reduce(0, +) / Double(mine.count), 100 * (mine.max() ?? 0)))
        }
        Console.output(String(format: "%d runs: mean |error| %.1f %%, largest %.1f %% (goal: mean ≤ 10 %%, largest ≤ 20 %%); ", rows.count, 100 * mean, 100 * worst)
                       + String(format: "rank 0's steps: mean |error| %.1f %% of a step", 100 * stepMean))
    }
}
