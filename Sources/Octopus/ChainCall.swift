/// The canonical text of a two-hop call: the first step's canonical query, `" : "`, then the
/// second step's with `?` where the first step's answer goes: `FACT peru : REV ?`. The master
/// emits it to the first step's worker, which answers its part and hands the filled second
/// query on along its worker → worker edge: `<nexa_1>('REV lima')<nexa_end>`.
public enum ChainCall {
    public static let separator = " : ", placeholder = "?"

    /// The call the master emits for `chain` (two steps).
    /// - Precondition: `chain` has two steps.
    public static func text(_ chain: ChainExample) -> String {
        precondition(chain.steps.count == 2, "a chain call joins two steps")
        return chain.steps[0].canonical + separator + template(chain.steps[1])
    }

    /// `step`'s canonical query with the chained argument (the previous answer) replaced by `?`:
    /// ADD's first number, CNT's word, the word of the others.
    public static func template(_ step: ChainStep) -> String {
        var words = step.canonical.split(separator: " ").map(String.init)
        let chained = step.domain == .count ? 2 : 1
        if words.count > chained { words[chained] = placeholder }
        return words.joined(separator: " ")
    }

    /// The first query and the continuation of a call, or nil for an ordinary canonical query.
    public static func split(_ text: String) -> (first: String, continuation: String)? {
        guard let range = text.range(of: separator) else { return nil }
        let first = String(text[..<range.lowerBound]), rest = String(text[range.upperBound...])
        guard !first.isEmpty, rest.contains(placeholder), !rest.contains(separator) else { return nil }
        return (first, rest)
    }

    /// The continuation with `answer` in place of `?`.
    public static func fill(_ continuation: String, with answer: String) -> String {
        continuation.replacingOccurrences(of: placeholder, with: answer)
    }
}
