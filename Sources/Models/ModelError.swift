/// A problem with a model's configuration, its inputs, or a checkpoint: what is wrong and the fix.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    /// A configuration value that cannot work (checked before anything is allocated).
    case configuration(String)
    /// Inputs that do not fit the model (token ids out of range, a batch of the wrong length).
    case input(String)
    /// A checkpoint that cannot be read or does not match the model.
    case checkpoint(String)

    public var description: String {
        switch self {
        case let .configuration(text): "bad model configuration: \(text)"
        case let .input(text): "bad model input: \(text)"
        case let .checkpoint(text): "checkpoint: \(text)"
        }
    }
}
