import Tasks

extension TaskKind {
    /// A kind whose parameters are a `TaskParameters` type: the declaration comes from the type,
    /// the values are decoded once per run, and the body and the check read typed fields.
    /// - Parameters:
    ///   - metrics: the metrics the body reports, with labels and units.
    ///   - gangTopology: for a gang kind, the links its ranks need (`ring` or `mesh`).
    ///   - body: the task, given its decoded parameters.
    public init<Parameters: TaskParameters>(
        name: String, summary: String, parameters: Parameters.Type, metrics: [MetricSpec] = [], isGang: Bool = false,
        version: Int = 1, gangTopology: (@Sendable (Parameters) -> String)? = nil, gangSummary: GangSummary? = nil,
        body: @escaping @Sendable (TaskContext, Parameters) throws -> TaskOutcome
    ) {
        let declaration = TaskDeclaration(name: name, summary: summary, parameters: Parameters.self, isGang: isGang,
                                          version: version, metrics: metrics)
        let specs = declaration.parameters
        // Values reach a body resolved by the coordinator; resolving again costs little and
        // keeps a hand-made submission from reaching `ResolvedParameters` with a gap.
        @Sendable func decode(_ values: [String: ParameterValue]) throws(ClusterError) -> Parameters {
            do throws(ParameterProblem) { return Parameters(ResolvedParameters(try specs.resolve(values, kind: name))) } catch {
                throw .invalidTask(error.description)
            }
        }
        self.init(
            declaration: declaration,
            gangTopology: gangTopology.map { topology in
                { @Sendable values in
                    guard let parameters = try? decode(values) else { return "mesh" }
                    return topology(parameters)
                }
            },
            gangSummary: gangSummary,
            body: { context, values in
                // The coordinator checked these at submission; a body never runs on values that
                // would fail the check, whoever sent them.
                let parameters = try decode(values)
                do throws(ParameterProblem) { try parameters.check(gangSize: context.gang?.size ?? 0) } catch {
                    throw ClusterError.invalidTask(error.description)
                }
                return try body(context, parameters)
            })
    }
}
