import TensorCore

/// A seeded source of examples. The stream depends only on the seed and the calls made, through
/// `SeededRandom` and integer arithmetic, so one seed gives the same examples on every machine.
public struct QueryGenerator: Sendable {
    /// The most examples one call makes, checked before allocating.
    public static let maximumCount = 1_000_000

    var random: SeededRandom

    public init(seed: UInt64) {
        random = SeededRandom(seed: seed)
    }

    /// `count` examples of `split`, each of a domain drawn uniformly from `domains`.
    public mutating func examples(for split: Split, count: Int,
                                  domains: [Domain] = Domain.allCases) throws(OctopusError) -> [QueryExample] {
        try Self.checkCount(count, in: "examples")
        guard !domains.isEmpty else {
            throw .configuration("examples(for: .\(split.rawValue), count:, domains:): no domains given; "
                                 + "pass at least one")
        }
        var result: [QueryExample] = []
        result.reserveCapacity(count)
        for _ in 0..<count {
            result.append(example(of: domains[draw(below: domains.count)], in: split))
        }
        return result
    }

    /// One example of `domain` written from a template of `split`.
    public mutating func example(of domain: Domain, in split: Split) -> QueryExample {
        let templates = QueryTemplates.templates(for: domain, in: split)
        let template = templates[draw(below: templates.count)]
        let (query, values) = arguments(for: domain)
        let text = pick(QueryTemplates.distractorPrefixes) + template.filled(values)
            + pick(QueryTemplates.distractorSuffixes)
        return QueryExample(domain: domain, query: text, canonical: query.text, answer: query.answer,
                            template: template)
    }

    /// Random arguments of `domain` and the slot values that name them in a template.
    mutating func arguments(for domain: Domain) -> (CanonicalQuery, [Character: String]) {
        switch domain {
        case .add:
            let a = String(draw(below: Domain.modulus)), b = String(draw(below: Domain.modulus))
            return (CanonicalQuery(checked: .add, [a, b]), ["a": a, "b": b])
        case .reverse, .sort, .encipher:
            let s = word()
            return (CanonicalQuery(checked: domain, [s]), ["s": s])
        case .count:
            let s = word()
            // Half the time count a letter that occurs, so answers are not almost always 0.
            let c = draw(below: 2) == 0 ? String(Array(s)[draw(below: s.count)]) : letter()
            return (CanonicalQuery(checked: .count, [c, s]), ["c": c, "s": s])
        case .fact:
            let k = Domain.facts[draw(below: Domain.facts.count)].key
            return (CanonicalQuery(checked: .fact, [k]), ["k": k])
        }
    }

    mutating func word() -> String {
        let lengths = Domain.wordLengths
        let length = lengths.lowerBound + draw(below: lengths.count)
        return String((0..<length).map { _ in Character(letter()) })
    }

    mutating func letter() -> String {
        String(UnicodeScalar(UInt8(97 + draw(below: 26))))
    }

    mutating func pick(_ choices: [String]) -> String {
        choices[draw(below: choices.count)]
    }

    /// A number in 0..<n from the top 32 bits (multiply-shift): defined here rather than by
    /// `Int.random(in:using:)`, whose mapping from bits is not documented as stable.
    mutating func draw(below n: Int) -> Int {
        precondition(n > 0 && n <= 1 << 32, "draw(below:) needs 0 < n ≤ 2³², got \(n)")
        return Int(((random.next() >> 32) &* UInt64(n)) >> 32)
    }

    static func checkCount(_ count: Int, in place: String) throws(OctopusError) {
        guard (0...maximumCount).contains(count) else {
            throw .configuration("\(place): count \(count) is outside 0...\(maximumCount); "
                                 + "generate in batches of at most \(maximumCount)")
        }
    }
}
