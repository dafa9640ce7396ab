import Foundation
import Testing
@testable import Octopus

@Suite struct QueryGeneratorTests {
    @Test func theSameSeedGivesTheSameExamplesAndAnotherSeedDiffers() throws {
        var first = QueryGenerator(seed: 42), second = QueryGenerator(seed: 42), other = QueryGenerator(seed: 43)
        let a = try first.examples(for: .train, count: 300)
        #expect(a == (try second.examples(for: .train, count: 300)))
        #expect(a != (try other.examples(for: .train, count: 300)))
        let chains = try first.chains(for: .test, count: 100, hops: 2)
        #expect(chains == (try second.chains(for: .test, count: 100, hops: 2)))
        #expect(chains != (try other.chains(for: .test, count: 100, hops: 2)))
    }

    /// Each domain: 5 cues × 8 frames, a quarter held out; every cue and every frame is also
    /// seen in training, so a test template is a new combination of known parts.
    @Test func everyDomainHasFortyTemplatesAndEveryPartIsTrained() {
        for domain in Domain.allCases {
            let train = QueryTemplates.templates(for: domain, in: .train), test = QueryTemplates.templates(for: domain, in: .test)
            #expect(train.count == 30 && test.count == 10, "\(domain)")
            let cues = QueryTemplates.cues[domain]!
            for (c, cue) in cues.enumerated() {
                let trained = QueryTemplates.frames.filter { train.map(\.pattern).contains($0.replacingOccurrences(of: "{q}", with: cue)) }
                #expect(trained.count == 6, "\(domain) cue \(c)")
            }
            for frame in QueryTemplates.frames {
                let trained = cues.filter { train.map(\.pattern).contains(frame.replacingOccurrences(of: "{q}", with: $0)) }
                #expect(trained.count >= 3, "\(domain) frame \(frame)")
            }
        }
        #expect(Set(QueryTemplates.all.map(\.identifier)).count == QueryTemplates.all.count)
        #expect(Set(QueryTemplates.all.map(\.pattern)).count == QueryTemplates.all.count)
        // No frame starts or ends with a distractor, so distractors never make a query ambiguous.
        for frame in QueryTemplates.frames {
            for prefix in QueryTemplates.distractorPrefixes where !prefix.isEmpty { #expect(!frame.hasPrefix(prefix.trimmingCharacters(in: .whitespaces))) }
            for suffix in QueryTemplates.distractorSuffixes where !suffix.isEmpty { #expect(!frame.hasSuffix(suffix.trimmingCharacters(in: .whitespaces))) }
        }
    }

    /// No test query could have been written from a train template, under any distractors.
    @Test func trainAndTestTemplatesAreDisjoint() throws {
        let train = QueryTemplates.all.filter { $0.split == .train }
        var generator = QueryGenerator(seed: 1)
        let test = try generator.examples(for: .test, count: 800)
        for example in test {
            #expect(QueryTemplates.templates(matching: example.query, among: train).isEmpty, "\(example.query)")
            // The matcher is not vacuous: the query matches its own template.
            #expect(QueryTemplates.templates(matching: example.query).contains(example.template), "\(example.query)")
            #expect(example.template.split == .test)
        }
        for example in try generator.examples(for: .train, count: 300) {
            #expect(QueryTemplates.templates(matching: example.query).contains(example.template), "\(example.query)")
        }
        // Two hops: no test chain fits a train pair of phrasings, each fits its own split's,
        // and every inner and outer phrasing is used in training.
        let chainTrain = ChainTemplates.composed(in: .train), chainTest = ChainTemplates.composed(in: .test)
        for chain in try generator.chains(for: .test, count: 400, hops: 2) {
            #expect(QueryTemplates.templates(matching: chain.query, among: chainTrain).isEmpty, "\(chain.query)")
            #expect(!QueryTemplates.templates(matching: chain.query, among: chainTest).isEmpty, "\(chain.query)")
        }
        for chain in try generator.chains(for: .train, count: 200, hops: 2) {
            #expect(!QueryTemplates.templates(matching: chain.query, among: chainTrain).isEmpty, "\(chain.query)")
        }
        let trainPairs = ChainTemplates.pairs(in: .train), testPairs = ChainTemplates.pairs(in: .test)
        #expect(trainPairs.count == 6 && testPairs.count == 3)
        #expect(Set(trainPairs.map(\.inner)) == [0, 1, 2] && Set(trainPairs.map(\.outer)) == [0, 1, 2])
        #expect(Set(chainTrain.map(\.pattern)).isDisjoint(with: chainTest.map(\.pattern)))
    }

    @Test func everyGeneratedCanonicalQueryAnswers() throws {
        var generator = QueryGenerator(seed: 9)
        for split in Split.allCases {
            for example in try generator.examples(for: split, count: 1200) {
                let query = try CanonicalQuery(parsing: example.canonical)
                #expect(query.domain == example.domain)
                #expect(try example.domain.answer(canonical: example.canonical) == example.answer)
                #expect(!example.query.contains("{"), "unfilled slot in \(example.query)")
            }
        }
    }

    @Test func countsAreBoundedBeforeAllocating() throws {
        var generator = QueryGenerator(seed: 0)
        let tooMany = QueryGenerator.maximumCount + 1
        #expect(throws: OctopusError.self) { try generator.examples(for: .train, count: tooMany) }
        #expect(throws: OctopusError.self) { try generator.examples(for: .train, count: -1) }
        #expect(throws: OctopusError.self) { try generator.examples(for: .train, count: 1, domains: []) }
        #expect(throws: OctopusError.self) { try generator.chains(for: .train, count: Int.max, hops: 2) }
        #expect(throws: OctopusError.self) { try generator.chains(for: .train, count: 1, hops: 0) }
        #expect(throws: OctopusError.self) { try generator.chains(for: .train, count: 1, hops: 3) }
        #expect(try generator.examples(for: .train, count: 0).isEmpty)
        let onlyFacts = try generator.examples(for: .test, count: 50, domains: [.fact])
        #expect(onlyFacts.allSatisfy { $0.domain == .fact })
    }

    @Test func twoHopChainsFeedTheFirstAnswerIntoTheSecondQuery() throws {
        var generator = QueryGenerator(seed: 5)
        var firstDomains = Set<Domain>(), pairs = Set<[Domain]>()
        for split in Split.allCases {
            for chain in try generator.chains(for: split, count: 600, hops: 2) {
                #expect(chain.steps.count == 2)
                let (first, second) = (chain.steps[0], chain.steps[1])
                #expect(try first.domain.answer(canonical: first.canonical) == first.answer)
                #expect(try second.domain.answer(canonical: second.canonical) == second.answer)
                #expect(ChainTemplates.successors(of: first.domain).contains(second.domain))
                #expect(try CanonicalQuery(parsing: second.canonical).arguments.contains(first.answer))
                #expect(chain.answer == second.answer)
                // The query names the first step's arguments, so the chain is recoverable from it.
                for argument in try CanonicalQuery(parsing: first.canonical).arguments {
                    #expect(chain.query.contains(argument), "\(chain.query) lacks \(argument)")
                }
                #expect(!chain.query.contains("{"), "unfilled slot in \(chain.query)")
                firstDomains.insert(first.domain)
                pairs.insert([first.domain, second.domain])
            }
        }
        #expect(firstDomains == Set(Domain.allCases))
        #expect(pairs.count == 4 * 4 + 2)  // 4 word domains × 4 successors + ADD, CNT → ADD
        // A hand-checked chain: the capital of peru reversed.
        let step = try Domain.answer(canonical: "FACT peru")
        #expect(try Domain.answer(canonical: "REV \(step)") == "amil")
    }

    @Test func oneHopChainsAreOrdinaryExamples() throws {
        var generator = QueryGenerator(seed: 3)
        for chain in try generator.chains(for: .train, count: 200, hops: 1) {
            #expect(chain.steps.count == 1)
            #expect(try chain.steps[0].domain.answer(canonical: chain.steps[0].canonical) == chain.answer)
            #expect(QueryTemplates.templates(matching: chain.query).contains { $0.domain == chain.steps[0].domain })
        }
    }
}
