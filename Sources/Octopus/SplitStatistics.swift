/// What a generated split holds, as a value that becomes metrics (`split.train.count.ADD`).
public struct SplitStatistics: Equatable, Sendable {
    public let split: Split
    public let count: Int
    /// Examples per domain; every domain is present, with 0 when none was drawn.
    public let countByDomain: [Domain: Int]
    /// Mean lengths in characters (0 for an empty split).
    public let meanQueryLength: Double
    public let meanCanonicalLength: Double
    public let meanAnswerLength: Double
    /// How many distinct templates produced the examples.
    public let templatesUsed: Int
    /// How many distinct query texts there are (repeats show how small the space is).
    public let distinctQueries: Int

    public init(_ examples: [QueryExample], split: Split) {
        self.split = split
        count = examples.count
        var byDomain = Dictionary(uniqueKeysWithValues: Domain.allCases.map { ($0, 0) })
        for example in examples { byDomain[example.domain, default: 0] += 1 }
        countByDomain = byDomain
        func mean(_ length: (QueryExample) -> Int) -> Double {
            examples.isEmpty ? 0 : Double(examples.reduce(0) { $0 + length($1) }) / Double(examples.count)
        }
        meanQueryLength = mean { $0.query.count }
        meanCanonicalLength = mean { $0.canonical.count }
        meanAnswerLength = mean { $0.answer.count }
        templatesUsed = Set(examples.map(\.template)).count
        distinctQueries = Set(examples.map(\.query)).count
    }

    /// The statistics under dotted names: `split.<split>.count`, `split.<split>.count.<DOMAIN>`,
    /// `split.<split>.mean_length.{query,canonical,answer}`, `split.<split>.templates_used`,
    /// `split.<split>.distinct_queries`.
    public var metrics: [String: Double] {
        let prefix = "split.\(split.rawValue)"
        var result: [String: Double] = [
            "\(prefix).count": Double(count),
            "\(prefix).mean_length.query": meanQueryLength,
            "\(prefix).mean_length.canonical": meanCanonicalLength,
            "\(prefix).mean_length.answer": meanAnswerLength,
            "\(prefix).templates_used": Double(templatesUsed),
            "\(prefix).distinct_queries": Double(distinctQueries),
        ]
        for (domain, n) in countByDomain { result["\(prefix).count.\(domain.name)"] = Double(n) }
        return result
    }
}
