/// Why a command stopped, and the exit status that tells scripts which kind of trouble it was.
enum CommandError: Error, CustomStringConvertible {
    /// Bad input: a wrong flag or value, or a missing, malformed or unusable input file. Exit 2.
    case usage(String)
    /// The input was fine but running failed (a write that failed, a kernel that refused). Exit 1.
    case failure(String)

    /// 2 for bad input, 1 for a failure at run time (STYLE §3).
    var exitStatus: Int32 {
        switch self {
        case .usage: 2
        case .failure: 1
        }
    }

    var description: String {
        switch self {
        case let .usage(text), let .failure(text): text
        }
    }
}
