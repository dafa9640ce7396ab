import Testing
import TensorCore

/// `.npy` bytes built by hand from a header dict, laid out as numpy's `format.py` does: magic,
/// version, little-endian header length, the dict, spaces up to `alignment`, `\n`, then `data`.
/// - Parameter growth: extra spaces before the alignment padding (numpy 2 leaves 21 so that the
///   first extent can grow in place).
func npyFile(_ dictionary: String, data: [UInt8] = [], major: UInt8 = 1, minor: UInt8 = 0,
             alignment: Int = 64, growth: Int = 0) -> [UInt8] {
    let lengthSize = major == 1 ? 2 : 4
    var header = Array(dictionary.utf8) + [UInt8](repeating: 0x20, count: growth)
    while (8 + lengthSize + header.count + 1) % alignment != 0 { header.append(0x20) }
    header.append(0x0A)
    var bytes: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, major, minor]
    for i in 0..<lengthSize { bytes.append(UInt8(truncatingIfNeeded: header.count >> (8 * i))) }
    return bytes + header + data
}

/// Little-endian float32 bytes.
func float32Bytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { value in (0..<4).map { UInt8(truncatingIfNeeded: value.bitPattern >> (8 * $0)) } }
}

/// Little-endian float64 bytes.
func float64Bytes(_ values: [Double]) -> [UInt8] {
    values.flatMap { value in (0..<8).map { UInt8(truncatingIfNeeded: value.bitPattern >> (8 * $0)) } }
}

/// The parts of a `.npy` file as the format defines them, read without TensorCore.
struct NPYLayout {
    var major: UInt8, minor: UInt8
    /// HEADER_LEN: the dict, its padding and the newline.
    var headerLength: Int
    /// The header as text, padding and newline included.
    var header: String
    /// Where the elements start.
    var dataOffset: Int

    init?(_ bytes: [UInt8]) {
        guard bytes.count >= 10, Array(bytes[0..<6]) == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59] else { return nil }
        major = bytes[6]
        minor = bytes[7]
        let lengthSize = major == 1 ? 2 : 4
        guard bytes.count >= 8 + lengthSize else { return nil }
        headerLength = (0..<lengthSize).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
        dataOffset = 8 + lengthSize + headerLength
        guard bytes.count >= dataOffset else { return nil }
        header = String(decoding: bytes[(8 + lengthSize)..<dataOffset], as: UTF8.self)
    }
}

/// A shape and the tuple numpy's `repr` writes for it.
struct HeaderCase: Sendable, CustomTestStringConvertible {
    var shape: [Int]
    var tuple: String
    var testDescription: String { tuple }
}

/// A malformed file and the words its error must contain.
struct NPYDefect: Sendable, CustomTestStringConvertible {
    var name: String
    var bytes: [UInt8]
    var fragment: String
    var testDescription: String { name }

