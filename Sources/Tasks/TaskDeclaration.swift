/// What a task kind is, apart from how it runs: its name, parameters, metrics and the checks its
/// parameters must pass. Experiment files, `loom submit` and reports need only this; the runtime
/// (module Cluster) pairs it with the body that runs on a worker.
public struct TaskDeclaration: Sendable {
    /// Checks resolved parameters against each other and the gang size, before anything runs.
    public typealias Check = @Sendable (_ resolved: [String: ParameterValue], _ gangSize: Int) throws(ParameterProblem) -> Void

    public let name: String
    public let summary: String
    public let parameters: [ParameterSpec]
    /// The parameters that name files or directories the run reads (`ParameterSpec.isInput`).
    public var inputs: [String] { parameters.filter(\.isInput).map(\.name) }

    /// The file or directory an input parameter's value reads: the value, or the file a name
    /// stands for (`ParameterSpec.inputPath`).
    public func inputPath(_ name: String, _ value: String) -> String {
        parameters.first { $0.name == name }?.inputPath?(value) ?? value
    }
    /// Whether the kind runs as a gang of several workers (it needs `gang` ≥ 1 at submission).
    public let isGang: Bool
    /// The kind's semantic version, part of every run's cache key: bump it when the same
    /// parameters would now give different results, so no stored result of the old meaning is
    /// reused, not even with `--accept-code-change`.
    public let version: Int
    /// The metrics it reports, with labels and units.
    public let metrics: [MetricSpec]
    private let check: Check?

    public init(name: String, summary: String, parameters: [ParameterSpec], isGang: Bool = false, version: Int = 1,
                metrics: [MetricSpec] = [], check: Check? = nil) {
        self.name = name
        self.summary = summary
        self.parameters = parameters
        self.isGang = isGang
        self.version = version
        self.metrics = metrics
        self.check = check
    }

    /// A declaration whose parameters are a `TaskParameters` type: its declaration gives the
    /// schema and its `check(gangSize:)` the cross-parameter check.
    public init<Parameters: TaskParameters>(name: String, summary: String, parameters: Parameters.Type, isGang: Bool = false,
                                            version: Int = 1, metrics: [MetricSpec] = []) {
        // `validate` resolves before it checks, so the check decodes resolved values as they are.
        self.init(name: name, summary: summary, parameters: Parameters.declaration, isGang: isGang, version: version,
                  metrics: metrics, check: { resolved, gangSize throws(ParameterProblem) in
                      try Parameters(ResolvedParameters(resolved)).check(gangSize: gangSize)
                  })
    }

    /// Checks `given` against the declared parameters and fills in defaults.
    /// - Returns: every declared parameter with a value of its declared type.
    /// - Throws: a problem naming an unknown key (with the nearest known one), a value of the
    ///   wrong type, one its spec refuses (not finite, out of range, not a choice), or a missing
    ///   required parameter.
    public func resolve(_ given: [String: ParameterValue]) throws(ParameterProblem) -> [String: ParameterValue] {
        try parameters.resolve(given, kind: name)
    }

    /// Resolves `given` and runs the kind's own check for a run on `gangSize` workers.
    public func validate(_ given: [String: ParameterValue], gangSize: Int) throws(ParameterProblem) -> [String: ParameterValue] {
        let resolved = try resolve(given)
        try check?(resolved, gangSize)
        return resolved
    }
}

/// The kinds a process knows, by declaration: what experiment files are checked against.
/// The runtime's `TaskRegistry` is one; a tool that only reads files needs nothing more.
public protocol TaskCatalog: Sendable {
    /// The known names, sorted.
    var names: [String] { get }
    /// The kind called `name`, or a problem naming the nearest known kind (or how to enable it).
    func declaration(named name: String) throws(ParameterProblem) -> TaskDeclaration
    /// Every known kind's metrics (and any the runtime adds), for labels and units in reports.
    var metrics: MetricCatalog { get }
}

extension TaskCatalog {
    public var metrics: MetricCatalog {
        MetricCatalog(names.compactMap { try? declaration(named: $0) }.flatMap(\.metrics))
    }
}
