/// The user-query phrasings of each domain: every *cue* of the domain (an imperative naming the
/// operation and its arguments) inside every *frame* (a sentence around it), split so that train
/// and test templates are disjoint while every cue and every frame also occurs in training. A
/// model trained from scratch cannot know what a word it never saw means (a pretrained master
/// would), so the test measures what the master can learn: new combinations of known cue words
/// and sentence shapes, with new argument values, distractors and argument orders.
public enum QueryTemplates {
    /// Per domain, imperatives with slots. Argument order varies (`add {b} to {a}` is still
    /// `ADD a b`) and cue words are shared across domains (`the letters of` in REV and SORT), so
    /// the master must read the verb and reorder.
    static let cues: [Domain: [String]] = [
        .add: ["add {a} and {b}", "add {b} to {a}", "sum {a} and {b}", "compute {a} plus {b}",
               "work out the total of {a} and {b}"],
        .reverse: ["reverse {s}", "write '{s}' backwards", "flip the word '{s}' around", "spell {s} from right to left",
                   "reverse the letters of '{s}'"],
        .sort: ["sort the letters of '{s}'", "alphabetize {s}", "put the letters in {s} in alphabetical order",
                "arrange '{s}' from a to z", "sort {s}"],
        .encipher: ["encipher '{s}'", "encode {s} with the cipher", "apply the secret cipher to {s}",
                    "scramble '{s}' with the fixed key", "write {s} in code"],
        .count: ["count the letter {c} in {s}", "count '{c}' in '{s}'", "find how many '{c}' are in '{s}'",
                 "tally the {c} letters of '{s}'", "find how often {c} occurs in {s}"],
        .fact: ["name the capital of {k}", "tell me the capital of {k}", "find which city is the capital of {k}",
                "give the capital city of {k}", "look up the capital of {k}"],
    ]

    /// Sentences around a cue (`{q}`), shared by every domain. None starts or ends with a
    /// distractor, so a query's template is never ambiguous.
    static let frames = ["{q}", "can you {q}?", "could you {q} for me?", "i want you to {q}",
                         "what do you get if you {q}?", "help me {q}", "your task is to {q}", "i need to {q}"]

    /// Whether cue `cue` in frame `frame` is a test template: a quarter of the pairs, on
    /// diagonals, so every cue keeps 6 train frames and every frame 3 or more train cues.
    static func isTest(cue: Int, frame: Int) -> Bool { (cue + frame) % 4 == 0 }

    /// Words put before a query (one is drawn, "" included) so the master learns to ignore them.
    public static let distractorPrefixes = ["", "hey, ", "please, ", "ok so ", "quick question: ", "hi! "]
    /// Words put after a query (one is drawn, "" included).
    public static let distractorSuffixes = ["", " please", " thanks!", " if you can", ", quickly"]

    /// The templates of `domain` in `split`.
    public static func templates(for domain: Domain, in split: Split) -> [QueryTemplate] {
        all.filter { $0.domain == domain && $0.split == split }
    }

    /// Every template, in domain order, cue by cue and frame by frame.
    public static let all: [QueryTemplate] = Domain.allCases.flatMap { domain in
        cues[domain, default: []].enumerated().flatMap { c, cue in
            frames.enumerated().map { f, frame in
                let split: Split = isTest(cue: c, frame: f) ? .test : .train
                return QueryTemplate(domain: domain, split: split, pattern: frame.replacingOccurrences(of: "{q}", with: cue),
                                     identifier: "\(domain.name).\(split.rawValue).c\(c)f\(f)")
            }
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
