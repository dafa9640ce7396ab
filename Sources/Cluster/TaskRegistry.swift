/// The task kinds a process knows: the one place where kinds are registered.
public struct TaskRegistry: Sendable {
    private var kinds: [String: TaskKind] = [:]

    /// An empty registry.
    public init() {}

    /// The runtime's own kinds: sleep, echo, fail, crash, gemm, gang.barrier, gang.ringsum and append.
    public static var builtIn: TaskRegistry {
        var registry = TaskRegistry()
        for kind in BuiltInKinds.all { registry.register(kind) }
        return registry
    }

    /// Adds `kind`, replacing one of the same name.
    public mutating func register(_ kind: TaskKind) { kinds[kind.name] = kind }

    /// The kind called `name`.
    public subscript(name: String) -> TaskKind? { kinds[name] }

    /// The registered names, sorted.
    public var names: [String] { kinds.keys.sorted() }

    /// The kind called `name`, or an error naming the nearest known kind.
    public func kind(named name: String) throws(ClusterError) -> TaskKind {
        if let kind = kinds[name] { return kind }
        var message = "unknown task kind '\(name)'"
        if let near = nearestName(to: name, among: names) { message += "; did you mean '\(near)'?" }
        throw .invalidTask(message + " (known: \(names.joined(separator: ", ")))")
    }
}
