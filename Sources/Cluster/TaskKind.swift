import Foundation

/// One declared parameter of a task kind: its name, type, default and meaning.
public struct ParameterSpec: Sendable {
    /// The types a parameter can have.
    public enum ValueType: String, Sendable {
        case int, double, string, bool
    }

    public let name: String
    public let type: ValueType
    /// The value when none is given; nil makes the parameter required.
    public let defaultValue: ParameterValue?
    /// One line for help text.
    public let help: String
    /// The smallest value a numeric parameter accepts (inclusive), if bounded.
    public let minimum: Double?
    /// The largest value a numeric parameter accepts (inclusive), if bounded.
    public let maximum: Double?
    /// The only values a string parameter accepts, if it is one of a set (an algorithm's name).
    public let choices: [String]?

    /// - Parameters:
    ///   - minimum, maximum: inclusive bounds for an int or double parameter.
    ///   - choices: the values a string parameter may take.
    public init(_ name: String, _ type: ValueType, default defaultValue: ParameterValue? = nil, _ help: String,
                minimum: Double? = nil, maximum: Double? = nil, choices: [String]? = nil) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.help = help
        self.minimum = minimum
        self.maximum = maximum
        self.choices = choices
    }

    /// What is wrong with a value already of this parameter's type, or nil if it is acceptable:
    /// a number that is not finite (NaN, ±inf, `1e400`), outside `minimum`…`maximum`, or a
    /// string outside `choices` (with the nearest choice).
    public func problem(with value: ParameterValue) -> String? {
        if let number = value.number {
            guard number.isFinite else { return "parameter '\(name)' must be a finite number; got \(value)" }
            // Whole bounds print as such: "at least 0", not "at least 0.0".
            let shown = { (bound: Double) in bound.rounded() == bound && abs(bound) < 9e15 ? String(Int(bound)) : String(bound) }
            switch (minimum, maximum) {
            case let (low?, high?) where number < low || number > high:
                return "parameter '\(name)' must be in \(shown(low))…\(shown(high)); got \(value)"
            case let (low?, nil) where number < low:
                return "parameter '\(name)' must be at least \(shown(low)); got \(value)"
            case let (nil, high?) where number > high:
                return "parameter '\(name)' must be at most \(shown(high)); got \(value)"
            default: return nil
            }
        }
        if case let .string(text) = value, let choices, !choices.contains(text) {
            var message = "parameter '\(name)' must be one of \(choices.joined(separator: ", ")); got '\(text)'"
            // A prefix counts too: 'zigzag' is far from 'zigzag_ring' by edits but plainly meant it.
            let prefixed = text.count >= 2 ? choices.filter { $0.hasPrefix(text) } : []
            if let near = nearestName(to: text, among: choices) ?? (prefixed.count == 1 ? prefixed[0] : nil) {
                message += "; did you mean '\(near)'?"
            }
            return message
        }
        return nil
    }

    /// Why `value` cannot be converted to this parameter's type, with the fix; for a
    /// refusal by `coerce(_:)`.
    public func typeProblem(with value: ParameterValue) -> String {
        var message = "parameter '\(name)' must be \(type.rawValue); got '\(value)'"
        if type == .bool, case let .string(text) = value, ["yes", "no", "on", "off", "y", "n"].contains(text.lowercased()) {
            message += "; use true or false (YAML 1.1's yes/no/on/off are not booleans in Loom's YAML 1.2 files)"
        } else if type == .bool {
            message += "; use true or false"
        }
        return message
    }

    /// `value` converted to this parameter's type, if it can be without loss.
    public func coerce(_ value: ParameterValue) -> ParameterValue? {
        switch (type, value) {
        case (.int, .int), (.double, .double), (.string, .string), (.bool, .bool): value
        case let (.double, .int(int)): .double(Double(int))
        case let (.int, .double(double)) where double.rounded() == double && abs(double) < 9e15: .int(Int(double))
        case let (.int, .string(text)): Int(text).map(ParameterValue.int)
        case let (.double, .string(text)): Double(text).map(ParameterValue.double)
        case let (.bool, .string(text)): ["true": true, "false": false, "1": true, "0": false][text].map(ParameterValue.bool)
        case let (.string, other): .string(other.description)
        default: nil
        }
    }
}

/// A metric measured at a step of a run (a training curve's point).
public struct StepMetric: Sendable, Equatable {
    public var name: String
    public var step: Int
    public var value: Double
    public init(name: String, step: Int, value: Double) { self.name = name; self.step = step; self.value = value }
}

/// What a finished task reports: metrics (numbers, strings), stepped metrics (curves) and
/// artifacts (file paths).
public struct TaskOutcome: Sendable {
    public var metrics: [String: ParameterValue]
    public var artifacts: [String]
    public var series: [StepMetric]

    public init(metrics: [String: ParameterValue] = [:], artifacts: [String] = [], series: [StepMetric] = []) {
        self.metrics = metrics
        self.artifacts = artifacts
        self.series = series
    }
}

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
                version: Int = 1, check: Check? = nil, gangTopology: (@Sendable ([String: ParameterValue]) -> String)? = nil,
                gangSummary: GangSummary? = nil, body: @escaping Body) {
        self.gangTopology = gangTopology
        self.gangSummary = gangSummary
        self.name = name
        self.summary = summary
        self.parameters = parameters
        self.isGang = isGang
        self.version = version
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
        var resolved: [String: ParameterValue] = [:]
        let known = parameters.map(\.name)
        for key in given.keys.sorted() where !known.contains(key) {
            var message = "kind '\(name)' has no parameter '\(key)'"
            if let near = nearestName(to: key, among: known) { message += "; did you mean '\(near)'?" }
            message += known.isEmpty ? " (it takes none)" : " (it takes: \(known.joined(separator: ", ")))"
            throw .invalidTask(message)
        }
        for spec in parameters {
            if let value = given[spec.name] {
                guard let typed = spec.coerce(value) else {
                    throw .invalidTask("parameter '\(spec.name)' of kind '\(name)' must be \(spec.type.rawValue); got '\(value)'")
                }
                if let problem = spec.problem(with: typed) { throw .invalidTask("kind '\(name)': \(problem)") }
                resolved[spec.name] = typed
            } else if let fallback = spec.defaultValue {
                resolved[spec.name] = fallback
            } else {
                throw .invalidTask("kind '\(name)' needs parameter '\(spec.name)' (\(spec.type.rawValue): \(spec.help))")
            }
        }
        return resolved
    }
}

/// The nearest of `names` to `word` by edit distance, if close enough to be a likely typo.
public func nearestName(to word: String, among names: [String]) -> String? {
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        var row = Array(0...b.count)
        for i in 1...max(1, a.count) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in 1...max(1, b.count) where !b.isEmpty {
                let current = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = current
            }
        }
        return a.isEmpty ? b.count : row[b.count]
    }
    let scored = names.map { ($0, distance(Array(word), Array($0))) }
    guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(2, word.count / 3) else { return nil }
    return best.0
}
