/// Phrasings of two-hop queries: an inner phrase naming the first step's result, placed in the
/// `{x}` slot of an outer template of the second step. Train and test use disjoint (inner, outer)
/// pairs, and every inner and outer phrasing occurs in training, so a test chain is a new
/// combination of known parts (as for one-hop queries, `QueryTemplates`).
public enum ChainTemplates {
    /// Per domain, phrases naming its result. Each is a noun
    /// phrase that opens with "the" and ends with its own arguments, so whatever the outer template
    /// puts around it, the nesting reads one way (`'abc' backwards in alphabetical order` would not).
    static let innerPhrasings: [Domain: [String]] = [
        .add: ["the sum of {a} and {b}", "the result of adding {a} and {b}", "the total of {b} and {a}"],
        .reverse: ["the reverse of '{s}'", "the backwards spelling of '{s}'", "the reversal of the word {s}"],
        .sort: ["the sorted letters of '{s}'", "the alphabetized form of '{s}'", "the ordered letters of {s}"],
        .encipher: ["the enciphered form of '{s}'", "the cipher of '{s}'", "the secret code for {s}"],
        .count: ["the number of '{c}' in '{s}'", "the count of letter '{c}' in '{s}'", "the tally of {c} within {s}"],
        .fact: ["the capital of {k}", "the capital city of {k}", "the seat of government of {k}"],
    ]

    /// Per domain that can take a previous answer, outer phrasings.
    static let outerPhrasings: [Domain: [String]] = [
        .add: ["add {b} to {x}", "{b} plus {x}", "increase {x} by {b}"],
        .reverse: ["reverse {x}", "spell {x} backwards", "flip {x} around"],
        .sort: ["sort the letters of {x}", "put {x} in alphabetical order", "order the letters in {x}"],
        .encipher: ["encipher {x}", "apply the cipher to {x}", "encode {x} secretly"],
        .count: ["count the letter '{c}' in {x}", "how many '{c}' are in {x}", "how often does {c} occur within {x}?"],
    ]

    /// The domains whose answers are numbers (0..<97); the rest answer with 3–8 letters.
    static let numberDomains: Set<Domain> = [.add, .count]

    /// The domains that can follow `first` in a chain: its answer must fit their first argument
    /// slot (a number for ADD; a 3–8 letter word for REV, SORT, ENC and CNT).
    public static func successors(of first: Domain) -> [Domain] {
        numberDomains.contains(first) ? [.add] : [.reverse, .sort, .encipher, .count]
    }

    /// Whether inner phrasing `inner` in outer phrasing `outer` is a test pair: a third of the
    /// pairs, on a diagonal, so each phrasing keeps two train partners.
    static func isTest(inner: Int, outer: Int) -> Bool { (inner + outer) % 3 == 0 }

    /// The (inner, outer) phrasing indices of `split`.
    public static func pairs(in split: Split) -> [(inner: Int, outer: Int)] { split == .test ? testPairs : trainPairs }

    private static func pairs(_ split: Split) -> [(inner: Int, outer: Int)] {
        (0..<3).flatMap { i in (0..<3).map { o in (inner: i, outer: o) } }.filter { isTest(inner: $0.inner, outer: $0.outer) == (split == .test) }
    }

    /// The inner phrases of `domain`, in index order.
    public static func inner(for domain: Domain) -> [QueryTemplate] { innerTemplates[domain, default: []] }

    /// The outer templates of `domain`, in index order (empty for FACT, which takes no previous answer).
    public static func outer(for domain: Domain) -> [QueryTemplate] { outerTemplates[domain, default: []] }

    // Built once: the generator asks for them on every chain it writes.
    private static let innerTemplates = templates(innerPhrasings, kind: "inner")
    private static let outerTemplates = templates(outerPhrasings, kind: "outer")
    private static let trainPairs = pairs(.train), testPairs = pairs(.test)

    /// The whole two-hop templates of `split` (outer with the inner pattern in `{x}`), for
    /// matching queries against; slots of the two parts may share a name.
    public static func composed(in split: Split) -> [QueryTemplate] {
        Domain.allCases.flatMap { first in
            successors(of: first).flatMap { second in
                pairs(in: split).map { pair in
                    let pattern = outer(for: second)[pair.outer].pattern.replacingOccurrences(of: "{x}", with: inner(for: first)[pair.inner].pattern)
                    return QueryTemplate(domain: first, split: split, pattern: pattern,
                                         identifier: "chain.\(first.name).\(second.name).\(split.rawValue).i\(pair.inner)o\(pair.outer)")
                }
            }
        }
    }

    private static func templates(_ table: [Domain: [String]], kind: String) -> [Domain: [QueryTemplate]] {
        Dictionary(uniqueKeysWithValues: table.map { domain, phrasings in
            (domain, phrasings.enumerated().map { index, pattern in
                // A part belongs to both splits; `split` here only fills the field.
                QueryTemplate(domain: domain, split: .train, pattern: pattern, identifier: "chain.\(kind).\(domain.name).\(index)")
            })
        })
    }
}