    /// A well-formed `(2, 3)` float32 file to break.
    static let valid = npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                               data: float32Bytes([1, 2, 3, 4, 5, 6]))

    static func header(_ name: String, _ dictionary: String, _ fragment: String, data: [UInt8] = []) -> NPYDefect {
        NPYDefect(name: name, bytes: npyFile(dictionary, data: data), fragment: fragment)
    }

    static let all: [NPYDefect] = [
        NPYDefect(name: "empty file", bytes: [], fragment: "bad magic (none): an .npy file starts with \\x93NUMPY (93 4E 55 4D 50 59); the file is empty"),
        NPYDefect(name: "wrong magic", bytes: [0x94] + valid.dropFirst(), fragment: "bad magic 94 4E 55 4D 50 59"),
        NPYDefect(name: "text file", bytes: Array("hello, world\n".utf8), fragment: "bad magic 68 65 6C 6C 6F 2C"),
        NPYDefect(name: "magic cut short", bytes: Array(valid[0..<4]), fragment: "bad magic 93 4E 55 4D"),
        NPYDefect(name: "no version", bytes: Array(valid[0..<6]),
                  fragment: "truncated header: 6 bytes, fewer than the 8 of magic and version"),
        NPYDefect(name: "no header length", bytes: Array(valid[0..<9]),
                  fragment: "truncated header: 9 bytes, fewer than the 10 of a version 1.0 preamble"),
        NPYDefect(name: "header cut short", bytes: Array(valid[0..<40]),
                  fragment: "truncated header: the header length field says 118 bytes, but only 30 follow the preamble"),
        NPYDefect(name: "data cut short", bytes: Array(valid.dropLast()),
                  fragment: "truncated data: shape (2, 3) of <f4 needs 24 bytes after the 128-byte header, but only 23 are there"),
        NPYDefect(name: "no data", bytes: Array(valid[0..<128]),
                  fragment: "truncated data: shape (2, 3) of <f4 needs 24 bytes after the 128-byte header, but only 0 are there"),
        NPYDefect(name: "bytes after the data", bytes: valid + [0],
                  fragment: "1 unexpected bytes after the data: shape (2, 3) of <f4 needs 24 bytes, the file has 25"),
        NPYDefect(name: "version 4.0", bytes: Array(valid[0..<6]) + [4, 0] + valid[8...],
                  fragment: "unsupported format version 4.0; Loom reads versions 1.0, 2.0 and 3.0"),
        NPYDefect(name: "version 1.1", bytes: Array(valid[0..<6]) + [1, 1] + valid[8...],
                  fragment: "unsupported format version 1.1"),
        header("fortran order", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
               "fortran_order is True, but Loom reads C-order arrays only", data: float32Bytes([1, 2, 3, 4, 5, 6])),
        header("int32", "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }",
               "unsupported dtype '<i4'; Loom reads float32 ('<f4') and float64 ('<f8') only", data: [0, 0, 0, 0, 1, 0, 0, 0]),
        header("float16", "{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }", "unsupported dtype '<f2'",
               data: [0, 0, 0, 0]),
        header("big-endian float64", "{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }",
               "unsupported dtype '>f8' (big-endian)", data: [UInt8](repeating: 0, count: 8)),
        header("structured dtype", "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
               "unsupported dtype: 'descr' is a structured or malformed dtype", data: [0, 0, 0, 0]),
        header("missing shape", "{'descr': '<f4', 'fortran_order': False, }",
               "expected exactly 'descr', 'fortran_order' and 'shape'"),
        header("extra key", "{'descr': '<f4', 'fortran_order': False, 'shape': (), 'order': 1, }",
               "keys 'descr', 'fortran_order', 'shape', 'order'"),
        header("duplicate key", "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (), }",
               "key 'descr' appears twice"),
        header("shape is an integer", "{'descr': '<f4', 'fortran_order': False, 'shape': 6, }",
               "'shape' must be a tuple of integers"),
        header("shape (6) without comma", "{'descr': '<f4', 'fortran_order': False, 'shape': (6), }",
               "'shape' must be a tuple of integers"),
        header("shape of strings", "{'descr': '<f4', 'fortran_order': False, 'shape': ('2',), }",
               "'shape' must be a tuple of integers"),
        header("float extent", "{'descr': '<f4', 'fortran_order': False, 'shape': (2.5,), }",
               "expected an integer, found a float"),
        header("negative extent", "{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 3), }",
               "negative extent -1 in shape (-1, 3)"),
        header("element count overflows", "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
               "shape (4294967296, 4294967296) has more elements than an Int can count"),
        header("byte count overflows", "{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693952,), }",
               "shape (2305843009213693952,) of <f8 needs more bytes than an Int can count"),
        header("integer too large", "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }",
               "integer too large for an Int"),
        header("fortran_order not a bool", "{'descr': '<f4', 'fortran_order': 'no', 'shape': (), }",
               "'fortran_order' must be True or False"),
        header("lower-case false", "{'descr': '<f4', 'fortran_order': false, 'shape': (), }", "unknown name 'false'"),
        header("not a dict", "[1, 2]", "the header is not a dict"),
        header("unterminated string", "{'descr': '<f4", "unterminated string"),
        header("text after the dict", "{'descr': '<f4', 'fortran_order': False, 'shape': (), } x", "text after the dict"),
        header("hostile nesting", "{'descr': '<f4', 'fortran_order': False, 'shape': "
                   + String(repeating: "(", count: 60_000) + "}", "nesting deeper than 16"),
        header("binary in the header", "{'descr': '<f4', \u{1}}", "malformed header dict"),
    ]
}

