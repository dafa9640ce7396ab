import Foundation
import Tasks

/// The runs of a report as a table of text cells: id, status, each parameter, each metric.
struct RunTable {
    let header: [String]
    let rows: [[String]]
    /// How many columns hold parameters (after id and status), then metrics.
    let parameterCount: Int, metricCount: Int

    init(_ runs: [ReportData.Run]) {
        let params = Array(Set(runs.flatMap { $0.params.keys })).sorted()
        let metrics = Array(Set(runs.flatMap { $0.metrics.keys })).sorted()
        header = ["run", "status"] + params + metrics
        parameterCount = params.count
        metricCount = metrics.count
        rows = runs.map { run in
            let status = run.status.rawValue + (run.metricsSource.map { " (from \($0))" } ?? "")
            return [String(run.id), status] + params.map { run.params[$0].map(RunTable.format) ?? "" }
                + metrics.map { run.metrics[$0].map(RunTable.format) ?? "" }
        }
    }

    /// A value for a table: integers as they are, other numbers to 4 significant digits.
    static func format(_ value: ParameterValue) -> String {
        switch value {
        case let .double(number): number.isFinite ? String(format: "%.4g", number) : String(number)
        default: value.description
        }
    }
}
