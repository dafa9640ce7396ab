import Testing
@testable import Octopus

@Suite struct OctopusVocabularyTests {
    let vocabulary = try! OctopusVocabulary(nodeCount: Domain.allCases.count)

    @Test func generatedTextRoundTrips() throws {
        var generator = QueryGenerator(seed: 21)
        var texts: [String] = []
        for split in Split.allCases {
            for example in try generator.examples(for: split, count: 400) {
                texts += [example.query, example.canonical, example.answer + OctopusVocabulary.endOfAnswer,
                          MasterOutput(node: example.domain.rawValue, canonical: example.canonical).rendered]
            }
            for chain in try generator.chains(for: split, count: 200, hops: 2) { texts.append(chain.query) }
        }
        for text in texts {
            let ids = try vocabulary.encode(text)
            #expect(try vocabulary.decode(ids) == text)
            #expect(ids.allSatisfy { (0..<Int32(vocabulary.size)).contains($0) })
        }
    }

    /// Every phrasing and distractor, filled, is in the vocabulary (not only those the draws hit).
    @Test func everyTemplateIsSpelledInTheVocabulary() throws {
        let values: [Character: String] = ["a": "12", "b": "40", "s": "stone", "c": "o", "k": "peru", "x": "the x"]
        var patterns = QueryTemplates.all
        for domain in Domain.allCases {
            patterns += ChainTemplates.inner(for: domain) + ChainTemplates.outer(for: domain)
        }
        for template in patterns {
            let text = template.filled(values)
            #expect(!text.contains("{"), "\(template)")
            #expect(try vocabulary.decode(vocabulary.encode(text)) == text)
        }
        for word in QueryTemplates.distractorPrefixes + QueryTemplates.distractorSuffixes {
            #expect(try vocabulary.decode(vocabulary.encode(word)) == word)
        }
    }

    @Test func specialTokensAreSingleDistinctIds() throws {
        var specials: [Int32] = []
        for node in 0..<vocabulary.nodeCount {
            let ids = try vocabulary.encode("<nexa_\(node)>")
            #expect(ids == [vocabulary.functionalToken(node)])
            #expect(vocabulary.node(of: ids[0]) == node)
            specials += ids
        }
        specials += try vocabulary.encode("<nexa_end><eoa>")
        #expect(specials.count == vocabulary.nodeCount + 2)
        #expect(Set(specials).count == specials.count)
        #expect(specials.allSatisfy { vocabulary.character(of: $0) == nil })
        #expect(vocabulary.size == OctopusVocabulary.characters.count + vocabulary.nodeCount + 2)
        #expect(Set(OctopusVocabulary.characters).count == OctopusVocabulary.characters.count)
        let rendered = try vocabulary.encode("<nexa_2>('REV stone')<nexa_end>")
        #expect(rendered.count == 1 + 2 + 9 + 2 + 1)
        // Ids of a larger graph: node 200 of 256.
        let large = try OctopusVocabulary(nodeCount: 256)
        #expect(try large.encode("<nexa_200>") == [large.functionalToken(200)])
    }

    @Test func unknownCharactersAndTokensAreErrors() {
        let bad = ["é", "stoné", "<", "a<b", "<nexa_6>", "<nexa_>", "<nexa_01>", "<nexa_-1>", "<nexa_1",
                   "<nexa_end", "<eo>", "\n", "{s}", "tab\there", "🐙", "\u{0}", "[x]"]
        for text in bad {
            do {
                _ = try vocabulary.encode(text)
                Issue.record("'\(text)' encoded")
            } catch {
                guard case let .configuration(message) = error else { Issue.record("\(error)"); continue }
                #expect(message.contains("position"), "\(message)")
            }
        }
        #expect(throws: OctopusError.self) { try vocabulary.decode([Int32(vocabulary.size)]) }
        #expect(throws: OctopusError.self) { try vocabulary.decode([-1]) }
        #expect(throws: OctopusError.self) { try OctopusVocabulary(nodeCount: 0) }
        #expect(throws: OctopusError.self) { try OctopusVocabulary(nodeCount: 257) }
    }
}
