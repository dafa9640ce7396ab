/// One step of a chain: a worker's canonical input and its answer.
public struct ChainStep: Equatable, Hashable, Sendable {
    public let domain: Domain
    public let canonical: String
    public let answer: String
}

/// A multi-hop query: the answer of step i becomes an argument of step i + 1, so the chain is
/// well defined (`reverse the capital of peru` is `FACT peru` → lima, then `REV lima` → amil;
/// `add 5 to the sum of 12 and 40` is `ADD 12 40` → 52, then `ADD 52 5` → 57). The final answer
/// is the last step's.
public struct ChainExample: Equatable, Hashable, Sendable {
    public let query: String
    /// The canonical queries in order; the first is known from the query, later ones only once
    /// the previous worker has answered.
    public let steps: [ChainStep]
    public let answer: String
}
