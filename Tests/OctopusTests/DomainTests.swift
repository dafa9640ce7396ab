import Testing
@testable import Octopus

@Suite struct DomainTests {
    /// Answers worked out by hand (ENC from the table a→q b→w c→e … s→l t→z o→g n→f e→t h→i l→s).
    @Test func answersHandCheckedExamples() throws {
        let cases: [(String, String)] = [
            ("ADD 60 50", "13"), ("ADD 12 40", "52"), ("ADD 0 0", "0"), ("ADD 96 96", "95"), ("ADD 96 1", "0"),
            ("REV stone", "enots"), ("REV abc", "cba"), ("REV abcdefgh", "hgfedcba"),
            ("SORT banana", "aaabnn"), ("SORT stone", "enost"), ("SORT zyx", "xyz"),
            ("ENC abc", "qwe"), ("ENC stone", "lzgft"), ("ENC hello", "itssg"), ("ENC xyz", "bnm"),
            ("CNT a banana", "3"), ("CNT z banana", "0"), ("CNT n banana", "2"),
            ("FACT peru", "lima"), ("FACT hungary", "budapest"), ("FACT france", "paris"),
        ]
        for (canonical, expected) in cases {
            #expect(try Domain.answer(canonical: canonical) == expected, "\(canonical)")
            let domain = try CanonicalQuery(parsing: canonical).domain
            #expect(try domain.answer(canonical: canonical) == expected, "\(canonical)")
        }
    }

    @Test func theCipherIsAPermutationAndTheFactsFitTheWordGrammar() {
        #expect(Set(Domain.cipher).count == 26)
        #expect(Set(Domain.cipher) == Set("abcdefghijklmnopqrstuvwxyz"))
        #expect(Domain.facts.count == 20)
        for (key, value) in Domain.facts {
            // Values feed REV/SORT/ENC/CNT in chains, so they must be valid words.
            #expect((try? CanonicalQuery(parsing: "REV \(value)")) != nil, "\(key) → \(value)")
            #expect((try? CanonicalQuery(parsing: "FACT \(key)")) != nil, "\(key)")
        }
    }

    @Test func malformedCanonicalQueriesAreErrors() {
        let malformed = [
            "", "ADD", "ADD 1", "ADD 1 2 3", "ADD 97 1", "ADD 1 100", "ADD 01 2", "ADD -1 2", "ADD +1 2",
            "ADD 1.0 2", "add 1 2", "ADD  1 2", " ADD 1 2", "ADD 1 2 ", "ADD a b",
            "REV ab", "REV abcdefghi", "REV Stone", "REV st0ne", "REV stoné", "REV", "REV stone stone",
            "SORT", "ENC a-b-c", "CNT ab banana", "CNT A banana", "CNT a", "CNT a ba", "FACT atlantis",
            "FACT Peru", "MUL 2 3", String(repeating: "REV stone ", count: 1000), "REV\tstone",
        ]
        for text in malformed {
            #expect(throws: OctopusError.self, "\(text.prefix(20))") { try Domain.answer(canonical: text) }
            do {
                _ = try CanonicalQuery(parsing: text)
            } catch {
                guard case let .configuration(message) = error else { Issue.record("\(error)"); continue }
                #expect(!message.isEmpty)
            }
        }
    }

    @Test func aWorkerRefusesAnotherDomainsQuery() {
        #expect(throws: OctopusError.self) { try Domain.reverse.answer(canonical: "ADD 1 2") }
        #expect(throws: OctopusError.self) { try Domain(name: "NOPE") }
        #expect((try? Domain(name: "CNT")) == .count)
    }

    @Test func exactMatchScoresOnlyIdenticalStrings() {
        #expect(Domain.exactMatch("52", expected: "52") == 1)
        #expect(Domain.exactMatch("52 ", expected: "52") == 0)
        #expect(Domain.exactMatch("Enots", expected: "enots") == 0)
        #expect(Domain.exactMatchRate([("a", "a"), ("b", "c"), ("d", "d"), ("e", "f")]) == 0.5)
        #expect(Domain.exactMatchRate([]) == 0)
    }
}
