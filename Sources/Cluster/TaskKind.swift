import Foundation
import Tasks

/// A kind of task a worker can run: its declaration (name, parameters, metrics, checks) and the
/// function that runs it.
public struct TaskKind: Sendable {
    public typealias Body = @Sendable (TaskContext, [String: ParameterValue]) throws -> TaskOutcome

    /// What the kind is: all that files, submissions and reports need.
    public let declaration: TaskDeclaration
    public var name: String { declaration.name }
    public var summary: String { declaration.summary }
    public var parameters: [ParameterSpec] { declaration.parameters }
    public var isGang: Bool { declaration.isGang }
    public var version: Int { declaration.version }
    public var metrics: [MetricSpec] { declaration.metrics }
    let body: Body
    /// For a gang kind: the links its ranks need (`ring` or `mesh`) for the given parameters;
    /// nil reads a `topology` parameter, else builds a full mesh.
    let gangTopology: (@Sendable ([String: ParameterValue]) -> String)?
    /// For a gang kind: metrics of the whole gang from every rank's metrics (by rank), added to
    /// the merged result on the coordinator (e.g. the gang's wall time is the slowest rank's).
    public typealias GangSummary = @Sendable (_ ranks: [[String: ParameterValue]]) -> [String: ParameterValue]
    let gangSummary: GangSummary?
    /// For a kind whose runs can be split into independent shards (see `TaskSharding`).
    public var sharding: TaskSharding?

    init(declaration: TaskDeclaration, gangTopology: (@Sendable ([String: ParameterValue]) -> String)?,
         gangSummary: GangSummary?, body: @escaping Body) {
        self.declaration = declaration
        self.gangTopology = gangTopology
        self.gangSummary = gangSummary
        self.body = body
    }

    /// Resolves `given` and runs the kind's own check for a run on `gangSize` workers.
    /// - Throws: `ClusterError.invalidTask` saying what is wrong and how to fix it.
    public func validate(_ given: [String: ParameterValue], gangSize: Int) throws(ClusterError) -> [String: ParameterValue] {
        do throws(ParameterProblem) { return try declaration.validate(given, gangSize: gangSize) } catch {
            throw .invalidTask(error.description)
        }
    }

    /// Checks `given` against the declared parameters and fills in defaults.
    /// - Throws: `ClusterError.invalidTask` naming an unknown key (with the nearest known one), a
    ///   value of the wrong type or out of range, or a missing required parameter.
    public func resolve(_ given: [String: ParameterValue]) throws(ClusterError) -> [String: ParameterValue] {
        do throws(ParameterProblem) { return try declaration.resolve(given) } catch { throw .invalidTask(error.description) }
    }
}
