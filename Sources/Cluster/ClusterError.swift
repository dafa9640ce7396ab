import Wire

/// What went wrong in the cluster runtime, with the place and what to do next.
public enum ClusterError: Error, CustomStringConvertible {
    /// A socket or message problem underneath.
    case wire(WireError)
    /// A task was submitted with an unknown kind or bad parameters.
    case invalidTask(String)
    /// A peer did not answer in time (coordinator, gang member).
    case timeout(String)
    /// A gang could not complete: a member died or the job was aborted.
    case gangFailed(String)
    /// The coordinator refused a request.
    case refused(String)
    /// A task was cancelled (drain, abort, timeout).
    case cancelled(String)

    public var description: String {
        switch self {
        case let .wire(error): error.description
        case let .invalidTask(what): "invalid task: \(what)"
        case let .timeout(what): "timed out: \(what)"
        case let .gangFailed(what): "gang failed: \(what)"
        case let .refused(what): "refused: \(what)"
        case let .cancelled(what): "cancelled: \(what)"
        }
    }
}
