import TensorCore

/// Why an attention call was refused: the argument, its shape and the fix.
public enum AttentionError: Error, CustomStringConvertible, Equatable {
    /// A tensor of the wrong rank or extents; names the argument and the shapes.
    case shape(String)
    /// A parameter that cannot be used (window < 1, block size < 1, …).
    case parameter(String)

    public var description: String {
        switch self {
        case let .shape(text): "attention: \(text)"
        case let .parameter(text): "attention: \(text)"
        }
    }
}
