/// The header of a `.npy` file: what its data holds and where the data starts.
///
/// The format (numpy's `numpy.lib.format`): the magic `\x93NUMPY`, a major and a minor version
/// byte, the header length (little-endian UInt16 in version 1.0, UInt32 in 2.0 and 3.0), then a
/// Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` padded with
/// spaces and ended by `\n`, then the elements in C order. Every check here runs before any
/// allocation sized by the header, so hostile bytes produce errors, never crashes or huge buffers.
struct NPYHeader: Equatable {
    /// The element type.
    var dataType: NPYDataType
    /// The array's extents; empty for a 0-d array (one element).
    var shape: [Int]
    /// The number of elements, the product of `shape`.
    var count: Int
    /// The byte offset at which the elements start.
    var dataOffset: Int

    /// `\x93NUMPY`, the first six bytes of every `.npy` file.
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
    /// numpy aligns the data to 64 bytes (its ARRAY_ALIGN; older numpy used 16) so that a
    /// memory-mapped array is aligned for any SIMD width.
    static let alignment = 64
    /// Nesting deeper than this in a header is hostile: a shape tuple needs one level.
    static let maximumNesting = 16

    /// Parses and checks the header at the start of `bytes`, including that exactly the bytes
    /// the shape needs follow it.
    /// - Parameter source: the path (or a stand-in) for error messages.
    /// - Throws: `TensorError.npy` naming what is wrong and, where there is one, the fix.
    init(parsing bytes: [UInt8], source: String) throws(TensorError) {
        func fail(_ reason: String) -> TensorError { .npy(path: source, reason: reason) }

        let prefix = bytes.prefix(NPYHeader.magic.count)
        guard prefix.elementsEqual(NPYHeader.magic.prefix(prefix.count)), bytes.count >= NPYHeader.magic.count else {
            throw fail("bad magic \(NPYHeader.hex(bytes.prefix(6))): an .npy file starts with "
                           + "\\x93NUMPY (93 4E 55 4D 50 59)" + (bytes.isEmpty ? "; the file is empty" : ""))
        }
        guard bytes.count >= 8 else {
            throw fail("truncated header: \(bytes.count) bytes, fewer than the 8 of magic and version")
        }
        let (major, minor) = (bytes[6], bytes[7])
        let lengthSize: Int
        switch (major, minor) {
        case (1, 0): lengthSize = 2
        case (2, 0), (3, 0): lengthSize = 4
        default:
            throw fail("unsupported format version \(major).\(minor); Loom reads versions 1.0, 2.0 and 3.0")
        }
        let headerStart = 8 + lengthSize
        guard bytes.count >= headerStart else {
            throw fail("truncated header: \(bytes.count) bytes, fewer than the \(headerStart) of a version "
                           + "\(major).0 preamble")
        }
        var headerLength = 0
        for i in (8..<headerStart).reversed() { headerLength = headerLength << 8 | Int(bytes[i]) }
        guard headerLength <= bytes.count - headerStart else {
            throw fail("truncated header: the header length field says \(headerLength) bytes, "
                           + "but only \(bytes.count - headerStart) follow the preamble")
        }
        let text = bytes[headerStart..<(headerStart + headerLength)]
        let fields = try PythonLiteralParser.parseDictionary(text, fail)

        // numpy writes exactly these three keys and refuses other sets; so does Loom.
        let expectedKeys: Set<String> = ["descr", "fortran_order", "shape"]
        let keys = Set(fields.map(\.key))
        guard keys == expectedKeys, fields.count == expectedKeys.count else {
            throw fail("malformed header dict: keys \(fields.map { "'\($0.key)'" }.joined(separator: ", ")); "
                           + "expected exactly 'descr', 'fortran_order' and 'shape': "
                           + NPYHeader.quote(text))
        }
        let values = Dictionary(uniqueKeysWithValues: fields.map { ($0.key, $0.value) })

        dataType = try NPYHeader.dataType(values["descr"], fail)
        guard case let .bool(isFortranOrder)? = values["fortran_order"] else {
            throw fail("malformed header dict: 'fortran_order' must be True or False: " + NPYHeader.quote(text))
        }
        guard !isFortranOrder else {
            throw fail("fortran_order is True, but Loom reads C-order arrays only; "
                           + "save np.ascontiguousarray(a) instead, which transposes the layout in numpy")
        }
        guard case let .tuple(extents)? = values["shape"] else {
            throw fail("malformed header dict: 'shape' must be a tuple of integers: " + NPYHeader.quote(text))
        }
        var shape: [Int] = []
        for extent in extents {
            guard case let .integer(value) = extent else {
                throw fail("malformed header dict: 'shape' must be a tuple of integers: " + NPYHeader.quote(text))
            }
            shape.append(value)
        }
        let shapeText = NPYHeader.pythonTuple(shape)
        if let negative = shape.first(where: { $0 < 0 }) {
            throw fail("negative extent \(negative) in shape \(shapeText)")
        }
        var count = 1
        for extent in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: extent)
            guard !overflow else { throw fail("shape \(shapeText) has more elements than an Int can count") }
            count = product
        }
        let (dataBytes, overflow) = count.multipliedReportingOverflow(by: dataType.byteCount)
        guard !overflow else {
            throw fail("shape \(shapeText) of \(dataType.rawValue) needs more bytes than an Int can count")
        }
        let dataOffset = headerStart + headerLength
        let available = bytes.count - dataOffset
        guard available >= dataBytes else {
            throw fail("truncated data: shape \(shapeText) of \(dataType.rawValue) needs \(dataBytes) bytes "
                           + "after the \(dataOffset)-byte header, but only \(available) are there")
        }
        guard available == dataBytes else {
            throw fail("\(available - dataBytes) unexpected bytes after the data: shape \(shapeText) of "
                           + "\(dataType.rawValue) needs \(dataBytes) bytes, the file has \(available)")
        }
        self.shape = shape
        self.count = count
        self.dataOffset = dataOffset
    }

    /// The header bytes (preamble, dict, padding and newline) for an array of `shape` and `dataType`.
    ///
    /// Version 1.0 unless the dict needs more than its UInt16 length allows (some 6,000 axes),
    /// then 2.0. The header is padded with spaces so the data starts on a 64-byte boundary.
    static func encode(shape: [Int], dataType: NPYDataType) -> [UInt8] {
        let dictionary = "{'descr': '\(dataType.rawValue)', 'fortran_order': False, 'shape': \(pythonTuple(shape)), }"
        let body = Array(dictionary.utf8)
        var lengthSize = 2
        var padded = paddedLength(body.count, preamble: 8 + lengthSize)
        if padded > Int(UInt16.max) {
            lengthSize = 4
            padded = paddedLength(body.count, preamble: 8 + lengthSize)
        }
        var bytes = magic + [lengthSize == 2 ? 1 : 2, 0]
        for i in 0..<lengthSize { bytes.append(UInt8(truncatingIfNeeded: padded >> (8 * i))) }
        bytes += body
        bytes += [UInt8](repeating: 0x20, count: padded - body.count - 1)
        bytes.append(0x0A)
        return bytes
    }

    /// The header length (dict, spaces, newline) that makes `preamble + length` a multiple of 64.
    private static func paddedLength(_ dictionaryLength: Int, preamble: Int) -> Int {
        let unpadded = preamble + dictionaryLength + 1
        let total = (unpadded + alignment - 1) / alignment * alignment
        return total - preamble
    }

    /// `()`, `(5,)`, `(2, 3, 4)`: a shape as Python writes a tuple.
    static func pythonTuple(_ shape: [Int]) -> String {
        switch shape.count {
        case 0: "()"
        case 1: "(\(shape[0]),)"
        default: "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
    }

    /// Maps the `descr` value to a data type, or explains why Loom cannot read it.
    private static func dataType(_ value: PythonLiteral?,
                                 _ fail: (String) -> TensorError) throws(TensorError) -> NPYDataType {
        let accepted = "Loom reads float32 ('<f4') and float64 ('<f8') only"
        guard case let .string(descr)? = value else {
            throw fail("unsupported dtype: 'descr' is a structured or malformed dtype; \(accepted)")
        }
        if let type = NPYDataType(rawValue: descr) { return type }
        if descr == ">f4" || descr == ">f8" {
            throw fail("unsupported dtype '\(descr)' (big-endian); \(accepted): convert with a.astype('<\(descr.dropFirst())')")
        }
        throw fail("unsupported dtype '\(descr)'; \(accepted): convert with a.astype(np.float32)")
    }

    /// Header text for an error message: printable ASCII kept, anything else escaped, long text cut.
    static func quote(_ text: ArraySlice<UInt8>) -> String {
        let limit = 160
        var result = ""
        for byte in text.prefix(limit) {
            switch byte {
            case 0x0A: result += "\\n"
            case 0x20...0x7E: result.append(Character(Unicode.Scalar(byte)))
            default: result += "\\x" + String(byte, radix: 16, uppercase: false).leftPadded(to: 2)
            }
        }
        return result + (text.count > limit ? "… (\(text.count) bytes)" : "")
    }

    /// `93 4E 55` for error messages.
    static func hex(_ bytes: ArraySlice<UInt8>) -> String {
        bytes.isEmpty ? "(none)" : bytes.map { String($0, radix: 16, uppercase: true).leftPadded(to: 2) }
            .joined(separator: " ")
    }
}

extension String {
    /// The string with leading zeros up to `width` characters.
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
