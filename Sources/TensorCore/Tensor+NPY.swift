extension Tensor {
    /// Reads a `.npy` file of float32 or float64 elements; float64 is rounded to float32.
    ///
    /// Use `NPYArray(contentsOfFile:)` to keep float64 values at full precision.
    /// - Parameter path: the file to read.
    /// - Throws: `TensorError.io` when the file cannot be read (missing, a directory, no
    ///   permission) and `TensorError.npy` when its contents are not a C-order float32 or float64
    ///   array (see `init(npyBytes:source:)`).
    /// - Complexity: O(file size).
    public init(contentsOfNPYFile path: String) throws(TensorError) {
        try self.init(npyBytes: try FileBytes.load(path), source: path)
    }

    /// Decodes the bytes of a `.npy` file (versions 1.0, 2.0 and 3.0); float64 is rounded to float32.
    /// - Parameters:
    ///   - bytes: the whole file.
    ///   - source: the path or another name for the bytes, used in error messages.
    /// - Throws: `TensorError.npy` for bad magic, an unsupported version, a malformed header
    ///   dict, Fortran order, a dtype other than `<f4`/`<f8`, a negative or overflowing shape,
    ///   or data shorter or longer than the shape needs.
    /// - Complexity: O(bytes.count).
    public init(npyBytes bytes: [UInt8], source: String = "<bytes>") throws(TensorError) {
        let header = try NPYHeader(parsing: bytes, source: source)
        var tensor = Tensor(uncheckedZeros: header.shape)
        bytes.withUnsafeBytes { raw in
            let data = UnsafeRawBufferPointer(rebasing: raw[header.dataOffset...])
            tensor.withUnsafeMutableBufferPointer { storage in
                switch header.dataType {
                case .float32:
                    for i in storage.indices {
                        let bits = data.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)
                        storage[i] = Float(bitPattern: UInt32(littleEndian: bits))
                    }
                case .float64:
                    for i in storage.indices {
                        let bits = data.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)
                        storage[i] = Float(Double(bitPattern: UInt64(littleEndian: bits)))
                    }
                }
            }
        }
        self = tensor
    }

    /// The bytes of a `.npy` file holding this tensor (version 1.0, or 2.0 for a header too long
    /// for 1.0; little-endian; data aligned to 64 bytes).
    /// - Parameter dataType: `.float32` (exact) or `.float64` (each float widened exactly).
    /// - Complexity: O(count).
    public func npyBytes(as dataType: NPYDataType = .float32) -> [UInt8] {
        var bytes = NPYHeader.encode(shape: shape, dataType: dataType)
        let dataOffset = bytes.count
        bytes += [UInt8](repeating: 0, count: count * dataType.byteCount)
        bytes.withUnsafeMutableBytes { raw in
            let data = UnsafeMutableRawBufferPointer(rebasing: raw[dataOffset...])
            withUnsafeBufferPointer { storage in
                switch dataType {
                case .float32:
                    for (i, value) in storage.enumerated() {
                        data.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
                    }
                case .float64:
                    for (i, value) in storage.enumerated() {
                        data.storeBytes(of: Double(value).bitPattern.littleEndian, toByteOffset: 8 * i, as: UInt64.self)
                    }
                }
            }
        }
        return bytes
    }

    /// Writes this tensor to a `.npy` file, replacing any file at `path`.
    /// - Parameters:
    ///   - path: the file to write.
    ///   - dataType: `.float32` (the default, exact) or `.float64`.
    /// - Throws: `TensorError.io` with the system's reason when the file cannot be written.
    /// - Complexity: O(count).
    public func writeNPY(toFile path: String, as dataType: NPYDataType = .float32) throws(TensorError) {
        try FileBytes.store(npyBytes(as: dataType), to: path)
    }
}
