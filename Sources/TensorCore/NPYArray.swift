/// The contents of a `.npy` file at full precision: its shape, its elements as float64, and the
/// element type the file stores.
///
/// For checks against references computed elsewhere (numpy, PyTorch) in float64, where reading
/// into a float32 `Tensor` would round them. Elements are in C (row-major) order.
public struct NPYArray: Sendable, Equatable {
    /// The extents of each axis; empty for a 0-d array, which holds one element.
    public private(set) var shape: [Int]
    /// The elements in row-major order; `values.count == shape.reduce(1, *)`.
    public private(set) var values: [Double]
    /// How the elements are (or will be) stored in the file.
    public var dataType: NPYDataType

    /// Wraps `values` with `shape`.
    /// - Parameters:
    ///   - shape: the extents, each ≥ 0.
    ///   - values: the elements in row-major order.
    ///   - dataType: the element type to write; `.float32` rounds the values when written.
    /// - Throws: `TensorError.invalidShape` for a negative extent or a count that does not match.
    public init(shape: [Int], values: [Double], dataType: NPYDataType = .float64) throws(TensorError) {
        if let negative = shape.first(where: { $0 < 0 }) {
            throw .invalidShape("negative extent \(negative) in shape \(Tensor.describe(shape))")
        }
        // Multiplying with overflow checks: a product that overflows cannot match any array.
        var expected = shape.contains(0) ? 0 : 1
        for extent in shape where expected > 0 {
            let (product, overflow) = expected.multipliedReportingOverflow(by: extent)
            expected = overflow ? -1 : product
            if overflow { break }
        }
        guard expected == values.count else {
            throw .invalidShape("shape \(Tensor.describe(shape)) does not hold the \(values.count) values given")
        }
        self.shape = shape
        self.values = values
        self.dataType = dataType
    }

    /// Reads a `.npy` file of float32 or float64 elements.
    /// - Parameter path: the file to read.
    /// - Throws: `TensorError.io` when the file cannot be read (missing, a directory, no
    ///   permission) and `TensorError.npy` when its contents are not a C-order float32 or float64
    ///   array (see `init(npyBytes:source:)`).
    /// - Complexity: O(file size).
    public init(contentsOfFile path: String) throws(TensorError) {
        try self.init(npyBytes: try FileBytes.load(path), source: path)
    }

    /// Decodes the bytes of a `.npy` file (versions 1.0, 2.0 and 3.0).
    /// - Parameters:
    ///   - bytes: the whole file.
    ///   - source: the path or another name for the bytes, used in error messages.
    /// - Throws: `TensorError.npy` for bad magic, an unsupported version, a malformed header
    ///   dict, Fortran order, a dtype other than `<f4`/`<f8`, a negative or overflowing shape,
    ///   or data shorter or longer than the shape needs.
    /// - Complexity: O(bytes.count).
    public init(npyBytes bytes: [UInt8], source: String = "<bytes>") throws(TensorError) {
        let header = try NPYHeader(parsing: bytes, source: source)
        shape = header.shape
        dataType = header.dataType
        values = [Double](repeating: 0, count: header.count)
        bytes.withUnsafeBytes { raw in
            let data = UnsafeRawBufferPointer(rebasing: raw[header.dataOffset...])
            switch header.dataType {
            case .float32:
                for i in values.indices {
                    let bits = data.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)
                    values[i] = Double(Float(bitPattern: UInt32(littleEndian: bits)))
                }
            case .float64:
                for i in values.indices {
                    let bits = data.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)
                    values[i] = Double(bitPattern: UInt64(littleEndian: bits))
                }
            }
        }
    }

    /// The bytes of a `.npy` file holding this array as `dataType` (version 1.0, or 2.0 for a
    /// header too long for 1.0; data aligned to 64 bytes).
    /// - Complexity: O(count).
    public func npyBytes() -> [UInt8] {
        var bytes = NPYHeader.encode(shape: shape, dataType: dataType)
        let dataOffset = bytes.count
        bytes += [UInt8](repeating: 0, count: values.count * dataType.byteCount)
        bytes.withUnsafeMutableBytes { raw in
            let data = UnsafeMutableRawBufferPointer(rebasing: raw[dataOffset...])
            switch dataType {
            case .float32:
                for (i, value) in values.enumerated() {
                    data.storeBytes(of: Float(value).bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
                }
            case .float64:
                for (i, value) in values.enumerated() {
                    data.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: 8 * i, as: UInt64.self)
                }
            }
        }
        return bytes
    }

    /// Writes this array to a `.npy` file as `dataType`, replacing any file at `path`.
    /// - Throws: `TensorError.io` with the system's reason when the file cannot be written.
    /// - Complexity: O(count).
    public func write(toFile path: String) throws(TensorError) {
        try FileBytes.store(npyBytes(), to: path)
    }
}
