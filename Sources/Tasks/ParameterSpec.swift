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
    /// A string parameter naming a file or directory the run reads (a corpus, a checkpoint):
    /// the contents' digest is part of the run's cache key, so a changed input is a new run.
    public let isInput: Bool
    /// For an input whose value may be a name rather than a path (a topology preset): the file
    /// the name stands for, so its contents, not a missing path, join the cache key.
    public let inputPath: (@Sendable (String) -> String?)?

    /// - Parameters:
    ///   - minimum, maximum: inclusive bounds for an int or double parameter.
    ///   - choices: the values a string parameter may take.
    ///   - input: the value names a file or directory the run reads (see `isInput`).
    ///   - inputPath: an input's file for a value that is a name (see `inputPath`).
    public init(_ name: String, _ type: ValueType, default defaultValue: ParameterValue? = nil, _ help: String,
                minimum: Double? = nil, maximum: Double? = nil, choices: [String]? = nil, input: Bool = false,
                inputPath: (@Sendable (String) -> String?)? = nil) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.help = help
        self.minimum = minimum
        self.maximum = maximum
        self.choices = choices
        self.isInput = input
        self.inputPath = inputPath
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
            if let near = nearestName(to: text, among: choices) {
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
