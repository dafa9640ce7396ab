import Tasks
import Wire

/// How parameter values travel in the wire protocol's headers (docs/wire.md: `values`).
extension ParameterValue {
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
