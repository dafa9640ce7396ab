/// A launcher step that failed: what it tried, and what to do about it.
public struct LaunchError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
