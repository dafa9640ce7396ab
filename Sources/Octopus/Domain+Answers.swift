/// Answering and scoring canonical queries.
extension Domain {
    /// Parses `canonical` strictly and answers it; throws if it is malformed or belongs to
    /// another domain (a worker must not answer a query routed to it by mistake).
    public func answer(canonical: String) throws(OctopusError) -> String {
        let query = try CanonicalQuery(parsing: canonical)
        guard query.domain == self else {
            throw .configuration("canonical query '\(canonical)' is for \(query.domain.name), "
                                 + "not for the \(name) worker; route it to node \(query.domain.rawValue)")
        }
        return query.answer
    }

    /// Answers any well-formed canonical query, whichever its domain.
    public static func answer(canonical: String) throws(OctopusError) -> String {
        try CanonicalQuery(parsing: canonical).answer
    }

    /// Exact-match score: 1 when `output` equals `expected` character for character, else 0.
    /// No trimming or case folding: the workers are scored on exact strings.
    public static func exactMatch(_ output: String, expected: String) -> Double {
        output == expected ? 1 : 0
    }

    /// The mean exact-match score over pairs (output, expected); 0 for no pairs.
    public static func exactMatchRate(_ pairs: [(output: String, expected: String)]) -> Double {
        guard !pairs.isEmpty else { return 0 }
        return pairs.reduce(0) { $0 + exactMatch($1.output, expected: $1.expected) } / Double(pairs.count)
    }
}
