/// One generated example: what the user asks, what the master should emit, what the worker answers.
public struct QueryExample: Equatable, Hashable, Sendable {
    public let domain: Domain
    /// The user query, with distractor words (`hey, reverse stone please`).
    public let query: String
    /// The worker's canonical input (`REV stone`).
    public let canonical: String
    /// The exact answer (`enots`).
    public let answer: String
    /// The template the query was written from.
    public let template: QueryTemplate
}
