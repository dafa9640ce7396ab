import Foundation

/// A minimal, independent `.npy` writer and reader for the CLI tests, so that `loom attention` is
/// checked against files made without TensorCore's own code (format: numpy's NEP 1, version 1.0).
enum NPYTestFile {
    /// The bytes of a little-endian C-order `.npy` file of doubles (`'<f8'`) or floats (`'<f4'`).
    static func encode(_ values: [Double], shape: [Int], asFloat32: Bool = false) -> [UInt8] {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values for shape \(shape)")
        let shapeText = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
        var header = "{'descr': '\(asFloat32 ? "<f4" : "<f8")', 'fortran_order': False, 'shape': (\(shapeText)), }"
        // The data starts at a multiple of 64 bytes: magic 6 + version 2 + length 2 + header + '\n'.
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        bytes += [UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]
        bytes += Array(header.utf8)
        for value in values {
            if asFloat32 {
                withUnsafeBytes(of: Float(value).bitPattern.littleEndian) { bytes += $0 }
            } else {
                withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 }
            }
        }
        return bytes
    }

    /// Writes `encode(values, shape:)` to `path`.
    static func write(_ values: [Double], shape: [Int], to path: String, asFloat32: Bool = false) throws {
        try Data(encode(values, shape: shape, asFloat32: asFloat32)).write(to: URL(fileURLWithPath: path))
    }

    /// Reads a float32 `.npy` file as written by `loom`: its shape and values.
    static func readFloat32(_ path: String) throws -> (shape: [Int], values: [Double]) {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        struct Malformed: Error, CustomStringConvertible { var description: String }
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1...5]) == Array("NUMPY".utf8) else {
            throw Malformed(description: "\(path): no .npy magic")
        }
        let major = bytes[6]
        let lengthBytes = major == 1 ? 2 : 4
        var headerLength = 0
        for i in 0..<lengthBytes { headerLength |= Int(bytes[8 + i]) << (8 * i) }
        let start = 8 + lengthBytes + headerLength
        guard bytes.count >= start else { throw Malformed(description: "\(path): truncated header") }
        let header = String(decoding: bytes[(8 + lengthBytes)..<start], as: UTF8.self)
        guard header.contains("'<f4'"), header.contains("'fortran_order': False") else {
            throw Malformed(description: "\(path): expected little-endian float32 C order, header \(header)")
        }
        guard let open = header.firstIndex(of: "("), let close = header.firstIndex(of: ")") else {
            throw Malformed(description: "\(path): no shape in header \(header)")
        }
        let shape = header[header.index(after: open)..<close].split(separator: ",")
            .compactMap { Int($0.filter { $0 != " " }) }
        let count = shape.reduce(1, *)
        guard bytes.count - start == 4 * count else {
            throw Malformed(description: "\(path): \(bytes.count - start) data bytes for shape \(shape)")
        }
        var values: [Double] = []
        values.reserveCapacity(count)
        for i in 0..<count {
            var bits: UInt32 = 0
            for b in 0..<4 { bits |= UInt32(bytes[start + 4 * i + b]) << (8 * b) }
            values.append(Double(Float(bitPattern: bits)))
        }
        return (shape, values)
    }
}
