import Tasks
/// The task kinds a process knows: the one place where kinds are registered. As a
/// `TaskCatalog` it gives their declarations to whatever checks files and renders reports.
public struct TaskRegistry: TaskCatalog {
    private var kinds: [String: TaskKind] = [:]
    /// Test-only kinds left out, by name, so that asking for one says how to enable it.
    private var withheld: Set<String> = []

    /// An empty registry.
    public init() {}

    /// The metric the coordinator adds to every gang's merged result.
    public static let gangSize = MetricSpec("gang_size", "gang size")

    /// Every registered kind's metrics, and the runtime's own.
    public var metrics: MetricCatalog {
        MetricCatalog(kinds.keys.sorted().flatMap { kinds[$0]!.metrics } + [TaskRegistry.gangSize])
    }

    /// The runtime's own kinds for production: sleep, echo, gemm, steps, gang.barrier and
    /// gang.ringsum. The test-only kinds are known by name only.
    public static var builtIn: TaskRegistry { builtIn(includingTestKinds: false) }

    /// The runtime's own kinds, with the test-only ones (append, artifact, crash, fail) when
    /// `includingTestKinds`: they write files and break processes, so a production worker,
    /// coordinator or `loom run` registers them only when asked (`--test-kinds`).
    public static func builtIn(includingTestKinds: Bool) -> TaskRegistry {
        var registry = TaskRegistry()
        for kind in BuiltInKinds.all { registry.register(kind) }
        for kind in BuiltInKinds.testOnly {
            if includingTestKinds { registry.register(kind) } else { registry.withheld.insert(kind.name) }
        }
        return registry
    }

    /// Adds `kind`, replacing one of the same name.
    public mutating func register(_ kind: TaskKind) {
        kinds[kind.name] = kind
        withheld.remove(kind.name)
    }

    /// The test-only kinds this registry leaves out, sorted.
    public var withheldTestKinds: [String] { withheld.sorted() }

    /// The kind called `name`.
    public subscript(name: String) -> TaskKind? { kinds[name] }

    /// The registered names, sorted.
    public var names: [String] { kinds.keys.sorted() }

    /// The kind called `name`, or an error naming the nearest known kind.
    public func kind(named name: String) throws(ClusterError) -> TaskKind {
        if let kind = kinds[name] { return kind }
        throw .invalidTask(problem(named: name).description)
    }

    public func declaration(named name: String) throws(ParameterProblem) -> TaskDeclaration {
        if let kind = kinds[name] { return kind.declaration }
        throw problem(named: name)
    }

    private func problem(named name: String) -> ParameterProblem {
        if withheld.contains(name) {
            return ParameterProblem(
                "'\(name)' is a test-only kind: it exists to test Loom's runtime (it writes files or breaks "
                + "processes) and runs only where test kinds are enabled; pass --test-kinds to 'loom run', "
                + "or to 'loom up' / 'loom coordinator', its workers and 'loom submit'")
        }
        var message = "unknown task kind '\(name)'"
        if let near = nearestName(to: name, among: names) { message += "; did you mean '\(near)'?" }
        return ParameterProblem(message + " (known: \(names.joined(separator: ", ")))")
    }
}
