import Foundation

/// A JSON value written with its keys in the order given and `null` spelt out, for `--json` output
/// (Foundation's encoders sort or drop keys and omit nil optionals).
enum JSONValue {
    case string(String)
    case number(Double)
    /// A number with every digit (Swift's shortest form that reads back to the same `Double`), for
    /// files loom reads again: `number`'s 6 digits would change what is recomputed from them.
    case exactNumber(Double)
    case integer(Int)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([(String, JSONValue)])

    /// A number, or `null` when absent or not finite (JSON has no NaN or infinity).
    static func number(_ value: Double?) -> JSONValue {
        guard let value, value.isFinite else { return .null }
        return .number(value)
    }

    /// The value as JSON text, indented by two spaces per level.
    func rendered(indent: Int = 0) -> String {
        let pad = String(repeating: "  ", count: indent + 1), close = String(repeating: "  ", count: indent)
        switch self {
        case let .string(text): return JSONValue.quoted(text)
        case let .number(value):
            // Up to 6 significant digits: timings and rates are not more precise than that.
            return String(format: "%.6g", value)
        case let .exactNumber(value): return value.isFinite ? value.description : "null"
        case let .integer(value): return String(value)
        case let .bool(value): return value ? "true" : "false"
        case .null: return "null"
        case let .array(items):
            if items.isEmpty { return "[]" }
            return "[\n" + items.map { pad + $0.rendered(indent: indent + 1) }.joined(separator: ",\n") + "\n\(close)]"
        case let .object(fields):
            if fields.isEmpty { return "{}" }
            return "{\n" + fields.map { pad + JSONValue.quoted($0.0) + ": " + $0.1.rendered(indent: indent + 1) }
                .joined(separator: ",\n") + "\n\(close)}"
        }
    }

    private static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            case _ where scalar.value < 0x20: result += String(format: "\\u%04x", scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
