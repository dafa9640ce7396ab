import Foundation

/// A typed task parameter or metric value.
public enum ParameterValue: Sendable, Hashable, CustomStringConvertible {
    case int(Int)
    case double(Double)
    case string(String)
    case bool(Bool)

    /// The value as a number, if it is one (ints widen to doubles).
    public var number: Double? {
        switch self {
        case let .int(value): Double(value)
        case let .double(value): value
        default: nil
        }
    }

    public var description: String {
        switch self {
        case let .int(value): String(value)
        case let .double(value): String(value)
        case let .string(value): value
        case let .bool(value): String(value)
        }
    }

    /// The value as JSON text.
    public var json: String {
        switch self {
        case let .int(value): return String(value)
        case let .double(value): return value.isFinite ? String(value) : "null"
        case let .bool(value): return String(value)
        case let .string(value):
            let data = (try? JSONSerialization.data(withJSONObject: [value], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
            return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
        }
    }
}
