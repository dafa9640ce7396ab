internal import CZeroMQ

/// What went wrong in Wire: a failed libzmq call, or a message that does not decode.
public enum WireError: Error, CustomStringConvertible, Equatable {
    /// A libzmq call failed: the call (with its endpoint or option), errno and libzmq's text.
    case call(String, code: Int32, text: String)
    /// A message broke the protocol: what was wrong with it. Receivers drop and count these.
    case malformed(String)
    /// A key file or allow-list could not be used: the path and what to do.
    case keys(String)
    /// A shared-memory segment could not be made or mapped.
    case sharedMemory(String)

    /// Builds `.call` from `zmq_errno()`. Call it straight after the failing call: the next libzmq
    /// call overwrites the error number.
    static func lastCall(_ call: String) -> WireError {
        let code = zmq_errno()
        return .call(call, code: code, text: String(cString: zmq_strerror(code)))
    }

    /// The errno of a failed call, or 0.
    public var code: Int32 {
        if case let .call(_, code, _) = self { return code }
        return 0
    }

    public var description: String {
        switch self {
        case let .call(call, code, text): "Wire: \(call) failed: \(text) (errno \(code))"
        case let .malformed(what): "Wire: malformed message: \(what)"
        case let .keys(what): "Wire: keys: \(what)"
        case let .sharedMemory(what): "Wire: shared memory: \(what)"
        }
    }
}
