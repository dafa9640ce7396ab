import DuoLLM
import Foundation
import Models
import TensorCore

extension BenchOracleCommand {
    /// One timed case: medians and the rates derived from them.
    struct Row {
        let name: String
        let seconds: Double
        let routeTokensPerSecond: Double
        let gflops: Double
        let cores: Int
        let fractionOfPeak: Double
        let layerEvaluations: Int
        let attention: Int
    }

    /// What `loom bench oracle` prints: the table, or one JSON object.
    struct Report {
        let config: ModelConfig
        let batch: Int
        let routes: RouteSet
        let repeats: Int
        let peakPerCore: Double
        let sgemm: Double
        let rows: [Row]
        let shared: RouteWork
        let direct: RouteWork
        let identical: Bool
        /// The longest task's own time on its worker (loading included), 1 and 2 workers.
        let taskSeconds: (one: Double, two: Double)
        /// A task of one route on 1 worker, submission to result: what a task costs apart from its routes.
        let oneRouteSeconds: Double
        /// The 1-minute load average before and after the run.
        let load: (before: Double, after: Double)

        var timeSaving: Double { rows[1].seconds / rows[0].seconds }
        var flopSaving: Double { direct.flops(config: config, batch: batch) / shared.flops(config: config, batch: batch) }
        var speedup: Double { rows[3].seconds / rows[4].seconds }
        /// What two threads in this process give over one, in GFLOP/s of the work each does: the
        /// machine's own scaling of this code in this sitting, the baseline for the workers' speedup.
        var threadScaling: Double { rows[0].gflops / rows[2].gflops }

        var json: JSONValue {
            .object([
                ("benchmark", .string("oracle")), ("commit", .string(Provenance.commit)), ("host", .string(Provenance.host)),
                ("cpu", .string(Provenance.cpuModel)), ("openblas_core", .string(BLAS.coreName)), ("simd", .string(SIMDTarget.name)),
                ("cores", .integer(Parallel.activeCores)),
                ("layers", .integer(config.depth)), ("d", .integer(config.dModel)), ("heads", .integer(config.heads)),
                ("context", .integer(config.context)), ("batch", .integer(batch)), ("vocabulary", .integer(config.vocabulary)),
                ("skip", .bool(routes.skip)), ("routes", .integer(routes.count)), ("repeat", .integer(repeats)),
                ("peak_gflops_per_core", .number(peakPerCore)), ("sgemm_gflops", .number(sgemm)),
                ("layer_evaluations", .integer(shared.layerEvaluations)), ("attention_evaluations", .integer(shared.attention)),
                ("full_layer_evaluations", .integer(shared.fullEvaluations)),
                ("saving_time", .number(timeSaving)), ("saving_flops", .number(flopSaving)),
                ("speedup_2_workers", .number(speedup)), ("thread_scaling_in_process", .number(threadScaling)),
                ("task_seconds_1_worker", .number(taskSeconds.one)), ("task_seconds_2_workers", .number(taskSeconds.two)),
                ("one_route_task_seconds", .number(oneRouteSeconds)),
                ("load_average_before", .number(load.before)), ("load_average_after", .number(load.after)), ("halves_identical", .bool(identical)),
                ("results", .array(rows.map { row in
                    .object([("case", .string(row.name)), ("seconds", .number(row.seconds)),
                             ("route_tokens_per_s", .number(row.routeTokensPerSecond)), ("gflops", .number(row.gflops)),
                             ("cores", .integer(row.cores)), ("fraction_of_peak", .number(row.fractionOfPeak))])
                })),
            ])
        }

        func printTable() {
            Console.output("loom \(Provenance.loomVersion) (commit \(Provenance.commit), \(Provenance.build) build), \(Provenance.cpuModel), "
                           + "\(Parallel.activeCores) cores, OpenBLAS core \(BLAS.coreName), SIMD \(SIMDTarget.name)")
            if !Provenance.isRelease { Console.output("warning: debug build — these timings are not meaningful") }
            Console.output("duo model L = \(config.depth), d = \(config.dModel), \(config.heads) heads, V = \(config.vocabulary), "
                           + "context \(config.context), batch \(batch): \(routes.count) routes (\(routes.skip ? "big/small/skip" : "big/small")) "
                           + "× \(batch * config.context) tokens, forward only, median of \(repeats)")
            Console.output(String(format: "peak: the register tile alone runs at %.1f GFLOP/s per core (the faster of its measurements before and after the timed runs); sgemm at the big FFN's shape %.1f GFLOP/s",
                                  peakPerCore, sgemm))
            Console.output("case".padding(toLength: 26, withPad: " ", startingAt: 0)
                           + ["cores", "seconds", "route·tok/s", "GFLOP/s", "of peak"].map { $0.leftPadding(13) }.joined())
            for row in rows {
                Console.output(row.name.padding(toLength: 26, withPad: " ", startingAt: 0)
                               + [String(row.cores), String(format: "%.3f", row.seconds), String(format: "%.3g", row.routeTokensPerSecond),
                                  String(format: "%.1f", row.gflops), String(format: "%.2f", row.fractionOfPeak)].map { $0.leftPadding(13) }.joined())
            }
            Console.output("prefix sharing: \(shared.layerEvaluations) FFN and \(shared.attention) attention evaluations instead of "
                           + "\(shared.fullEvaluations) each; " + String(format: "%.2f× fewer FLOPs, %.2f× less wall time in process", flopSaving, timeSaving))
            Console.output(String(format: "2 workers over 1: %.2f× (halves equal the whole set bit for bit: %@); the tasks' own time on "
                                  + "their workers, loading included: %.3f s and %.3f s", speedup, identical ? "yes" : "NO",
                                  taskSeconds.one, taskSeconds.two))
            if rows[0].cores == 2 {
                Console.output(String(format: "the same evaluation on 2 threads in this process over 1 thread, in GFLOP/s: %.2f× "
                                      + "(what this machine gives two copies of this code at once, in this sitting)", threadScaling))
            }
            Console.output(String(format: "a task of one route on 1 worker, submission to result: %.3f s (reading the manifest and the "
                                  + "corpus, the model resident since round 0, the coordinator's round trip)", oneRouteSeconds))
            Console.output(String(format: "load average (1 min) before and after the run: %.2f, %.2f", load.before, load.after))
        }
    }
}
