/// Multi-hop queries (`reverse the capital of peru`).
extension QueryGenerator {
    /// The most steps in a chain: two-hop phrasings nest one inner phrase in one outer template.
    public static let maximumHops = 2

    /// `count` chains of `hops` steps from `split`'s phrasings. One hop gives ordinary examples
    /// as one-step chains; two hops draw the first domain uniformly and the second uniformly
    /// among `ChainTemplates.successors(of:)`.
    public mutating func chains(for split: Split, count: Int, hops: Int) throws(OctopusError) -> [ChainExample] {
        try Self.checkCount(count, in: "chains")
        guard (1...Self.maximumHops).contains(hops) else {
            throw .configuration("chains(for: .\(split.rawValue), count:, hops: \(hops)): hops must be 1 or "
                                 + "\(Self.maximumHops); longer chains have no phrasings")
        }
        var result: [ChainExample] = []
        result.reserveCapacity(count)
        for _ in 0..<count {
            if hops == 1 {
                let example = example(of: Domain.allCases[draw(below: Domain.allCases.count)], in: split)
                let step = ChainStep(domain: example.domain, canonical: example.canonical, answer: example.answer)
                result.append(ChainExample(query: example.query, steps: [step], answer: example.answer))
            } else {
                result.append(twoHopChain(in: split))
            }
        }
        return result
    }

    mutating func twoHopChain(in split: Split) -> ChainExample {
        let first = Domain.allCases[draw(below: Domain.allCases.count)]
        let successors = ChainTemplates.successors(of: first)
        let second = successors[draw(below: successors.count)]

        let pairs = ChainTemplates.pairs(in: split)
        let pair = pairs[draw(below: pairs.count)]
        let (firstQuery, firstValues) = arguments(for: first)
        let phrase = ChainTemplates.inner(for: first)[pair.inner].filled(firstValues)
        let firstAnswer = firstQuery.answer

        // The second step's own arguments; the previous answer replaces its chained slot.
        let (drawn, values) = arguments(for: second)
        let secondQuery: CanonicalQuery = switch second {
        case .add: CanonicalQuery(checked: .add, [firstAnswer, drawn.arguments[1]])
        case .count: CanonicalQuery(checked: .count, [drawn.arguments[0], firstAnswer])
        default: CanonicalQuery(checked: second, [firstAnswer])
        }
        var outerValues = values
        outerValues["x"] = phrase
        let query = pick(QueryTemplates.distractorPrefixes) + ChainTemplates.outer(for: second)[pair.outer].filled(outerValues)
            + pick(QueryTemplates.distractorSuffixes)
        let steps = [ChainStep(domain: first, canonical: firstQuery.text, answer: firstAnswer),
                     ChainStep(domain: second, canonical: secondQuery.text, answer: secondQuery.answer)]
        return ChainExample(query: query, steps: steps, answer: secondQuery.answer)
    }
}
