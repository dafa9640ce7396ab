import Foundation
import Reports
import Tasks

extension SimValidateCommand {
    /// Writes the validation as a report in `directory`: predicted against measured (with the
    /// measured times again as the diagonal a perfect prediction lies on), and the error of each
    /// run by gang size, one colour per schedule.
    static func writeReport(_ rows: [Row], calibration: [(String, String)], to directory: URL) throws(CommandError) {
        let runs = rows.enumerated().map { index, row in
            let s = row.setting
            return ReportData.Run(id: Int64(index + 1), params: [
                "algorithm": .string(s.algorithm.rawValue), "workers": .int(s.workers), "tokens": .int(s.tokens),
                "causal": .bool(s.isCausal), "kv_heads": .int(row.keyHeads), "link_gbps": .double(s.linkGbps ?? 0),
                "ulysses_degree": .int(row.ulyssesDegree ?? 0),
            ], metrics: [
                "measured_s": .double(row.measured), "predicted_s": .double(row.predicted), "error_pct": .double(100 * row.error),
                "step_error_pct": row.stepError.map { .double(100 * $0) } ?? .double(.nan),
            ])
        }
        let data = ReportData(experiment: "sim-validate", description: "the simulator's predictions against measured runs on local workers",
                              runs: runs, provenance: calibration)
        let spec = ReportSpec(figures: [
            FigureSpec(name: "scatter", kind: .scatter, x: "measured_s", y: "predicted_s", logX: true, logY: true,
                       title: "predicted against measured (the measured times again: the diagonal)", xLabel: "measured (s)",
                       yLabel: "predicted (s)", alsoY: ["measured_s"]),
            FigureSpec(name: "error", kind: .scatter, x: "workers", y: "error_pct", series: "algorithm", facet: "causal",
                       title: "prediction error by gang size", xLabel: "P (ranks on this machine's cores)", yLabel: "error (%)"),
        ])
        do {
            let output = try Report.render(data, spec: spec, to: directory)
            Console.progress("sim validate: report in \(output.indexHTML.path)")
        } catch {
            throw .failure("sim validate: the report could not be written: \(error)")
        }
    }
}
