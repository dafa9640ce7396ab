/// How a command reaches a host: the remote shell program (`ssh` by default, `--rsh` otherwise)
/// is run directly, never through a local shell, as `RSH… DESTINATION COMMAND`, where COMMAND
/// is one string that the remote side's POSIX shell splits back into exactly the arguments given.
/// ssh hands its command to the remote user's shell, so every argument is single-quoted here:
/// nothing in a host name, a path or a key name is ever read as shell syntax on either side.
public enum RemoteCommand {
    /// The argument vector to execute locally: `rsh` (program and its own options), the
    /// destination, then the quoted command.
    public static func argv(rsh: [String], destination: String, command: [String]) -> [String] {
        rsh + [destination, quoted(command)]
    }

    /// `arguments` as one POSIX shell command line: each argument in single quotes, a single
    /// quote inside written as `'\''`. An argument holding NUL cannot travel in a command line;
    /// callers refuse it first (`untransmittable`).
    public static func quoted(_ arguments: [String]) -> String {
        arguments.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
    }

    /// The first argument that cannot travel through a command line (one holding NUL), or nil.
    public static func untransmittable(_ arguments: [String]) -> String? {
        arguments.first { $0.unicodeScalars.contains("\u{0}") }
    }
}
