import Foundation
import Tasks

extension ResultsStore {
    /// A run's parameters with their stored types (a boolean stays a boolean, a string that
    /// looks like a number stays a string).
    public func params(run: Int64) throws(StoreError) -> [String: ParameterValue] {
        var params: [String: ParameterValue] = [:]
        for row in try database.query("SELECT name, value, type FROM param WHERE run_id = ?", [.integer(run)]) {
            guard case let .text(name) = row[0], case let .text(value) = row[1], case let .text(type) = row[2] else { continue }
            switch type {
            case "int": params[name] = Int(value).map { .int($0) } ?? .string(value)
            case "double": params[name] = Double(value).map { .double($0) } ?? .string(value)
            case "bool": params[name] = .bool(value == "true")
            default: params[name] = .string(value)
            }
        }
        return params
    }

    /// One point of a stored curve, as `loom export --curves` writes it.
    public struct CurvePoint: Sendable, Equatable {
        public var run: Int64
        public var step: Int
        public var metric: String
        public var value: Double
    }

    /// Every stepped metric of the runs of `experiment` (all experiments when nil), ordered by
    /// run, metric name and step. A CACHED run has none of its own: its source run holds them.
    public func curvePoints(experiment: String? = nil) throws(StoreError) -> [CurvePoint] {
        var sql = "SELECT metric.run_id, metric.step, metric.name, metric.value FROM metric"
        var bindings: [SQLiteDatabase.Value] = []
        if let experiment {
            sql += " JOIN run ON run.id = metric.run_id JOIN experiment ON experiment.id = run.experiment_id WHERE experiment.name = ? AND"
            bindings.append(.text(experiment))
        } else {
            sql += " WHERE"
        }
        sql += " metric.step IS NOT NULL ORDER BY metric.run_id, metric.name, metric.step, metric.rowid"
        return try database.query(sql, bindings).compactMap { row in
            guard case let .integer(run) = row[0], case let .integer(step) = row[1], case let .text(name) = row[2] else { return nil }
            let value: Double
            switch row[3] { case let .real(v): value = v; case let .integer(v): value = Double(v); default: return nil }
            return CurvePoint(run: run, step: Int(step), metric: name, value: value)
        }
    }
}
