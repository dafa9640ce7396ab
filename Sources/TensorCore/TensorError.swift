/// What went wrong in a tensor operation or a tensor file, with the shapes or the file involved.
public enum TensorError: Error, CustomStringConvertible, Equatable {
    /// Two operands do not fit: the operation and both shapes.
    case shapeMismatch(operation: String, [Int], [Int])
    /// A shape that cannot exist, or storage that does not fill it.
    case invalidShape(String)
    /// A `.npy` file that Loom cannot read: the path and the reason.
    case npy(path: String, reason: String)
    /// A file that could not be read or written.
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case let .shapeMismatch(operation, lhs, rhs):
            "\(operation): shapes \(Tensor.describe(lhs)) and \(Tensor.describe(rhs)) do not fit"
        case let .invalidShape(reason):
            "invalid shape: \(reason)"
        case let .npy(path, reason):
            "\(path): not a readable .npy file: \(reason)"
        case let .io(path, reason):
            "\(path): \(reason)"
        }
    }
}