@Suite struct NPYHeaderTests {
    @Test(arguments: [
        HeaderCase(shape: [], tuple: "()"),                  // 0-d: one element
        HeaderCase(shape: [5], tuple: "(5,)"),               // a 1-tuple needs its comma
        HeaderCase(shape: [0], tuple: "(0,)"),
        HeaderCase(shape: [2, 3], tuple: "(2, 3)"),
        HeaderCase(shape: [2, 0, 3], tuple: "(2, 0, 3)"),
        HeaderCase(shape: [123_456_789, 0], tuple: "(123456789, 0)"),
        // This dict is exactly 117 bytes: 10 + 117 + '\n' = 128, so no padding space at all.
        HeaderCase(shape: [Int](repeating: 1, count: 20) + [10],
                   tuple: "(" + String(repeating: "1, ", count: 20) + "10)"),
    ])
    func headerIsNumpyCompatible(_ c: HeaderCase) throws {
        for dataType in NPYDataType.allCases {
            let tensor = try Tensor(zeros: c.shape)
            let bytes = tensor.npyBytes(as: dataType)
            let layout = try #require(NPYLayout(bytes), "no magic or truncated: \(bytes.prefix(16))")
            #expect(layout.major == 1 && layout.minor == 0)
            let dictionary = "{'descr': '\(dataType.rawValue)', 'fortran_order': False, 'shape': \(c.tuple), }"
            #expect(layout.header.hasPrefix(dictionary), "header \(layout.header)")
            #expect(layout.header.hasSuffix("\n"))
            // numpy pads with spaces so that the data starts on a 64-byte boundary (ARRAY_ALIGN).
            // numpy 2 also leaves 21 spaces of room to grow the shape; Loom pads minimally.
            let padding = layout.header.dropFirst(dictionary.utf8.count).dropLast()
            #expect(padding.allSatisfy { $0 == " " })
            #expect(padding.count < 64)
            #expect(layout.dataOffset % 64 == 0, "data starts at \(layout.dataOffset)")
            #expect(bytes.count == layout.dataOffset + tensor.count * dataType.byteCount)

            let array = try NPYArray(shape: c.shape, values: [Double](repeating: 0, count: tensor.count),
                                     dataType: dataType)
            #expect(array.npyBytes() == bytes, "NPYArray and Tensor must write the same header")
        }
    }

    @Test func headerTooLongForVersion1UsesVersion2() throws {
        // 22 000 axes make a dict of 66 000 bytes, past version 1.0's UInt16 length.
        let shape = [Int](repeating: 1, count: 22_000)
        let tensor = try Tensor(repeating: 0.5, shape: shape)
        let bytes = tensor.npyBytes()
        let layout = try #require(NPYLayout(bytes))
        #expect(layout.major == 2 && layout.minor == 0)
        #expect(layout.headerLength > Int(UInt16.max))
        #expect(layout.dataOffset % 64 == 0)
        #expect(try Tensor(npyBytes: bytes) == tensor)
    }

    @Test func readsWhatOtherWritersWrite() throws {
        let data = float64Bytes([1.5, -2.25])
        let variants: [(String, [UInt8])] = [
            ("numpy 2 growth padding", npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
                                                data: data, growth: 21)),
            ("old numpy's 16-byte alignment", npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
                                                       data: data, alignment: 16)),
            ("version 2.0", npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", data: data, major: 2)),
            ("version 3.0", npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", data: data, major: 3)),
            ("other key order, no trailing comma", npyFile("{'shape': (2,), 'descr': '<f8', 'fortran_order': False}",
                                                           data: data)),
            ("double quotes", npyFile("{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (2,)}", data: data)),
            ("Python 2 long", npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (2L,), }", data: data)),
            ("no alignment at all", npyFile("{'descr':'<f8','fortran_order':False,'shape':(2,)}", data: data,
                                            alignment: 1)),
        ]
        for (name, bytes) in variants {
            let array = try NPYArray(npyBytes: bytes, source: name)
            #expect(array.shape == [2], "\(name)")
            #expect(array.values == [1.5, -2.25], "\(name)")
            #expect(array.dataType == .float64, "\(name)")
        }
    }

    @Test(arguments: NPYDefect.all)
    func malformedFilesThrowNamingTheProblem(_ defect: NPYDefect) {
        let tensorError = #expect(throws: TensorError.self) { try Tensor(npyBytes: defect.bytes, source: "defect.npy") }
        guard case let .npy(path, reason)? = tensorError else {
            Issue.record("expected TensorError.npy, got \(String(describing: tensorError))")
            return
        }
        #expect(path == "defect.npy")
        #expect(reason.contains(defect.fragment), "reason: \(reason)")
        #expect(tensorError?.description.hasPrefix("defect.npy: not a readable .npy file: ") == true)
        // NPYArray parses the same header and must refuse with the same error.
        let arrayError = #expect(throws: TensorError.self) { try NPYArray(npyBytes: defect.bytes, source: "defect.npy") }
        #expect(arrayError == tensorError)
    }
}
