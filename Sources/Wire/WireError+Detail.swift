extension WireError {
    /// The message without the `Wire: …:` prefix, for wrapping in a message with more context.
    public var detail: String {
        switch self {
        case let .keys(what), let .malformed(what), let .sharedMemory(what): what
        case let .call(call, code, text): "\(call) failed: \(text) (errno \(code))"
        }
    }
}
