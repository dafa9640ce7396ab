/// Phrasings of two-hop queries: an inner phrase naming the first step's result, placed in the
/// `{x}` slot of an outer template of the second step. Train and test phrasings are disjoint.
public enum ChainTemplates {
    /// Per domain, phrases naming its result; the last one is the test phrase. Each is a noun
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

    /// Per domain that can take a previous answer, outer phrasings; the last one is the test phrase.
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

    /// The inner phrases of `domain` in `split`.
    public static func inner(for domain: Domain, in split: Split) -> [QueryTemplate] {
        templates(innerPhrasings, domain, split, kind: "inner")
    }

    /// The outer templates of `domain` in `split` (empty for FACT, which takes no previous answer).
    public static func outer(for domain: Domain, in split: Split) -> [QueryTemplate] {
        templates(outerPhrasings, domain, split, kind: "outer")
    }

    private static func templates(_ table: [Domain: [String]], _ domain: Domain, _ split: Split,
                                  kind: String) -> [QueryTemplate] {
        let phrasings = table[domain, default: []]
        return phrasings.enumerated().compactMap { index, pattern in
            let isTest = index == phrasings.count - 1
            guard isTest == (split == .test) else { return nil }
            return QueryTemplate(domain: domain, split: split, pattern: pattern,
                                 identifier: "chain.\(kind).\(domain.name).\(split.rawValue).\(index)")
        }
    }
}
