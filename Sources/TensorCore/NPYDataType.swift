/// The element types Loom reads from and writes to `.npy` files, named by numpy's `descr` string.
public enum NPYDataType: String, Sendable, CaseIterable {
    /// Little-endian IEEE float32, numpy's `'<f4'`.
    case float32 = "<f4"
    /// Little-endian IEEE float64, numpy's `'<f8'`.
    case float64 = "<f8"

    /// Bytes per element.
    public var byteCount: Int {
        switch self {
        case .float32: 4
        case .float64: 8
        }
    }
}
