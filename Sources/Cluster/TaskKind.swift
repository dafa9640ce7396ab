import Foundation
import Tasks

/// A kind of task a worker can run: a name, declared parameters, and the function that runs it.
public struct TaskKind: Sendable {
    public typealias Body = @Sendable (TaskContext, [String: ParameterValue]) throws -> TaskOutcome
    /// Checks resolved parameters against each other and the gang size, before anything runs.
    public typealias Check = @Sendable ([String: ParameterValue], _ gangSize: Int) throws(ClusterError) -> Void

    public let name: String
    public let summary: String
    public let parameters: [ParameterSpec]
    /// Whether the kind runs as a gang of several workers (it needs `gang` ≥ 1 at submission).
    public let isGang: Bool
    /// The kind's semantic version, part of every run's cache key: bump it when the same
    /// parameters would now give different results, so no stored result of the old meaning is
    /// reused, not even with `--accept-code-change`.
    public let version: Int
    /// The metrics it reports, with labels and units (empty for kinds not yet declaring them).
    public let metrics: [MetricSpec]
    let body: Body
    let check: Check?
    /// For a gang kind: the links its ranks need (`ring` or `mesh`) for the given parameters;
    /// nil reads a `topology` parameter, else builds a full mesh.
    let gangTopology: (@Sendable ([String: ParameterValue]) -> String)?
    /// For a gang kind: metrics of the whole gang from every rank's metrics (by rank), added to
    /// the merged result on the coordinator (e.g. the gang's wall time is the slowest rank's).
    public typealias GangSummary = @Sendable (_ ranks: [[String: ParameterValue]]) -> [String: ParameterValue]
    let gangSummary: GangSummary?

    public init(name: String, summary: String, parameters: [ParameterSpec], isGang: Bool = false,
                version: Int = 1, metrics: [MetricSpec] = [], check: Check? = nil,
                gangTopology: (@Sendable ([String: ParameterValue]) -> String)? = nil,
                gangSummary: GangSummary? = nil, body: @escaping Body) {
        self.gangTopology = gangTopology
        self.gangSummary = gangSummary
        self.name = name
        self.summary = summary
        self.parameters = parameters
        self.isGang = isGang
        self.version = version
        self.metrics = metrics
        self.check = check
        self.body = body
    }

    /// Resolves `given` and runs the kind's own check for a run on `gangSize` workers.
    /// - Throws: `ClusterError.invalidTask` saying what is wrong and how to fix it.
    public func validate(_ given: [String: ParameterValue], gangSize: Int) throws(ClusterError) -> [String: ParameterValue] {
        let resolved = try resolve(given)
        try check?(resolved, gangSize)
        return resolved
    }

    /// Checks `given` against the declared parameters and fills in defaults.
    /// - Returns: every declared parameter with a value of its declared type.
    /// - Throws: `ClusterError.invalidTask` naming an unknown key (with the nearest known one), a
    ///   value of the wrong type, one its spec refuses (not finite, out of range, not a choice),
    ///   or a missing required parameter.
    public func resolve(_ given: [String: ParameterValue]) throws(ClusterError) -> [String: ParameterValue] {
        do throws(ParameterProblem) { return try parameters.resolve(given, kind: name) } catch { throw .invalidTask(error.description) }
    }
}
