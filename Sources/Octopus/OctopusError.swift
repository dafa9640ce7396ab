/// What goes wrong in the Octopus study, each case with the place and the fix in its message.
public enum OctopusError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A graph file that cannot be used: `file:line:column: message`.
    case graph(String)
    /// A bad setting or argument (a domain name, a size, a seed).
    case configuration(String)
    /// Output of the master model that does not parse (a routing failure, never a crash).
    case unparsable(String)

    public var description: String {
        switch self {
        case let .graph(message), let .configuration(message), let .unparsable(message): message
        }
    }
}
