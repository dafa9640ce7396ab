import Foundation
import Tasks

/// The runs of a report as a table of text cells, arranged for reading: parameters that never
/// change are listed once as `fixed`, then come id and status, the varying parameters, the metrics
/// the figures plot, the other metrics, and last the detail metrics (per rank, per step, per layer
/// or head: any name with a dot), which the page hides behind a toggle.
struct RunTable {
    /// Where a column belongs; the order of the cases is the order of the columns.
    enum Group: Int, Comparable, CaseIterable {
        case run, parameter, figureMetric, metric, detail

        static func < (a: Group, b: Group) -> Bool { a.rawValue < b.rawValue }

        /// The heading of the group's columns.
        var title: String {
            switch self {
            case .run: ""
            case .parameter: "parameters"
            case .figureMetric: "metrics in the figures"
            case .metric: "other metrics"
            case .detail: "per rank, step, layer or head"
            }
        }
    }

    struct Column: Equatable {
        var name: String
        var group: Group
    }

    /// Parameters with one value in every run, shown once above the table.
    let fixed: [(name: String, value: String)]
    /// Metrics (not detail ones) that every run reporting them reported with one value, when at
    /// least two runs did: shown once beside `fixed` instead of as a column.
    let sameInEveryRun: [(name: String, value: String)]
    let columns: [Column]
    let rows: [[String]]

    var header: [String] { columns.map(\.name) }

    /// How many columns are in `group`.
    func count(_ group: Group) -> Int { columns.count { $0.group == group } }

    /// - Parameter figureNames: the names the figures plot (x and y), whose metrics come first.
    init(_ runs: [ReportData.Run], figureNames: Set<String> = []) {
        func format(_ value: ParameterValue?) -> String { value.map(RunTable.format) ?? "" }
        // A name is constant when every run has it, with one value (as shown).
        func constant(_ values: [ParameterValue?]) -> String? {
            guard let first = values.first, let first, values.allSatisfy({ $0 == first }) else { return nil }
            let text = RunTable.format(first)
            return text.isEmpty ? "\"\"" : text                       // said once, an empty value must show
        }
        var fixed: [(String, String)] = [], columns: [Column] = [Column(name: "run", group: .run), Column(name: "status", group: .run)]
        for name in Set(runs.flatMap { $0.params.keys }).sorted() {
            if let value = constant(runs.map { $0.params[name] }) {
                fixed.append((name, value))
            } else {
                columns.append(Column(name: name, group: .parameter))
            }
        }
        var same: [(String, String)] = [], metricColumns: [Column] = []
        for name in Set(runs.flatMap { $0.metrics.keys }).sorted() {
            if figureNames.contains(name) {
                metricColumns.append(Column(name: name, group: .figureMetric))
            } else if name.contains(".") {
                metricColumns.append(Column(name: name, group: .detail))
            } else {
                let reported = runs.compactMap { $0.metrics[name] }
                if reported.count >= 2, let value = constant(reported) {
                    same.append((name, value))
                } else {
                    metricColumns.append(Column(name: name, group: .metric))
                }
            }
        }
        // Stable: names stay sorted within a group.
        columns += metricColumns.enumerated().sorted { ($0.element.group, $0.offset) < ($1.element.group, $1.offset) }.map(\.element)
        self.fixed = fixed
        self.sameInEveryRun = same
        self.columns = columns
        rows = runs.map { run in
            let status = run.status.rawValue + (run.metricsSource.map { " (from \($0))" } ?? "")
            return columns.map { column in
                switch column.group {
                case .run: column.name == "run" ? String(run.id) : status
                case .parameter: format(run.params[column.name])
                default: format(run.metrics[column.name])
                }
            }
        }
    }

    /// A value for a table: integers as they are (also when stored as a double, such as a byte
    /// count), other numbers to 4 significant digits.
    static func format(_ value: ParameterValue) -> String {
        switch value {
        case let .double(number) where number.isFinite && number == number.rounded() && abs(number) < 1e15:
            String(Int64(number))
        case let .double(number): number.isFinite ? String(format: "%.4g", number) : String(number)
        default: value.description
        }
    }
}
