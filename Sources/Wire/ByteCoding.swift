import Foundation

/// Writes a message header: fixed-width little-endian integers, doubles and length-prefixed
/// strings, in an order the matching `ByteReader` code reads back.
public struct ByteWriter: Sendable {
    /// The bytes written so far.
    public private(set) var data = Data()

    /// An empty writer.
    public init() {}

    public mutating func write(_ value: UInt8) { data.append(value) }
    public mutating func write(_ value: Bool) { data.append(value ? 1 : 0) }

    public mutating func write(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
    }

    public mutating func write(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
    }

    public mutating func write(_ value: Int) { write(UInt64(bitPattern: Int64(value))) }
    public mutating func write(_ value: Double) { write(value.bitPattern) }

    /// A string as a 32-bit byte count and UTF-8 bytes.
    public mutating func write(_ value: String) {
        let bytes = Array(value.utf8)
        write(UInt32(bytes.count))
        data.append(contentsOf: bytes)
    }

    /// Raw bytes as a 32-bit count and the bytes.
    public mutating func write(bytes: Data) {
        write(UInt32(bytes.count))
        data.append(bytes)
    }
}

/// Reads a header that `ByteWriter` wrote, checking every length against what is left, so a
/// truncated or hostile header throws instead of reading past the end.
public struct ByteReader {
    private let bytes: [UInt8]
    private var offset = 0
    /// The largest string or byte field accepted, whatever a length prefix claims.
    public static let maximumFieldLength = 1 << 20

    /// A reader over `data`.
    public init(_ data: Data) { bytes = [UInt8](data) }

    /// Whether every byte has been read.
    public var isAtEnd: Bool { offset == bytes.count }

    private mutating func take(_ count: Int, _ what: String) throws(WireError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count - offset else {
            throw .malformed("header ends at byte \(bytes.count) while reading \(what) (\(count) bytes at offset \(offset))")
        }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    public mutating func readUInt8(_ what: String = "a byte") throws(WireError) -> UInt8 {
        try take(1, what).first!
    }

    public mutating func readBool(_ what: String = "a flag") throws(WireError) -> Bool {
        let byte = try readUInt8(what)
        guard byte <= 1 else { throw .malformed("\(what) is \(byte); a flag is 0 or 1") }
        return byte == 1
    }

    public mutating func readUInt32(_ what: String = "a 32-bit integer") throws(WireError) -> UInt32 {
        var value: UInt32 = 0
        for (shift, byte) in try take(4, what).enumerated() { value |= UInt32(byte) << (8 * shift) }
        return value
    }

    public mutating func readUInt64(_ what: String = "a 64-bit integer") throws(WireError) -> UInt64 {
        var value: UInt64 = 0
        for (shift, byte) in try take(8, what).enumerated() { value |= UInt64(byte) << (8 * shift) }
        return value
    }

    public mutating func readInt(_ what: String = "an integer") throws(WireError) -> Int {
        Int(Int64(bitPattern: try readUInt64(what)))
    }

    /// An integer that must lie in `range`.
    public mutating func readInt(_ what: String, in range: ClosedRange<Int>) throws(WireError) -> Int {
        let value = try readInt(what)
        guard range.contains(value) else { throw .malformed("\(what) = \(value) is outside \(range)") }
        return value
    }

    public mutating func readDouble(_ what: String = "a number") throws(WireError) -> Double {
        Double(bitPattern: try readUInt64(what))
    }

    public mutating func readString(_ what: String = "a string") throws(WireError) -> String {
        let count = Int(try readUInt32("length of \(what)"))
        guard count <= ByteReader.maximumFieldLength else {
            throw .malformed("\(what) claims \(count) bytes; the limit is \(ByteReader.maximumFieldLength)")
        }
        let slice = try take(count, what)
        guard let text = String(validating: slice, as: UTF8.self) else {
            throw .malformed("\(what) is not valid UTF-8")
        }
        return text
    }

    public mutating func readBytes(_ what: String = "a byte field") throws(WireError) -> Data {
        let count = Int(try readUInt32("length of \(what)"))
        guard count <= ByteReader.maximumFieldLength else {
            throw .malformed("\(what) claims \(count) bytes; the limit is \(ByteReader.maximumFieldLength)")
        }
        return Data(try take(count, what))
    }

    /// A count of items that will each take at least `minimumItemBytes`, checked against what is
    /// left so a hostile count cannot make the caller reserve a huge array.
    public mutating func readCount(_ what: String, minimumItemBytes: Int = 1) throws(WireError) -> Int {
        let count = Int(try readUInt32(what))
        guard count * max(1, minimumItemBytes) <= bytes.count - offset else {
            throw .malformed("\(what) = \(count) cannot fit in the \(bytes.count - offset) bytes left")
        }
        return count
    }

    /// Throws unless every byte was read: trailing bytes mean a version mismatch or corruption.
    public func finish(_ what: String) throws(WireError) {
        guard isAtEnd else {
            throw .malformed("\(bytes.count - offset) unexpected trailing byte(s) after \(what)")
        }
    }
}
