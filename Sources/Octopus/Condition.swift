/// The conditions an Octopus graph is compared under (issue 19 §4), each answering the same test
/// queries: metrics `accuracy.<name>`.
public enum Condition: String, CaseIterable, Sendable {
    /// One model trained on raw queries → answers, every domain (no graph).
    case generalist
    /// The master routes and rewrites; the chosen specialist answers.
    case graph
    /// The true domain's specialist answers the true canonical query (the upper bound).
    case oracle
    /// The master routes, but the raw query is forwarded (no rewriting).
    case noRewrite = "no_rewrite"
    /// A specialist drawn at random answers the true canonical query.
    case random
    /// The master rewrites; the general worker answers (rewriting only, no specialists).
    case generalWorker = "general_worker"

    public var metric: String { "accuracy.\(rawValue)" }
}
