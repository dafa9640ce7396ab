/// The user-query phrasings of each domain: 6 train and 2 test templates per domain, disjoint,
/// plus distractor words wrapped around any of them.
public enum QueryTemplates {
    /// Per domain: the first six phrasings are train templates, the rest test templates.
    /// Argument order varies (`add {b} to {a}` is still `ADD a b`), so the master must reorder.
    static let phrasings: [Domain: [String]] = [
        .add: ["what do you get if you add {a} and {b}?", "what is {a} plus {b}?", "add {b} to {a}",
               "sum {a} and {b}", "{a} and {b} added together", "what's the total of {a} and {b}?",
               "combine {b} with {a} by addition", "tell me {a} plus {b} modulo 97"],
        .reverse: ["flip the word '{s}' around", "reverse {s}", "write '{s}' backwards",
                   "what is {s} spelled backwards?", "reverse the letters of '{s}'", "read '{s}' from right to left",
                   "mirror the string {s}", "how does '{s}' look in reverse?"],
        .sort: ["sort the letters of '{s}'", "put the letters in {s} in alphabetical order", "alphabetize {s}",
                "sort {s}", "arrange '{s}' from a to z", "what are the letters of '{s}' in order?",
                "order the characters of {s} alphabetically", "give me '{s}' with sorted letters"],
        .encipher: ["encipher '{s}'", "encode {s} with the cipher", "what is '{s}' in code?",
                    "apply the secret cipher to {s}", "scramble '{s}' with the fixed key", "cipher {s}",
                    "translate {s} into the code", "how would you write '{s}' in cipher?"],
        .count: ["how many '{c}' are in '{s}'?", "count the letter {c} in {s}", "count '{c}' in '{s}'",
                 "in '{s}', how often does '{c}' appear?", "number of {c} in the word {s}",
                 "how many times does {c} occur in {s}?",
                 "tally the {c} letters of '{s}'", "what is the count of '{c}' inside {s}?"],
        .fact: ["what is the capital of {k}?", "capital of {k}", "name the capital city of {k}",
                "which city is the capital of {k}?", "{k} has which capital?", "tell me the capital of {k}",
                "what city governs {k}?", "where is the seat of government of {k}?"],
    ]

    /// How many phrasings of each domain are train templates.
    public static let trainTemplateCount = 6

    /// Words put before a query (one is drawn, "" included) so the master learns to ignore them.
    public static let distractorPrefixes = ["", "hey, ", "please ", "ok so ", "quick question: ", "hi! "]
    /// Words put after a query (one is drawn, "" included).
    public static let distractorSuffixes = ["", " please", " thanks!", " if you can", ", quickly"]

    /// The templates of `domain` in `split`.
    public static func templates(for domain: Domain, in split: Split) -> [QueryTemplate] {
        all.filter { $0.domain == domain && $0.split == split }
    }

    /// Every template, in domain order, train before test.
    public static let all: [QueryTemplate] = Domain.allCases.flatMap { domain in
        phrasings[domain, default: []].enumerated().map { index, pattern in
            let split: Split = index < trainTemplateCount ? .train : .test
            let number = split == .train ? index : index - trainTemplateCount
            return QueryTemplate(domain: domain, split: split, pattern: pattern,
                                 identifier: "\(domain.name).\(split.rawValue).\(number)")
        }
    }

    /// The templates among `candidates` that could have produced `query` under any choice of
    /// distractor prefix and suffix.
    public static func templates(matching query: String, among candidates: [QueryTemplate] = all) -> [QueryTemplate] {
        var found: [QueryTemplate] = []
        for prefix in distractorPrefixes where query.hasPrefix(prefix) {
            for suffix in distractorSuffixes where query.dropFirst(prefix.count).hasSuffix(suffix) {
                let rest = query.dropFirst(prefix.count)
                let body = String(rest.dropLast(suffix.count))
                for template in candidates where !found.contains(template) && template.matches(body) {
                    found.append(template)
                }
            }
        }
        return found
    }
}
