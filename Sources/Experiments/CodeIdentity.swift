/// The code that computes a run: a hash of Loom's source files and manifest (exact whether or not
/// the tree is committed), and the commit they were built from, for people to read.
///
/// The cache reuses a result only when the hash matches: a commit that changes only docs keeps
/// every result, and an edit to a kernel, committed or not, makes its runs go again unless the
/// user accepts the old results with `--accept-code-change`.
public struct CodeIdentity: Sendable, Equatable, CustomStringConvertible {
    /// SHA-256 of the sources (16 hex digits), or `unknown`.
    public var hash: String
    /// The git commit (12 hex digits, `-dirty` when tracked files differed), or `unknown`.
    public var commit: String

    public init(hash: String, commit: String) {
        self.hash = hash
        self.commit = commit
    }

    /// A build that could not tell its code (no git, no hash): it never matches another.
    public static let unknown = CodeIdentity(hash: "unknown", commit: "unknown")

    /// Whether results of `other` may stand for results of this code without asking.
    public func matches(_ other: CodeIdentity) -> Bool { hash != "unknown" && hash == other.hash }

    public var description: String { commit == "unknown" ? "sources \(hash)" : "commit \(commit)" }
}
