import Foundation
import Wire

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

    func write(to writer: inout ByteWriter) {
        switch self {
        case let .int(value): writer.write(UInt8(0)); writer.write(value)
        case let .double(value): writer.write(UInt8(1)); writer.write(value)
        case let .string(value): writer.write(UInt8(2)); writer.write(value)
        case let .bool(value): writer.write(UInt8(3)); writer.write(value)
        }
    }

    static func read(from reader: inout ByteReader, _ what: String) throws(WireError) -> ParameterValue {
        switch try reader.readUInt8("type of \(what)") {
        case 0: return .int(try reader.readInt(what))
        case 1: return .double(try reader.readDouble(what))
        case 2: return .string(try reader.readString(what))
        case 3: return .bool(try reader.readBool(what))
        case let tag: throw .malformed("\(what) has unknown type tag \(tag)")
        }
    }
}

extension ByteWriter {
    /// A string-keyed dictionary of values, in key order so equal dictionaries encode equally.
    mutating func write(_ values: [String: ParameterValue]) {
        write(UInt32(values.count))
        for key in values.keys.sorted() {
            write(key)
            values[key]!.write(to: &self)
        }
    }

    /// A list of strings.
    mutating func write(_ strings: [String]) {
        write(UInt32(strings.count))
        for string in strings { write(string) }
    }
}

extension ByteReader {
    mutating func readValues(_ what: String) throws(WireError) -> [String: ParameterValue] {
        let count = try readCount("number of \(what)", minimumItemBytes: 6)
        var values: [String: ParameterValue] = [:]
        for _ in 0..<count {
            let key = try readString("a key of \(what)")
            values[key] = try ParameterValue.read(from: &self, "\(what).\(key)")
        }
        return values
    }

    mutating func readStrings(_ what: String) throws(WireError) -> [String] {
        let count = try readCount("number of \(what)", minimumItemBytes: 4)
        var strings: [String] = []
        for _ in 0..<count { strings.append(try readString(what)) }
        return strings
    }
}
